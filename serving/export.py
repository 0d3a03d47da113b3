r"""Exports a trained classifier's workdir as a TF Serving SavedModel version.

    python -m serving.export --workdir=/tmp/digits_pc --explainers=ig,agi
    python -m serving.export --workdir=/tmp/digits_pc --explainers=ig,agi \
        --explainer_kwargs='{"ig": {"steps": 32}}' --export_base=/models/digits

Reads `WORKDIR/model.keras` (written by `trainers/classifier.py`) and writes the next
version under `--export_base` (default `WORKDIR/export/<model_name>`, `<model_name>` the
workdir's name), printing its path. The logic is `tfxai.export.export_classifier`.
"""

import json
import pathlib

import keras
from absl import app, flags

import tfxai  # noqa: F401 - registers the tfxai losses the saved model was compiled with
from tfxai import export

_WORKDIR = flags.DEFINE_string("workdir", None, "Trainer workdir holding model.keras.")
_EXPLAINERS = flags.DEFINE_list(
    "explainers", ["ig", "agi"], f"Explainer signatures to add, among {list(export.EXPLAINERS)}."
)
_EXPLAINER_KWARGS = flags.DEFINE_string(
    "explainer_kwargs", "{}", 'JSON {name: constructor kwargs}, e.g. \'{"ig": {"steps": 32}}\'.'
)
_MODEL_NAME = flags.DEFINE_string("model_name", None, "Served model name (default: the workdir's name).")
_EXPORT_BASE = flags.DEFINE_string("export_base", None, "Model base path (default: WORKDIR/export/<model_name>).")
_VERSION = flags.DEFINE_integer("version", None, "Version number (default: the next one).")
_INPUT_RANGE = flags.DEFINE_list("input_range", ["0", "1"], "low,high bounds of served images; 'none' to skip.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    workdir = pathlib.Path(_WORKDIR.value)
    kwargs = json.loads(_EXPLAINER_KWARGS.value)
    unknown = sorted(set(kwargs) - set(_EXPLAINERS.value))
    if unknown:
        raise app.UsageError(f"--explainer_kwargs names explainers not in --explainers: {unknown}")
    input_range = None if _INPUT_RANGE.value == ["none"] else tuple(float(v) for v in _INPUT_RANGE.value)
    model_name = _MODEL_NAME.value or workdir.resolve().name
    model = keras.models.load_model(workdir / "model.keras", compile=False)
    path = export.export_classifier(
        model,
        _EXPORT_BASE.value or workdir / "export" / model_name,
        {name: kwargs.get(name, {}) for name in _EXPLAINERS.value},
        version=_VERSION.value,
        input_range=input_range,
    )
    print(path)


if __name__ == "__main__":
    app.run(main)

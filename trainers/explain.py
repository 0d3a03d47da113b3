r"""Explains test images of a finished classifier run: heatmap grid and per-example metrics.

    python trainers/explain.py --config=configs/explain_digits.py --workdir=/tmp/digits_ce

Reads WORKDIR/model.keras and config.json (data set, split); writes WORKDIR/explain/heatmaps.png (methods x
examples) and explanations.json (completeness gap of path methods, insertion/deletion per substrate).
"""

import itertools
import json
import pathlib

import keras
import ml_collections
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from tfxai import attribution, viz
from tfxai.metrics import faithfulness
from tfxai.metrics.completeness import completeness
from tfxai.training import classifier

_WORKDIR = flags.DEFINE_string("workdir", None, "A finished classifier work directory (model.keras, config.json).")
_CONFIG = config_flags.DEFINE_config_file("config", None, "configs/explain_*.py file.", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


def explain(config: ml_collections.ConfigDict, workdir: str) -> dict:
    workdir, out = pathlib.Path(workdir), pathlib.Path(workdir) / "explain"
    model = keras.models.load_model(workdir / "model.keras")
    data = classifier.load_dataset(ml_collections.ConfigDict(json.loads((workdir / "config.json").read_text())))
    index = np.sort(np.random.default_rng(config.seed).choice(len(data.x_test), config.num_examples, replace=False))
    x, labels = data.x_test[index], data.y_test[index]
    predictions = np.argmax(model.predict(x, verbose=0), axis=-1)
    results, maps = {"test_indices": index.tolist(), "labels": labels.tolist(), "predictions": predictions.tolist()}, {}
    for name, kwargs in config.methods.items():
        explainer, row = getattr(attribution, name)(model, **kwargs.to_dict()), {}
        attributions = maps[name] = explainer.explain(x, predictions, batch_size=config.batch_size)
        if isinstance(explainer, attribution.PathExplainer):
            row["completeness"] = completeness(explainer, x, predictions, batch_size=config.batch_size).tolist()
        for fill, score in itertools.product(config.substrates, (faithfulness.insertion, faithfulness.deletion)):
            row[f"{score.__name__}_{fill}"] = score(model, x, attributions, predictions, substrate=fill).tolist()
        results[name] = {**row, "mean": {key: float(np.mean(np.abs(values))) for key, values in row.items()}}
    titles = [f"y={y} p={p}" for y, p in zip(labels, predictions)]
    viz.save_grid(out / "heatmaps.png", x, maps, overlay_alpha=config.overlay_alpha, titles=titles)
    (out / "explanations.json").write_text(json.dumps(results, indent=2))
    return results


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    explain(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)

"""SavedModels for TensorFlow Serving: predictions plus one signature per explainer.

`export_classifier(model, base_path, explainers)` writes `base_path/<version>/`, a
SavedModel (tag `serve`) that TensorFlow Serving, `saved_model_cli run` and
`tf.saved_model.load` run without tfxai installed:

| signature | inputs | outputs |
|---|---|---|
| `serving_default` | `images` float32 `[B, *input_shape]` | `logits`, `probabilities` float32 `[B, K]`, `classes` int32 `[B]` |
| `explain_<method>` | `images`, `targets` int32 `[B]` (-1 = predicted class) | `attributions` float32 `[B, *input_shape]`, `targets` int32 `[B]` (resolved), extras |

Extras are the explainer core's outputs: `convergence_delta` float32 `[B]` for `ig` and
`blur_ig`; `false_classes` int32 `[B, k]`, `success` bool `[B, k]` and `num_steps` int32
`[B, k]` for `agi`; `boundary_points` float32 `[B, *input_shape]`, `boundary_success` bool
`[B]`, `boundary_distance` float32 `[B]` and `boundary_attack` int32 `[B]` for `bsm` and
`big` (plus `convergence_delta` for `big`). `<method>` is one of `EXPLAINERS`: `saliency`,
`gradient_input`, `ig`, `smoothgrad`, `blur_ig`, `agi`, `bsm`, `big`.

`targets` is a required input: a TF Serving signature has no optional inputs (a request
must feed every input of the signature), so clients send -1 for "explain the predicted
class" (`serving/client.py` does so when given no targets).

Every signature checks its inputs inside the graph before anything else runs: the shape
(`[batch, *input_shape]`), finite values, the value range (`input_range`) and, for
explanations, one target in `[-1, K)` per image. TF Serving feeds whatever shape a request
holds, so a failed check is a `tf.debugging.Assert` that surfaces as INVALID_ARGUMENT
(HTTP 400) with a message naming the input, not a kernel crash.

`base_path/<version>/assets.extra/tfxai_export.json` (ignored by TF Serving) records the
signatures, their input and output specs and each explainer's class and `get_config()`.
The version directory is written under a temporary name in `base_path` and renamed into
place, so a server polling `base_path` never sees a half-written version.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import tfxai
from tfxai._validation import check_int, invalid_value_message
from tfxai.attribution import (
    AGI,
    BIG,
    BSM,
    BlurIG,
    Explainer,
    GradientInput,
    IntegratedGradients,
    Saliency,
    SmoothGrad,
)
from tfxai.attribution.base import _check_input_range, _check_model

EXPLAINERS: dict[str, type[Explainer]] = {
    "saliency": Saliency,
    "gradient_input": GradientInput,
    "ig": IntegratedGradients,
    "smoothgrad": SmoothGrad,
    "blur_ig": BlurIG,
    "agi": AGI,
    "bsm": BSM,
    "big": BIG,
}
DEFAULT_SIGNATURE = "serving_default"
EXPLAIN_PREFIX = "explain_"
INFO_FILE = os.path.join("assets.extra", "tfxai_export.json")
INFO_FORMAT = "tfxai-export-v1"
_PUBLISH_ATTEMPTS = 5


def export_classifier(
    model: keras.Model,
    base_path: str | os.PathLike,
    explainers: Sequence[str | Explainer] | Mapping[str, Mapping[str, Any]] = ("ig",),
    *,
    version: int | None = None,
    input_range: tuple[float, float] | None = (0.0, 1.0),
) -> str:
    """Exports a classifier and its explainers as a TF Serving SavedModel version.

    Args:
        model: a Keras classifier with one input of fully defined shape and one output
            `[batch, K]` of logits (as every `tfxai.models` model).
        base_path: the model's base directory (TF Serving's `--model_base_path`); the
            version is written to `base_path/<version>/`.
        explainers: which `explain_<method>` signatures to add: method names of
            `EXPLAINERS` (explainer built with its defaults), explainer instances bound
            to `model`, or a mapping `{name: constructor kwargs}`. Defaults to `("ig",)`.
        version: the version number, a positive int that must not exist yet; `None`
            takes the next integer after the highest existing version (1 for a new
            `base_path`). Defaults to `None`.
        input_range: `(low, high)` that every served image value must lie in (tfxai's
            data sets are in `[0, 1]`), or `None` to check finiteness only.
            Defaults to `(0.0, 1.0)`.

    Returns:
        The path of the written version directory.

    Raises:
        TypeError: `model` is not a Keras model or an explainer has a wrong type.
        ValueError: unknown explainer name, duplicate method, an explainer bound to
            another model, or an invalid `version` / `input_range`.
        FileExistsError: `base_path/<version>` exists already.

    Example:

    >>> path = tfxai.export.export_classifier(model, "/tmp/export/digits", ["ig", "agi"])
    >>> served = tf.saved_model.load(path).signatures["explain_ig"]
    >>> served(images=images, targets=tf.fill([len(images)], -1))["attributions"]
    """
    input_shape, num_classes = _check_model(model)
    named = _resolve_explainers(model, explainers)
    input_range = None if input_range is None else _check_input_range(input_range)
    base = pathlib.Path(base_path)
    if version is not None:
        version = check_int("version", version)
        if (base / str(version)).exists():
            raise FileExistsError(f"Version {version} exists already: {base / str(version)}. Pass version=None.")

    images_spec = tf.TensorSpec([None, *input_shape], tf.float32, name="images")
    targets_spec = tf.TensorSpec([None], tf.int32, name="targets")
    archive = keras.export.ExportArchive()
    archive.track(model)
    endpoints = {
        DEFAULT_SIGNATURE: archive.add_endpoint(
            DEFAULT_SIGNATURE, _predict_fn(model, input_shape, input_range), input_signature=[images_spec]
        )
    }
    for name, explainer in named.items():
        endpoints[EXPLAIN_PREFIX + name] = archive.add_endpoint(
            EXPLAIN_PREFIX + name,
            _explain_fn(explainer, input_shape, num_classes, input_range),
            input_signature=[images_spec, targets_spec],
        )
    info = _export_info(model, input_shape, num_classes, input_range, named, endpoints)

    base.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-export-", dir=base))  # not an integer: servers skip it
    try:
        staging.chmod(0o755)  # mkdtemp's 0o700 would hide the version from a server running as another user
        archive.write_out(str(staging), verbose=False)
        (staging / INFO_FILE).parent.mkdir(exist_ok=True)
        (staging / INFO_FILE).write_text(json.dumps(info, indent=2, default=_json_default))
        return str(_publish(staging, base, version))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def existing_versions(base_path: str | os.PathLike) -> list[int]:
    """The integer version directories under `base_path`, ascending (`[]` if it does not exist)."""
    base = pathlib.Path(base_path)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


# ----------------------------------------------------------------------------------------
# Signatures
# ----------------------------------------------------------------------------------------


def _predict_fn(model: keras.Model, input_shape: tuple[int, ...], input_range: tuple[float, float] | None):
    def serving_default(images: tf.Tensor) -> dict[str, tf.Tensor]:
        images = _checked_images(images, input_shape, input_range)
        logits = tf.cast(model(images, training=False), tf.float32)  # [B, K]
        return {
            "logits": logits,
            "probabilities": tf.nn.softmax(logits),
            "classes": tf.argmax(logits, axis=-1, output_type=tf.int32),  # [B]
        }

    return serving_default


def _explain_fn(
    explainer: Explainer, input_shape: tuple[int, ...], num_classes: int, input_range: tuple[float, float] | None
):
    def explain(images: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        images = _checked_images(images, input_shape, input_range)
        targets = _checked_targets(targets, images, num_classes)
        return explainer.core(images, targets)

    return explain


def _checked_images(
    images: tf.Tensor, input_shape: tuple[int, ...], input_range: tuple[float, float] | None
) -> tf.Tensor:
    """`images` gated on in-graph checks of its shape, finiteness and range.

    The signature declares `[None, *input_shape]`, but TF Serving feeds the shape the
    request holds, so the shape is checked at run time before any kernel sees it (a
    convolution given a rank-3 tensor aborts the process instead of failing).
    """
    rank = len(input_shape) + 1
    shape = tf.shape(images)  # [rank of the fed tensor]
    dims = _padded_dims(shape, rank + 1)  # [rank + 1]; -1 marks a missing axis
    shape_ok = tf.logical_and(
        tf.reduce_all(tf.equal(dims[1:rank], tf.constant(input_shape, tf.int32))), tf.equal(dims[rank], -1)
    )
    values = tf.reshape(images, [-1])  # reductions that hold for any fed rank
    checks = [
        _assert(
            shape_ok,
            [
                f"Invalid input `images`: expected shape [batch, {', '.join(map(str, input_shape))}]; received shape",
                shape,
            ],
        ),
        _assert(dims[0] > 0, ["Invalid input `images`: expected at least one image; received shape", shape]),
        _assert(
            tf.reduce_all(tf.math.is_finite(values)),
            ["Invalid input `images`: expected finite values; received NaN or infinite values"],
        ),
    ]
    if input_range is not None:
        low, high = input_range
        checks.append(
            _assert(
                tf.reduce_all(tf.logical_and(values >= low, values <= high)),
                [
                    f"Invalid input `images`: expected values in [{low}, {high}]; received min and max",
                    tf.reduce_min(values),
                    tf.reduce_max(values),
                ],
            )
        )
    with tf.control_dependencies(checks):
        return tf.identity(images)


def _assert(condition: tf.Tensor, data: list) -> tf.Operation:
    """`tf.debugging.Assert` that prints up to 16 entries of each data tensor (shapes, targets)."""
    return tf.debugging.Assert(condition, data, summarize=16)


def _padded_dims(shape: tf.Tensor, length: int) -> tf.Tensor:
    """The first `length` entries of a run-time `shape`, padded with -1 for missing axes.

    Computed from the shape's value rather than its length: `tf.size(tf.shape(x))` and
    `tf.rank(x)` are folded to constants from the signature's static rank at trace time,
    which would let a tensor of another rank pass the check.
    """
    return tf.concat([shape, tf.fill([length], -1)], axis=0)[:length]


def _checked_targets(targets: tf.Tensor, images: tf.Tensor, num_classes: int) -> tf.Tensor:
    """`targets` gated on being `[batch]` (one per image) with classes in `[-1, K)`."""
    shape = tf.shape(targets)
    dims = _padded_dims(shape, 2)  # [2]
    shape_ok = tf.logical_and(tf.equal(dims[0], tf.shape(images)[0]), tf.equal(dims[1], -1))
    checks = [
        _assert(
            shape_ok,
            [
                "Invalid input `targets`: expected shape [batch] (one class per image); received shape",
                shape,
                "for images of shape",
                tf.shape(images),
            ],
        ),
        _assert(
            tf.reduce_all(tf.logical_and(targets >= -1, targets < num_classes)),
            [
                f"Invalid input `targets`: expected classes in [0, {num_classes}) or -1 (predicted class); received",
                targets,
            ],
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(targets)


# ----------------------------------------------------------------------------------------
# Explainers, metadata, versions
# ----------------------------------------------------------------------------------------


def _resolve_explainers(
    model: keras.Model, explainers: Sequence[str | Explainer] | Mapping[str, Mapping[str, Any]]
) -> dict[str, Explainer]:
    """`{method name: explainer bound to model}` from names, instances or `{name: kwargs}`."""
    if isinstance(explainers, (str, Explainer)):
        raise TypeError(
            invalid_value_message("explainers", "a list of names or explainers, or {name: kwargs}", explainers)
        )
    items = list(explainers.items()) if isinstance(explainers, Mapping) else [(e, {}) for e in explainers]
    expected = f"names in {tuple(EXPLAINERS)} or Explainer instances"
    named: dict[str, Explainer] = {}
    for item, kwargs in items:
        if isinstance(item, Explainer):
            name = _method_name(item)
            if item.model is not model:
                raise ValueError(
                    f"Invalid value for argument `explainers`. Expected explainers of the exported model "
                    f"{model.name!r}. Received: a {type(item).__name__} of model {item.model.name!r}"
                )
            explainer = item
        elif isinstance(item, str):
            if item not in EXPLAINERS:
                raise ValueError(invalid_value_message("explainers", expected, item))
            name, explainer = item, EXPLAINERS[item](model, **dict(kwargs))
        else:
            raise TypeError(invalid_value_message("explainers", expected, item))
        if name in named:
            raise ValueError(
                invalid_value_message("explainers", "at most one explainer per method", f"two {name!r} explainers")
            )
        named[name] = explainer
    return named


def _method_name(explainer: Explainer) -> str:
    """The `EXPLAINERS` name of an explainer's class (or of its closest registered base)."""
    for cls in type(explainer).__mro__:
        for name, registered in EXPLAINERS.items():
            if cls is registered:
                return name
    raise ValueError(
        invalid_value_message(
            "explainers",
            f"explainers of the classes {[c.__name__ for c in EXPLAINERS.values()]}",
            type(explainer).__name__,
        )
    )


def _spec(tensor: tf.Tensor | tf.TensorSpec) -> dict[str, Any]:
    return {"dtype": tensor.dtype.name, "shape": tensor.shape.as_list()}


def _export_info(
    model: keras.Model,
    input_shape: tuple[int, ...],
    num_classes: int,
    input_range: tuple[float, float] | None,
    explainers: dict[str, Explainer],
    endpoints: dict[str, Any],
) -> dict[str, Any]:
    """The content of `assets.extra/tfxai_export.json`."""
    signatures = {}
    for signature, function in endpoints.items():
        concrete = function.get_concrete_function()
        inputs = {spec.name: _spec(spec) for spec in concrete.structured_input_signature[0]}
        outputs = {key: _spec(value) for key, value in sorted(concrete.structured_outputs.items())}
        signatures[signature] = {"inputs": inputs, "outputs": outputs}
        method = signature[len(EXPLAIN_PREFIX) :] if signature.startswith(EXPLAIN_PREFIX) else None
        if method is not None:
            explainer = explainers[method]
            signatures[signature]["explainer"] = {
                "method": method,
                "class_name": type(explainer).__name__,
                "config": explainer.get_config(),
            }
    return {
        "format": INFO_FORMAT,
        "model": {"name": model.name, "input_shape": list(input_shape), "num_classes": num_classes},
        "input_range": None if input_range is None else list(input_range),
        "targets": "int32 [batch], one class per image; -1 explains the predicted class",
        "signatures": signatures,
        "versions": {"tfxai": tfxai.__version__, "tensorflow": tf.__version__, "keras": keras.__version__},
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Not JSON serializable: {type(value).__name__}")


def _publish(staging: pathlib.Path, base: pathlib.Path, version: int | None) -> pathlib.Path:
    """Renames the finished `staging` directory to `base/<version>` (atomic on one file system).

    With `version=None` a concurrent exporter may take the same next version first; the
    rename then fails and the following number is tried.
    """
    for _ in range(_PUBLISH_ATTEMPTS if version is None else 1):
        number = version if version is not None else max(existing_versions(base), default=0) + 1
        target = base / str(number)
        try:
            os.rename(staging, target)  # fails if target exists and is not an empty directory
            return target
        except OSError:
            if not target.exists():
                raise
    raise FileExistsError(f"Could not publish a new version under {base}: {target} exists already.")

"""Sanity checks for attribution maps (Adebayo et al., 2018): model and label randomization.

An explanation that stays the same when the model's parameters are randomised, or when
the model was trained on random labels, cannot be explaining what the model learned.
The checks compare the attributions of the trained model with those of a randomised copy,
per example:

- **Model-parameter randomization** (`model_randomization`): on a clone of the model, the
  layers are re-initialised from the top (logits) layer down, either **cascading** (each
  step randomises one more layer, keeping the ones above random) or **independent** (one
  layer at a time, the others trained). The explainer is rebuilt once on the clone and
  re-run after every step (its traced graph reads the clone's variables, so changing them
  does not retrace).
- **Label randomization** (`label_randomization`): a fresh copy of the architecture is
  trained on the training data with randomly permuted labels for a small budget.

Similarity is measured by the Spearman rank correlation (`spearman_correlation`) and the
structural similarity index (`structural_similarity`, SSIM of `tf.image.ssim`) between the
original and randomised maps, after reducing channels (`tfxai.viz.reduce_channels`) and,
by default, taking absolute values (Adebayo et al. report both; the absolute version
ignores sign flips, which the random layers cause freely). A method passes when the
similarity falls well below 1.

Notes:
    - Re-initialisation uses each weight's own initializer (`layer.<name>_initializer`,
      e.g. Glorot uniform kernels, zero biases), re-seeded from `seed`, so the random
      weights are draws from the distribution training started from (Adebayo et al. use
      the model's truncated-normal initialisation). Non-trainable state (batch-norm
      moving statistics) is re-initialised too. A weight without an initializer
      attribute gets Glorot uniform (rank >= 2) or zeros.
    - The same layer gets the same random weights in the cascading and the independent
      check (its seeds depend on the layer only), so the first steps of the two agree.
    - The randomised models explain the same classes as the original: `targets`, or the
      original model's predictions when `targets` is None (the randomised model's
      prediction is meaningless).
    - Layers are the model's top-level layers that hold weights; a nested model counts as
      one layer.

Reference:
    [Adebayo et al., 2018](https://arxiv.org/abs/1810.03292), Sec. 3-4, Fig. 2-5.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from scipy import stats

from tfxai._validation import check_bool, check_choice, check_float, check_int, check_seed, invalid_value_message
from tfxai.attribution.base import Explainer
from tfxai.viz import CHANNEL_REDUCTIONS, reduce_channels

_MAX_SEED = 2**31 - 1
ORIGINAL = "original"


@dataclasses.dataclass(frozen=True)
class SanityResult:
    """Similarity between original and randomised attributions.

    Attributes:
        steps: what was randomised at each row. Model randomization: `"original"`
            (nothing: the clone's maps against the original's, a check of the pipeline,
            similarity 1), then layer names from the top; label randomization: `"labels"`.
        spearman: float64 `[len(steps), B]` Spearman rank correlations.
        ssim: float64 `[len(steps), B]` SSIM values in [-1, 1].
        extras: other measurements, e.g. the random-label model's training accuracy.
    """

    steps: tuple[str, ...]
    spearman: np.ndarray
    ssim: np.ndarray
    extras: dict[str, float] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean similarity per step: `{step: {"spearman": mean, "ssim": mean}}` (NaNs ignored)."""
        return {
            step: {"spearman": float(np.nanmean(self.spearman[i])), "ssim": float(np.nanmean(self.ssim[i]))}
            for i, step in enumerate(self.steps)
        }


# --------------------------------------------------------------------------------------------
# Similarities


def _prepare_maps(maps: Any, channel_reduction: str, absolute: bool) -> np.ndarray:
    reduced = reduce_channels(maps, channel_reduction).astype(np.float64)  # [B, H, W]
    return np.abs(reduced) if absolute else reduced


def _pair(a: Any, b: Any, channel_reduction: str, absolute: bool) -> tuple[np.ndarray, np.ndarray]:
    absolute = check_bool("absolute", absolute)
    first = _prepare_maps(a, channel_reduction, absolute)
    second = _prepare_maps(b, channel_reduction, absolute)
    if first.shape != second.shape:
        raise ValueError(
            invalid_value_message("b", f"maps of the shape of `a`, {first.shape}", f"shape {second.shape}")
        )
    return first, second


def spearman_correlation(a: Any, b: Any, *, channel_reduction: str = "sum", absolute: bool = True) -> np.ndarray:
    """Per-example Spearman rank correlation between two batches of attribution maps.

    The Pearson correlation of the pixel ranks (ties get their average rank, as
    `scipy.stats.spearmanr`); NaN where a map is constant.

    Args:
        a: maps `[B, H, W, C]` or `[B, H, W]`.
        b: maps of the same shape.
        channel_reduction: see `tfxai.viz.reduce_channels`. Defaults to `"sum"`.
        absolute: compare `|a|` and `|b|` (Adebayo et al. report both views). Defaults to `True`.

    Returns:
        float64 numpy `[B]` in [-1, 1].
    """
    first, second = _pair(a, b, channel_reduction, absolute)
    ranks = [stats.rankdata(m.reshape(len(m), -1), axis=1) for m in (first, second)]  # [B, N] each
    centred = [r - r.mean(axis=1, keepdims=True) for r in ranks]
    numerator = (centred[0] * centred[1]).sum(axis=1)
    denominator = np.sqrt((centred[0] ** 2).sum(axis=1) * (centred[1] ** 2).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def structural_similarity(a: Any, b: Any, *, channel_reduction: str = "sum", absolute: bool = True) -> np.ndarray:
    """Per-example SSIM between two batches of attribution maps (`tf.image.ssim`).

    Each map is min-max normalised to [0, 1] (an all-constant map becomes 0), then
    compared with `max_val=1` and an 11-pixel Gaussian window (smaller on smaller maps).

    Args, Returns: as `spearman_correlation` (values in [-1, 1]).
    """
    first, second = _pair(a, b, channel_reduction, absolute)

    def normalise(maps: np.ndarray) -> np.ndarray:
        flat = maps.reshape(len(maps), -1)
        low, span = flat.min(axis=1), np.ptp(flat, axis=1)
        scaled = (flat - low[:, None]) / np.where(span > 0, span, 1.0)[:, None]
        return scaled.reshape(maps.shape)[..., np.newaxis].astype(np.float32)  # [B, H, W, 1]

    _, height, width = first.shape
    window = min(11, height, width)
    values = tf.image.ssim(normalise(first), normalise(second), max_val=1.0, filter_size=window)
    return values.numpy().astype(np.float64)


# --------------------------------------------------------------------------------------------
# Randomization


def _clone(model: keras.Model) -> keras.Model:
    """A copy of `model` with its own variables holding the same values."""
    try:
        clone = keras.models.clone_model(model)
    except Exception as error:  # noqa: BLE001 - Keras raises several types for subclassed models
        raise ValueError(
            invalid_value_message(
                "explainer", "an explainer of a Sequential or Functional model (keras.models.clone_model)", model.name
            )
        ) from error
    clone.set_weights(model.get_weights())
    return clone


def _weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The top-level layers that hold weights, from the top (output) layer down."""
    return [layer for layer in reversed(model.layers) if layer.weights]


def _randomize(layer: keras.layers.Layer, seed: int) -> None:
    """Re-initialises every weight of `layer` from its own initializer, seeded."""
    seeds = np.random.default_rng(seed).integers(_MAX_SEED, size=len(layer.weights))
    for variable, variable_seed in zip(layer.weights, seeds):
        name = variable.name.split("/")[-1]
        initializer = getattr(layer, f"{name}_initializer", None)
        if initializer is None:
            initializer = keras.initializers.GlorotUniform() if len(variable.shape) >= 2 else keras.initializers.Zeros()
        config = initializer.get_config()
        if "seed" in config:
            config["seed"] = int(variable_seed)
        variable.assign(type(initializer).from_config(config)(variable.shape, variable.dtype))


def _layer_seed(seed: int, position: int) -> int:
    """The seed of the layer at `position` (0 = top), the same for cascading and independent runs."""
    return int(np.random.default_rng([seed, position]).integers(_MAX_SEED))


def _compare(
    original: tf.Tensor, randomized: list[Any], channel_reduction: str, absolute: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Spearman and SSIM of each randomised batch of maps against the original: `[R, B]` each."""
    spearman = [
        spearman_correlation(original, m, channel_reduction=channel_reduction, absolute=absolute) for m in randomized
    ]
    ssim = [
        structural_similarity(original, m, channel_reduction=channel_reduction, absolute=absolute) for m in randomized
    ]
    return np.stack(spearman), np.stack(ssim)


def _setup(
    explainer: Any, x: Any, targets: Any, channel_reduction: Any, batch_size: int | None
) -> tuple[np.ndarray, tf.Tensor]:
    """Checks the shared arguments; returns the resolved targets `[B]` and the original maps."""
    if not isinstance(explainer, Explainer):
        raise TypeError(invalid_value_message("explainer", "a tfxai Explainer", type(explainer).__name__))
    check_choice("channel_reduction", channel_reduction, CHANNEL_REDUCTIONS)
    if targets is None:
        targets = np.argmax(explainer.model.predict(np.asarray(x), verbose=0), axis=-1).astype(np.int32)
    return targets, _attributions(explainer, x, targets, batch_size)


def _attributions(explainer: Explainer, x: Any, targets: Any, batch_size: int | None) -> tf.Tensor:
    """The attributions alone, whatever extras the explainer was configured to return."""
    result = explainer.explain(x, targets, batch_size)
    return result[0] if isinstance(result, tuple) else result


def _rebind(explainer: Explainer, model: keras.Model) -> Explainer:
    """The same explainer (class and configuration) bound to `model`."""
    return type(explainer).from_config(model, explainer.get_config())


def model_randomization(
    explainer: Explainer,
    x: Any,
    targets: Any = None,
    *,
    cascading: bool = True,
    channel_reduction: str = "sum",
    absolute: bool = True,
    seed: int | None = 0,
    batch_size: int | None = None,
) -> SanityResult:
    """Model-parameter randomization test: similarity of maps as layers are re-initialised.

    Args:
        explainer: a tfxai explainer bound to the trained model (Sequential or
            Functional); it is rebuilt from its `get_config()` on a clone.
        x: inputs `[B, *input_shape]`.
        targets: classes explained (as for `explainer`); `None` = the trained model's
            predictions, kept for every randomised model. Defaults to `None`.
        cascading: randomise the layers cumulatively from the top (`True`) or one at a
            time (`False`, "independent"). Defaults to `True`.
        channel_reduction: see `tfxai.viz.reduce_channels`. Defaults to `"sum"`.
        absolute: compare absolute maps. Defaults to `True`.
        seed: seed of the random weights (`None` draws one). Defaults to 0.
        batch_size: examples per explainer call. Defaults to `None` (all).

    Returns:
        A `SanityResult` with steps `("original", <top layer>, ..., <first layer>)`; in
        the cascading test, the row of a layer has it and every layer above it random.

    Raises:
        TypeError: `explainer` is not an `Explainer`.
        ValueError: the model cannot be cloned, or invalid inputs.

    Example:

    >>> result = tfxai.metrics.sanity.model_randomization(Saliency(model), x_test[:64])
    >>> result.summary()  # {"original": {"spearman": 1.0, ...}, "dense": {...}, ...}
    """
    cascading = check_bool("cascading", cascading)
    seed = check_seed(seed)
    targets, original = _setup(explainer, x, targets, channel_reduction, batch_size)
    clone = _clone(explainer.model)
    trained = clone.get_weights()
    probe = _rebind(explainer, clone)
    steps, maps = [ORIGINAL], [_attributions(probe, x, targets, batch_size)]
    for position, layer in enumerate(_weighted_layers(clone)):
        if not cascading:
            clone.set_weights(trained)
        _randomize(layer, _layer_seed(seed, position))
        steps.append(layer.name)
        maps.append(_attributions(probe, x, targets, batch_size))
    spearman, ssim = _compare(original, maps, channel_reduction, absolute)
    return SanityResult(tuple(steps), spearman, ssim)


def label_randomization(
    explainer: Explainer,
    x: Any,
    targets: Any = None,
    *,
    x_train: Any,
    y_train: Any,
    epochs: int = 5,
    train_batch_size: int = 64,
    learning_rate: float = 1e-3,
    channel_reduction: str = "sum",
    absolute: bool = True,
    seed: int | None = 0,
    batch_size: int | None = None,
) -> SanityResult:
    """Data (label) randomization test: maps of a copy trained on permuted labels.

    A copy of the architecture, re-initialised (seeded), is trained with Adam and
    sparse cross-entropy on `(x_train, permuted y_train)` for `epochs` (a small budget:
    Adebayo et al. train until the random labels are memorised; a few epochs already
    show whether the maps follow the model). Its maps of `x` are compared with the
    trained model's.

    Args:
        explainer: see `model_randomization`.
        x: inputs to explain `[B, *input_shape]`.
        targets: see `model_randomization`.
        x_train: training inputs `[N, *input_shape]`.
        y_train: integer labels `[N]`, permuted with `seed` before training.
        epochs: training epochs of the copy. Defaults to 5.
        train_batch_size: training batch size. Defaults to 64.
        learning_rate: Adam learning rate. Defaults to 1e-3.
        channel_reduction: see `tfxai.viz.reduce_channels`. Defaults to `"sum"`.
        absolute: compare absolute maps. Defaults to `True`.
        seed: seed of the permutation, the initial weights and the batch order (`None`
            draws one). Defaults to 0.
        batch_size: examples per explainer call. Defaults to `None` (all).

    Returns:
        A `SanityResult` with the single step `"labels"`; `extras` holds
        `train_accuracy_random_labels` (how far the copy memorised its labels) and
        `train_accuracy_true_labels` (near chance when the copy learned nothing real).
    """
    seed = check_seed(seed)
    epochs = check_int("epochs", epochs)
    train_batch_size = check_int("train_batch_size", train_batch_size)
    learning_rate = check_float("learning_rate", learning_rate, positive=True)
    targets, original = _setup(explainer, x, targets, channel_reduction, batch_size)
    x_train, y_train = np.asarray(x_train, np.float32), np.asarray(y_train)
    if y_train.shape != (len(x_train),) or not np.issubdtype(y_train.dtype, np.integer):
        raise ValueError(invalid_value_message("y_train", f"integer labels of shape ({len(x_train)},)", y_train.shape))
    rng = np.random.default_rng(seed)
    order, random_labels = rng.permutation(len(x_train)), rng.permutation(y_train)

    copy = _clone(explainer.model)
    for position, layer in enumerate(_weighted_layers(copy)):
        _randomize(layer, _layer_seed(seed, position))
    copy.compile(keras.optimizers.Adam(learning_rate), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    copy.fit(x_train[order], random_labels[order], epochs=epochs, batch_size=train_batch_size, shuffle=False, verbose=0)
    predicted = np.argmax(copy.predict(x_train, verbose=0), axis=-1)
    extras = {
        "train_accuracy_random_labels": float(np.mean(predicted == random_labels)),
        "train_accuracy_true_labels": float(np.mean(predicted == y_train)),
    }
    maps = [_attributions(_rebind(explainer, copy), x, targets, batch_size)]
    spearman, ssim = _compare(original, maps, channel_reduction, absolute)
    return SanityResult(("labels",), spearman, ssim, extras)

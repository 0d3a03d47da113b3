"""Insertion and deletion scores (Petsiuk et al., 2018): how fast the target probability rises or falls
as pixels are inserted or deleted in the order an attribution map ranks them.

Pixels are ranked by the attribution map (channels reduced to one value per pixel; highest
first; ties broken by a seeded random order, so that the many exact zeros of some maps do not
fall back to raster order). **Deletion** starts from the image and replaces
`pixels_per_step` pixels per step, most important first, with a substrate; **insertion**
starts from the substrate and puts the image's pixels back in the same order. After each of
the `ceil(H W / pixels_per_step)` steps, and before the first, the model's target output is
recorded: the curve has `steps + 1` points. A good map gives a high insertion score and a
low deletion score.

All steps of a chunk of images are built in one `[steps + 1, b, H, W, C]` tensor by masking
(no Python loop over steps or examples) and sent through the model in calls of at most
`batch_size` rows.

Notes:
    Defaults follow the authors' code of the CIA and AGI papers: a black (zero) substrate
    for both, `pixels_per_step` = the image width (RISE uses 224 on 224x224 images; 28 on
    MNIST), softmax probability of the class predicted on the intact image, and the score =
    the mean of the curve (`score="trapezoid"` integrates it over the fraction of pixels,
    RISE's area under the curve; the two differ by at most half the first and last points
    over the number of steps). On MNIST-type data about 80 % of the pixels are black, so a
    black substrate favours maps that give those pixels zero attribution (black-baseline
    IG): report the blurred substrate beside it (`substrate="blurred"`).

Reference:
    [Petsiuk et al., 2018](https://arxiv.org/abs/1806.07421) (RISE), Sec. 4.1.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfxai.attribution.baselines import gaussian_blur

SUBSTRATES = ("black", "blurred")
SCORES = ("mean", "trapezoid")
OUTPUTS = ("probabilities", "logits")
CHANNEL_REDUCTIONS = ("sum", "abs_sum")


def _invalid(name: str, expected: str, value: Any) -> str:
    return f"Invalid value for argument `{name}`. Expected {expected}. Received: {name}={value!r}"


def _as_array(name: str, value: Any) -> np.ndarray:
    array = value.numpy() if isinstance(value, tf.Tensor) else np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
        raise ValueError(_invalid(name, "finite floating-point values", f"array of dtype {array.dtype}"))
    return array.astype(np.float32)


def pixel_ranks(attributions: Any, *, channel_reduction: str = "sum", seed: int = 0) -> np.ndarray:
    """Rank of each pixel, 0 = most important, int32 `[B, H, W]`.

    Args:
        attributions: `[B, H, W, C]` (reduced over channels) or `[B, H, W]`.
        channel_reduction: `"sum"` (signed sum over channels) or `"abs_sum"`. Defaults to `"sum"`.
        seed: seed of the random order among equal values. Defaults to 0.
    """
    attributions = _as_array("attributions", attributions)
    if channel_reduction not in CHANNEL_REDUCTIONS:
        raise ValueError(_invalid("channel_reduction", f"one of {CHANNEL_REDUCTIONS}", channel_reduction))
    if attributions.ndim == 4:
        attributions = np.abs(attributions) if channel_reduction == "abs_sum" else attributions
        attributions = attributions.sum(axis=-1)
    if attributions.ndim != 3:
        raise ValueError(_invalid("attributions", "maps [B, H, W, C] or [B, H, W]", f"shape {attributions.shape}"))
    batch, height, width = attributions.shape
    saliency = attributions.reshape(batch, -1)
    ties = np.random.default_rng(seed).random(saliency.shape)
    order = np.lexsort((ties, -saliency), axis=-1)  # [B, HW]: most important pixel first
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(height * width)[None], axis=-1)
    return ranks.reshape(batch, height, width).astype(np.int32)


def _curves(
    model: keras.Model,
    start: np.ndarray,
    finish: np.ndarray,
    ranks: np.ndarray,
    counts: np.ndarray,
    targets: np.ndarray,
    output: str,
    batch_size: int,
) -> np.ndarray:
    """Target output after each step: pixels of rank `< counts[k]` come from `finish`, the rest from `start`.

    Returns:
        float32 `[B, S]` with `S = len(counts)`.
    """
    steps = len(counts)

    @tf.function(reduce_retracing=True)
    def chunk_curves(start, finish, ranks, targets):
        mask = ranks[tf.newaxis] < tf.reshape(tf.constant(counts), [-1, 1, 1, 1])  # [S, b, H, W]
        x = tf.where(mask[..., tf.newaxis], finish[tf.newaxis], start[tf.newaxis])  # [S, b, H, W, C]
        shape = tf.shape(x)
        logits = tf.cast(model(tf.reshape(x, tf.concat([[-1], shape[2:]], 0)), training=False), tf.float32)
        values = tf.nn.softmax(logits) if output == "probabilities" else logits  # [S*b, K]
        values = tf.gather(values, tf.tile(targets, [steps]), batch_dims=1)  # row s*b + i
        return tf.transpose(tf.reshape(values, [steps, -1]))  # [b, S]

    per_chunk = max(1, batch_size // steps)
    return np.concatenate([
        chunk_curves(start[i:i + per_chunk], finish[i:i + per_chunk], ranks[i:i + per_chunk],
                     targets[i:i + per_chunk]).numpy()
        for i in range(0, len(start), per_chunk)
    ])


def _substrate(images: np.ndarray, substrate: Any, blur_sigma: float) -> np.ndarray:
    if isinstance(substrate, str):
        if substrate not in SUBSTRATES:
            raise ValueError(_invalid("substrate", f"one of {SUBSTRATES} or an array", substrate))
        if substrate == "black":
            return np.zeros_like(images)
        return gaussian_blur(images, blur_sigma).numpy()
    array = _as_array("substrate", substrate)
    try:
        return np.broadcast_to(array, images.shape).astype(np.float32)
    except ValueError:
        raise ValueError(_invalid("substrate", f"an array broadcastable to {images.shape}", array.shape)) from None


def _check_inputs(model, images, attributions, targets, pixels_per_step, output, score, batch_size):
    if not isinstance(model, keras.Model):
        raise TypeError(_invalid("model", "a keras.Model classifier returning logits", type(model).__name__))
    images = _as_array("images", images)
    if images.ndim != 4:
        raise ValueError(_invalid("images", "images [B, H, W, C]", f"shape {images.shape}"))
    attributions = _as_array("attributions", attributions)
    if attributions.shape not in (images.shape, images.shape[:3]):
        raise ValueError(_invalid("attributions", f"shape {images.shape} or {images.shape[:3]}", attributions.shape))
    if output not in OUTPUTS:
        raise ValueError(_invalid("output", f"one of {OUTPUTS}", output))
    if score not in SCORES:
        raise ValueError(_invalid("score", f"one of {SCORES}", score))
    for name, value in (("pixels_per_step", pixels_per_step), ("batch_size", batch_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(_invalid(name, "a positive int", value))
    logits = model.predict(images, batch_size=batch_size, verbose=0)
    if targets is None:
        targets = np.argmax(logits, axis=-1)
    targets = np.broadcast_to(np.asarray(targets), (len(images),))
    if not np.issubdtype(targets.dtype, np.integer) or np.any(targets < 0) or np.any(targets >= logits.shape[-1]):
        raise ValueError(_invalid("targets", f"None or int classes in [0, {logits.shape[-1]})", targets))
    return images, attributions, targets.astype(np.int32)


def _score(model, images, attributions, targets, *, insert, substrate, blur_sigma, pixels_per_step, output, score,
           batch_size, channel_reduction, seed, return_curves):
    images, attributions, targets = _check_inputs(
        model, images, attributions, targets, pixels_per_step, output, score, batch_size)
    _, height, width, _ = images.shape
    num_pixels = height * width
    pixels_per_step = width if pixels_per_step is None else int(pixels_per_step)
    counts = np.minimum(np.arange(-(-num_pixels // pixels_per_step) + 1) * pixels_per_step, num_pixels)  # [S]
    ranks = pixel_ranks(attributions, channel_reduction=channel_reduction, seed=seed)
    base = _substrate(images, substrate, blur_sigma)
    start, finish = (base, images) if insert else (images, base)
    curves = _curves(model, start, finish, ranks, counts.astype(np.int32), targets, output, batch_size)
    if score == "mean":
        scores = curves.mean(axis=1)
    else:
        fractions = counts / num_pixels
        scores = np.sum(0.5 * (curves[:, 1:] + curves[:, :-1]) * np.diff(fractions), axis=1)
    return (scores, curves) if return_curves else scores


def insertion(
    model: keras.Model,
    images: Any,
    attributions: Any,
    targets: Any = None,
    *,
    substrate: Any = "black",
    blur_sigma: float = 5.0,
    pixels_per_step: int | None = None,
    output: str = "probabilities",
    score: str = "mean",
    batch_size: int = 512,
    channel_reduction: str = "sum",
    seed: int = 0,
    return_curves: bool = False,
) -> Any:
    """Insertion score of each example: start from `substrate`, insert the top-ranked pixels first.

    Args:
        model: a Keras classifier returning logits.
        images: float `[B, H, W, C]`.
        attributions: maps `[B, H, W, C]` or `[B, H, W]` of any attribution method.
        targets: classes whose output is tracked: `None` (the class predicted on each intact
            image), an int, or int `[B]`. Defaults to `None`.
        substrate: `"black"` (zeros), `"blurred"` (`gaussian_blur(images, blur_sigma)`, RISE's
            insertion start) or an array broadcastable to `images`. Defaults to `"black"`.
        blur_sigma: blur of the `"blurred"` substrate, in pixels. Defaults to 5.0.
        pixels_per_step: pixels inserted per step. Defaults to `None` (the image width).
        output: `"probabilities"` (softmax) or `"logits"`. Defaults to `"probabilities"`.
        score: `"mean"` of the curve or `"trapezoid"` area over the pixel fraction. Defaults to `"mean"`.
        batch_size: most images (steps x examples rows) per model call. Defaults to 512.
        channel_reduction: see `pixel_ranks`. Defaults to `"sum"`.
        seed: seed of the tie-breaking order. Defaults to 0.
        return_curves: also return the curves. Defaults to `False`.

    Returns:
        float `[B]` scores (mean them for the table), or `(scores, curves [B, steps + 1])`.

    Raises:
        ValueError: shapes, values or options out of range.

    Example:

    >>> scores = tfxai.metrics.faithfulness.insertion(model, x, IntegratedGradients(model)(x))
    >>> scores.mean()
    """
    return _score(model, images, attributions, targets, insert=True, substrate=substrate, blur_sigma=blur_sigma,
                  pixels_per_step=pixels_per_step, output=output, score=score, batch_size=batch_size,
                  channel_reduction=channel_reduction, seed=seed, return_curves=return_curves)


def deletion(
    model: keras.Model,
    images: Any,
    attributions: Any,
    targets: Any = None,
    *,
    substrate: Any = "black",
    blur_sigma: float = 5.0,
    pixels_per_step: int | None = None,
    output: str = "probabilities",
    score: str = "mean",
    batch_size: int = 512,
    channel_reduction: str = "sum",
    seed: int = 0,
    return_curves: bool = False,
) -> Any:
    """Deletion score of each example: replace the top-ranked pixels first by `substrate`.

    Arguments and returns as `insertion`; `substrate` is the fill of deleted pixels.
    """
    return _score(model, images, attributions, targets, insert=False, substrate=substrate, blur_sigma=blur_sigma,
                  pixels_per_step=pixels_per_step, output=output, score=score, batch_size=batch_size,
                  channel_reduction=channel_reduction, seed=seed, return_curves=return_curves)

"""Baselines of path attributions and the Gaussian blur they (and BlurIG) use.

The blur is written in core TensorFlow: two depthwise 1-D convolutions (rows, then
columns) with zero padding, as `scipy.ndimage.gaussian_filter(image, sigma=(s, s, 0),
mode="constant", truncate=6.0)`. Every image may have its own `sigma`: the images are
stacked along the channel axis of one `[1, H, W, N*C]` tensor, so one depthwise
convolution applies a different kernel to each (image, channel).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfxai.attribution.base import _check_float, _check_input_range, _invalid

BASELINES = ("black", "white", "uniform", "blurred")

# Kernels extend to `TRUNCATE * sigma` pixels (the mass beyond is below 2e-9), so that a
# kernel does not depend on how far the others reach and the blur is smooth in sigma.
# scipy.ndimage truncates at 4 sigma by default (mass beyond 6e-5).
TRUNCATE = 6.0
# Smallest sigma used in the kernel formula: exp(-1 / (2 * 1e-6)) underflows to 0, so the
# kernel is exactly the identity and its sigma-derivative exactly 0.
_MIN_SIGMA = 1e-3


def _gaussian_taps(sigmas: tf.Tensor, radius: int, support: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Normalised 1-D Gaussian kernels and their derivative with respect to sigma.

    The kernel of `sigma` is `k(t) = exp(-t^2 / 2 sigma^2) / Z` normalised over
    `|t| <= support` (`TRUNCATE` times the largest sigma); only the central
    `|t| <= radius` taps are returned (farther taps only meet zero padding). Its
    derivative is `dk/dsigma = k (t^2 - E_k[t^2]) / sigma^3`.

    Args:
        sigmas: float32 `[N]`, standard deviations in pixels (>= 0).
        radius: half-length of the returned kernels.
        support: half-length of the normalisation window (>= radius).

    Returns:
        `(taps, d_taps)`, float32 `[N, 2 * radius + 1]` each.
    """
    t = tf.range(-support, support + 1, dtype=tf.float32)[tf.newaxis, :]  # [1, 2R'+1]
    sigma = tf.maximum(sigmas, _MIN_SIGMA)[:, tf.newaxis]  # [N, 1]
    g = tf.exp(-0.5 * tf.square(t / sigma))  # [N, 2R'+1]
    taps = g / tf.reduce_sum(g, axis=1, keepdims=True)
    second_moment = tf.reduce_sum(taps * tf.square(t), axis=1, keepdims=True)  # [N, 1]
    d_taps = taps * (tf.square(t) - second_moment) / sigma**3
    centre = slice(support - radius, support + radius + 1)
    return taps[:, centre], d_taps[:, centre]


def _stack(images: tf.Tensor) -> tf.Tensor:
    """`[N, H, W, C]` -> `[1, H, W, N*C]` (channel index n*C + c)."""
    _, height, width, channels = images.shape
    return tf.reshape(tf.transpose(images, [1, 2, 0, 3]), [1, height, width, -1])


def _unstack(stacked: tf.Tensor, channels: int) -> tf.Tensor:
    """`[1, H, W, N*C]` -> `[N, H, W, C]`."""
    _, height, width, _ = stacked.shape
    return tf.transpose(tf.reshape(stacked, [height, width, -1, channels]), [2, 0, 1, 3])


def _convolve(stacked: tf.Tensor, taps: tf.Tensor, channels: int, axis: int) -> tf.Tensor:
    """Zero-padded 1-D correlation of each stacked image with its own kernel.

    Args:
        stacked: `[1, H, W, N*C]`.
        taps: `[N, L]` kernels (L odd; symmetric, so correlation = convolution).
        channels: C.
        axis: 0 for the rows (height), 1 for the columns (width).

    Returns:
        `[1, H, W, N*C]`.
    """
    length = taps.shape[1]
    kernel = tf.transpose(tf.repeat(taps, channels, axis=0))  # [L, N*C]
    kernel = tf.reshape(kernel, [length, 1, -1, 1] if axis == 0 else [1, length, -1, 1])
    return tf.nn.depthwise_conv2d(stacked, kernel, strides=[1, 1, 1, 1], padding="SAME")


def _blur(images: tf.Tensor, sigmas: tf.Tensor, max_sigma: float, derivative: bool = False) -> Any:
    """Blurs each image `[N, H, W, C]` with its own `sigmas [N]` (all <= `max_sigma`).

    Returns:
        The blurred images `[N, H, W, C]`, and with `derivative=True` also their
        derivative with respect to sigma (product rule on the separable kernel).
    """
    _, height, width, channels = images.shape
    support = int(TRUNCATE * max_sigma + 0.5)
    taps_h, d_taps_h = _gaussian_taps(sigmas, min(support, height - 1), support)
    taps_w, d_taps_w = _gaussian_taps(sigmas, min(support, width - 1), support)
    stacked = _stack(images)
    rows = _convolve(stacked, taps_h, channels, axis=0)
    blurred = _unstack(_convolve(rows, taps_w, channels, axis=1), channels)
    if not derivative:
        return blurred
    d_rows = _convolve(stacked, d_taps_h, channels, axis=0)
    d_blurred = _convolve(d_rows, taps_w, channels, axis=1) + _convolve(rows, d_taps_w, channels, axis=1)
    return blurred, _unstack(d_blurred, channels)


def gaussian_blur(images: tf.Tensor, sigma: float) -> tf.Tensor:
    """Gaussian blur of `[B, H, W, C]` images over the two spatial axes.

    Same as `scipy.ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0),
    mode="constant", truncate=6.0)` per image (scipy's default `truncate=4.0` differs by
    less than 1e-4 relative): zero padding, so a heavy blur darkens the borders and tends
    to black. `sigma = 0` is the identity.

    Args:
        images: float32 `[B, H, W, C]` with static H, W, C.
        sigma: standard deviation in pixels, >= 0.

    Returns:
        float32 `[B, H, W, C]`.
    """
    sigma = _check_float("sigma", sigma)
    if sigma < 0:
        raise ValueError(_invalid("sigma", "a float >= 0", sigma))
    images = tf.convert_to_tensor(images, tf.float32)
    return _blur(images, tf.fill(tf.shape(images)[:1], sigma), max_sigma=sigma)


def _check_baseline(
    baselines: Any, input_shape: tuple[int, ...], input_range: Any, blur_sigma: Any
) -> tuple[str | np.ndarray, tuple[float, float], float]:
    """Validates the baseline arguments of an explainer.

    Returns:
        `(baselines, input_range, blur_sigma)` with a tensor baseline broadcast to
        float32 `input_shape`.

    Raises:
        ValueError: unknown name, a tensor that does not broadcast to `input_shape` or has
            non-finite values, `"blurred"` on inputs that are not `[H, W, C]`.
    """
    input_range = _check_input_range(input_range)
    blur_sigma = _check_float("blur_sigma", blur_sigma, positive=True)
    if isinstance(baselines, str):
        if baselines not in BASELINES:
            raise ValueError(_invalid("baselines", f"one of {BASELINES} or an array", baselines))
        if baselines == "blurred" and len(input_shape) != 3:
            raise ValueError(
                f"Invalid value for argument `baselines`. 'blurred' needs image inputs [H, W, C]. "
                f"Received: baselines='blurred' for input shape {input_shape}"
            )
        return baselines, input_range, blur_sigma
    array = np.asarray(baselines, dtype=np.float32)
    try:
        array = np.broadcast_to(array, input_shape).copy()
    except ValueError:
        raise ValueError(
            _invalid("baselines", f"a name in {BASELINES} or an array broadcastable to {input_shape}", baselines)
        ) from None
    if not np.all(np.isfinite(array)):
        raise ValueError(_invalid("baselines", "finite values", baselines))
    return array, input_range, blur_sigma


def _make_baseline(
    x: tf.Tensor,
    baselines: str | np.ndarray,
    *,
    input_range: tuple[float, float],
    blur_sigma: float,
    seed: int,
) -> tf.Tensor:
    """The baseline `x'` of each example (graph code).

    Args:
        x: float32 `[B, *input_shape]`.
        baselines: `"black"` (all `input_range[0]`), `"white"` (all `input_range[1]`),
            `"uniform"` (one draw of U(input_range) from `seed`, shared by all examples,
            so the result does not depend on how examples are batched), `"blurred"`
            (`gaussian_blur(x, blur_sigma)`), or an array of shape `input_shape`.
        input_range: `(low, high)` of valid inputs.
        blur_sigma: blur of the `"blurred"` baseline, in pixels.
        seed: seed of the `"uniform"` baseline.

    Returns:
        float32 `[B, *input_shape]`.
    """
    low, high = input_range
    if isinstance(baselines, np.ndarray):
        single = tf.constant(baselines)
    elif baselines == "black":
        single = tf.fill(x.shape[1:], low)
    elif baselines == "white":
        single = tf.fill(x.shape[1:], high)
    elif baselines == "uniform":
        single = tf.random.stateless_uniform(x.shape[1:], seed=[seed, 0], minval=low, maxval=high)
    else:
        return _blur(x, tf.fill(tf.shape(x)[:1], blur_sigma), max_sigma=blur_sigma)
    return tf.broadcast_to(single, tf.shape(x))

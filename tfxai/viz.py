"""Heatmaps of attribution maps: percentile clipping, overlays, PNG grids, TensorBoard images.

A heatmap is made in three steps, as in the AGI paper (Pan et al., 2021, Sec. 5.1):

1. the channels of each attribution map `[H, W, C]` are aggregated into one value per pixel
   (`reduce_channels`: the signed `"sum"`, or `"max_abs"`, the largest magnitude);
2. every value below the map's 80th percentile q is raised to q and every value above its
   99th percentile u is lowered to u;
3. the map is rescaled to `[0, 1]` by `(a - q) / (u - q)`.

The lower bound keeps only the most attributed ~20 % of pixels visible; the upper bound
stops a few extreme pixels from washing out the rest. `heatmap` returns these maps,
`overlay` blends them over the images with a colour map, `save_grid` writes a grid of
methods x examples to a PNG file (matplotlib's Agg canvas, no display and no pyplot state)
and `image_summary` writes the overlays to TensorBoard with `tf.summary.image`.

Reference:
    [Pan et al., 2021](https://www.ijcai.org/proceedings/2021/396), Sec. 5.1.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from tfxai._validation import check_bool, check_choice, check_float, check_int, invalid_value_message

CHANNEL_REDUCTIONS = ("sum", "max_abs")
# Percentiles of the AGI paper, Sec. 5.1.
LOWER_PERCENTILE = 80.0
UPPER_PERCENTILE = 99.0


def _as_float_array(name: str, value: Any) -> np.ndarray:
    """`value` as a float32 numpy array with finite values (`TypeError`/`ValueError` otherwise)."""
    array = value.numpy() if isinstance(value, tf.Tensor) else np.asarray(value)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(invalid_value_message(name, "a real-valued array", f"array of dtype {array.dtype}"))
    if not np.all(np.isfinite(array)):
        raise ValueError(invalid_value_message(name, "finite values", f"{int(np.sum(~np.isfinite(array)))} NaN or inf"))
    return array.astype(np.float32)


def reduce_channels(attributions: Any, reduction: str = "sum") -> np.ndarray:
    """Aggregates the channels of image attribution maps into one value per pixel.

    Args:
        attributions: maps `[B, H, W, C]`, or `[B, H, W]` (returned as they are).
        reduction: `"sum"`, the signed sum over channels (so the pixel values still add
            up to the map's total, which completeness is about), or `"max_abs"`, the
            largest magnitude over channels, `max_c |a_c|` (Simonyan et al.'s saliency
            map; always >= 0). Defaults to `"sum"`.

    Returns:
        float32 numpy `[B, H, W]`.

    Raises:
        ValueError: another rank, non-finite values or an unknown `reduction`.
    """
    reduction = check_choice("reduction", reduction, CHANNEL_REDUCTIONS)
    array = _as_float_array("attributions", attributions)
    if array.ndim == 3:
        return array
    if array.ndim != 4:
        raise ValueError(
            invalid_value_message("attributions", "maps [B, H, W, C] or [B, H, W]", f"shape {array.shape}")
        )
    return array.sum(axis=-1) if reduction == "sum" else np.abs(array).max(axis=-1)


def clip_percentiles(
    maps: Any, *, lower_percentile: float = LOWER_PERCENTILE, upper_percentile: float = UPPER_PERCENTILE
) -> np.ndarray:
    """Percentile clipping and rescaling of each map to `[0, 1]` (AGI paper, Sec. 5.1).

    Formula (per map, over all its values; percentiles with NumPy's linear interpolation):

    ```
    q = percentile(a, lower_percentile),  u = percentile(a, upper_percentile)
    h = (clip(a, q, u) - q) / (u - q)     (h = 0 where u == q)
    ```

    Args:
        maps: one value per pixel, `[B, ...]` (e.g. `[B, H, W]` from `reduce_channels`).
        lower_percentile: q's percentile; lower values are raised to q. Defaults to 80.
        upper_percentile: u's percentile, > `lower_percentile`; higher values are lowered
            to u. Defaults to 99.

    Returns:
        float32 numpy with the shape of `maps`, values in `[0, 1]`.

    Raises:
        ValueError: percentiles outside `[0, 100]` or not increasing, non-finite maps.

    Example:

    >>> clip_percentiles(np.arange(100.0)[None])[0, [0, 79, 80, 90, 99]].round(3)
    array([0.   , 0.   , 0.043, 0.574, 1.   ], dtype=float32)
    """
    lower = check_float("lower_percentile", lower_percentile, minimum=0.0, maximum=100.0)
    upper = check_float("upper_percentile", upper_percentile, minimum=0.0, maximum=100.0)
    if not lower < upper:
        raise ValueError(invalid_value_message("upper_percentile", f"a value > lower_percentile={lower}", upper))
    array = _as_float_array("maps", maps)
    if array.ndim < 2:
        raise ValueError(invalid_value_message("maps", "a batch of maps [B, ...]", f"shape {array.shape}"))
    flat = array.reshape(len(array), -1)  # [B, N]
    q, u = np.percentile(flat, [lower, upper], axis=1, keepdims=True)  # [B, 1] each
    span = u - q
    scaled = (np.clip(flat, q, u) - q) / np.where(span > 0, span, 1.0)
    return scaled.reshape(array.shape).astype(np.float32)


def heatmap(
    attributions: Any,
    *,
    channel_reduction: str = "sum",
    lower_percentile: float = LOWER_PERCENTILE,
    upper_percentile: float = UPPER_PERCENTILE,
) -> np.ndarray:
    """Heatmaps of image attributions: channels aggregated, percentile-clipped, in `[0, 1]`.

    Args:
        attributions: maps `[B, H, W, C]` or `[B, H, W]`.
        channel_reduction: see `reduce_channels`. Defaults to `"sum"`.
        lower_percentile: see `clip_percentiles`. Defaults to 80.
        upper_percentile: see `clip_percentiles`. Defaults to 99.

    Returns:
        float32 numpy `[B, H, W]` in `[0, 1]`.

    Example:

    >>> maps = tfxai.viz.heatmap(tfxai.attribution.IntegratedGradients(model)(images))
    """
    return clip_percentiles(
        reduce_channels(attributions, channel_reduction),
        lower_percentile=lower_percentile,
        upper_percentile=upper_percentile,
    )


def _display_images(images: Any, input_range: tuple[float, float]) -> np.ndarray:
    """Images `[B, H, W, C]` (C = 1 or 3) or `[B, H, W]` as RGB in `[0, 1]`, float32 `[B, H, W, 3]`."""
    array = _as_float_array("images", images)
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise ValueError(
            invalid_value_message("images", "images [B, H, W, 1], [B, H, W, 3] or [B, H, W]", f"shape {array.shape}")
        )
    low, high = input_range
    scaled = np.clip((array - low) / (high - low), 0.0, 1.0)
    return np.repeat(scaled, 3, axis=-1) if scaled.shape[-1] == 1 else scaled


def _check_range(input_range: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in input_range)
    except (TypeError, ValueError):
        raise ValueError(invalid_value_message("input_range", "a (low, high) pair of floats", input_range)) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(invalid_value_message("input_range", "finite floats with low < high", input_range))
    return low, high


def _colorize(heatmaps: np.ndarray, colormap: str) -> np.ndarray:
    """`[B, H, W]` in `[0, 1]` -> RGB float32 `[B, H, W, 3]` through a matplotlib colour map."""
    import matplotlib

    try:
        cmap = matplotlib.colormaps[colormap]
    except KeyError:
        raise ValueError(invalid_value_message("colormap", "a matplotlib colour map name", colormap)) from None
    return cmap(heatmaps)[..., :3].astype(np.float32)


def overlay(
    images: Any,
    heatmaps: Any,
    *,
    alpha: float = 0.5,
    colormap: str = "jet",
    input_range: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Blends coloured heatmaps over the images: `(1 - alpha) * image + alpha * colormap(heat)`.

    Args:
        images: `[B, H, W, C]` with C = 1 (grey, shown as RGB) or 3, or `[B, H, W]`.
        heatmaps: `[B, H, W]` in `[0, 1]` (e.g. from `heatmap`).
        alpha: weight of the heatmap colour, in `[0, 1]`. Defaults to 0.5.
        colormap: a matplotlib colour map name. Defaults to `"jet"`.
        input_range: `(low, high)` of the image values, mapped to `[0, 1]` for display.
            Defaults to `(0.0, 1.0)`.

    Returns:
        float32 numpy `[B, H, W, 3]` in `[0, 1]`.
    """
    alpha = check_float("alpha", alpha, minimum=0.0, maximum=1.0)
    rgb = _display_images(images, _check_range(input_range))
    heat = _as_float_array("heatmaps", heatmaps)
    if heat.shape != rgb.shape[:3] or heat.min(initial=0.0) < 0.0 or heat.max(initial=0.0) > 1.0:
        raise ValueError(
            invalid_value_message("heatmaps", f"values in [0, 1] of shape {rgb.shape[:3]}", f"shape {heat.shape}")
        )
    return (1.0 - alpha) * rgb + alpha * _colorize(heat, colormap)


def _check_methods(images: np.ndarray, attributions: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Checks a non-empty `{method: maps}` dict whose maps match the images' batch and size."""
    if not isinstance(attributions, Mapping) or not attributions:
        raise ValueError(invalid_value_message("attributions", "a non-empty dict {method name: maps}", attributions))
    maps = {}
    for name, value in attributions.items():
        reduced = _as_float_array(f"attributions[{name!r}]", value)
        if reduced.shape[:3] != images.shape[:3]:
            raise ValueError(
                invalid_value_message(
                    f"attributions[{name!r}]",
                    f"maps of shape {images.shape[:3]} (+ channels)",
                    f"shape {reduced.shape}",
                )
            )
        maps[str(name)] = reduced
    return maps


def save_grid(
    path: str | os.PathLike,
    images: Any,
    attributions: Mapping[str, Any],
    *,
    overlay_alpha: float | None = None,
    channel_reduction: str = "sum",
    lower_percentile: float = LOWER_PERCENTILE,
    upper_percentile: float = UPPER_PERCENTILE,
    colormap: str = "jet",
    input_range: tuple[float, float] = (0.0, 1.0),
    titles: Any = None,
    cell_inches: float = 1.2,
    dpi: int = 100,
) -> pathlib.Path:
    """Writes a PNG grid: the images in the first row, then one row of heatmaps per method.

    Args:
        path: the PNG file to write (parent folders are created).
        images: `[B, H, W, C]` (C = 1 or 3) or `[B, H, W]`; one column per example.
        attributions: `{method name: maps [B, H, W, C] or [B, H, W]}`, one row each, in
            the dict's order; the names label the rows.
        overlay_alpha: `None` shows the heatmaps alone; a float in `[0, 1]` blends them
            over the images with that weight (`overlay`). Defaults to `None`.
        channel_reduction: see `reduce_channels`. Defaults to `"sum"`.
        lower_percentile: see `clip_percentiles`. Defaults to 80.
        upper_percentile: see `clip_percentiles`. Defaults to 99.
        colormap: a matplotlib colour map name. Defaults to `"jet"`.
        input_range: `(low, high)` of the image values. Defaults to `(0.0, 1.0)`.
        titles: one column title per example (e.g. `"label 3 / pred 3"`), or `None`.
            Defaults to `None`.
        cell_inches: size of one cell in inches. Defaults to 1.2.
        dpi: resolution of the PNG. Defaults to 100.

    Returns:
        The path written, a `pathlib.Path`.

    Raises:
        ValueError: mismatched shapes, bad options.

    Example:

    >>> tfxai.viz.save_grid("grid.png", x, {"IG": ig(x), "AGI": agi(x)}, titles=[str(t) for t in y])
    """
    from matplotlib.figure import Figure

    input_range = _check_range(input_range)
    rgb = _display_images(images, input_range)
    maps = _check_methods(rgb, attributions)
    batch = len(rgb)
    if titles is not None and len(titles) != batch:
        raise ValueError(invalid_value_message("titles", f"{batch} column titles or None", titles))
    cell_inches = check_float("cell_inches", cell_inches, positive=True)
    rows = [("input", rgb)]
    for name, value in maps.items():
        heat = heatmap(
            value,
            channel_reduction=channel_reduction,
            lower_percentile=lower_percentile,
            upper_percentile=upper_percentile,
        )
        shown = (
            _colorize(heat, colormap)
            if overlay_alpha is None
            else overlay(rgb, heat, alpha=overlay_alpha, colormap=colormap)
        )
        rows.append((name, shown))

    figure = Figure(figsize=(cell_inches * batch + 0.8, cell_inches * len(rows)), dpi=check_int("dpi", dpi))
    axes = figure.subplots(len(rows), batch, squeeze=False)
    for r, (name, cells) in enumerate(rows):
        for b in range(batch):
            ax = axes[r, b]
            ax.imshow(cells[b], interpolation="nearest", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            if b == 0:
                ax.set_ylabel(name, fontsize=8)
            if r == 0 and titles is not None:
                ax.set_title(str(titles[b]), fontsize=7)
    figure.tight_layout(pad=0.3)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def image_summary(
    name: str,
    images: Any,
    attributions: Any,
    *,
    step: int,
    max_outputs: int = 3,
    overlay_alpha: float = 0.5,
    channel_reduction: str = "sum",
    colormap: str = "jet",
    input_range: tuple[float, float] = (0.0, 1.0),
    with_images: bool = True,
) -> bool:
    """Writes heatmap overlays to TensorBoard (`tf.summary.image`) under the default writer.

    Each summary image is the input beside its overlay (`with_images=True`) or the
    overlay alone, `[H, W (x2), 3]` in `[0, 1]`.

    Args:
        name: the summary tag (e.g. the method name).
        images: `[B, H, W, C]` (C = 1 or 3) or `[B, H, W]`.
        attributions: maps `[B, H, W, C]` or `[B, H, W]`.
        step: the summary step.
        max_outputs: the most examples written. Defaults to 3.
        overlay_alpha: see `overlay`. Defaults to 0.5.
        channel_reduction: see `reduce_channels`. Defaults to `"sum"`.
        colormap: a matplotlib colour map name. Defaults to `"jet"`.
        input_range: `(low, high)` of the image values. Defaults to `(0.0, 1.0)`.
        with_images: put each input beside its overlay. Defaults to `True`.

    Returns:
        `True` if written, `False` if no default summary writer is set (as `tf.summary.image`).

    Example:

    >>> with tf.summary.create_file_writer(logdir).as_default():
    ...     tfxai.viz.image_summary("IG", x, IntegratedGradients(model)(x), step=0)
    """
    rgb = _display_images(images, _check_range(input_range))
    (maps,) = _check_methods(rgb, {name: attributions}).values()
    blended = overlay(rgb, heatmap(maps, channel_reduction=channel_reduction), alpha=overlay_alpha, colormap=colormap)
    data = np.concatenate([rgb, blended], axis=2) if check_bool("with_images", with_images) else blended
    return bool(
        tf.summary.image(
            name, data, step=check_int("step", step, minimum=0), max_outputs=check_int("max_outputs", max_outputs)
        )
    )

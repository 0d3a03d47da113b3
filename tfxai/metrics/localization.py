"""Localization metrics with bounding boxes: Loc, EG, PP and Con (Wang et al., 2022, App. B.1).

Each metric scores how much of an attribution map falls inside a region known to hold
the object (a bounding box), one value per example; higher is better for all four. The
maps are first reduced to one value per pixel (`tfxai.viz.reduce_channels`, the signed
sum over channels by default). With `A` the reduced map, `R` the set of pixels in the
region, `P = {i : A_i > 0}` and `A+ = max(A, 0)`:

| metric | formula | range |
|---|---|---|
| `localization` (Loc.) | `|P n R| / (|R| + |P \\ R|)` | [0, 1] |
| `energy_game` (EG) | `sum_{i in R} A+_i / sum_i A+_i` | [0, 1] |
| `positive_percentage` (PP) | `sum_{i in R} A+_i / sum_{i in R} |A_i|` | [0, 1] |
| `concentration` (Con.) | `sum_{i in R} Â_i / (1 + ||i - c||_2)`, `Â = |A| / sum |A|`, `c = sum_i Â_i i` | [0, 1] |

`c` is the centre of mass of `|A|` in pixel coordinates (what
`scipy.ndimage.center_of_mass(|A|)` returns). A ratio whose denominator is 0 (EG of a map
with no positive value, PP with no attribution inside the region, Con of an all-zero map)
is undefined and returned as NaN; average with `np.nanmean` and report how many were NaN.

Regions are given either as boxes `[B, 4]` of integer pixel coordinates
`(top, left, bottom, right)`, bottom and right exclusive (NumPy slicing
`map[top:bottom, left:right]`), or as boolean masks `[B, H, W]`.

Notes:
    The formulas of the paper's App. B.1 are lost in our copy of the text; the table
    restates METHODS.md §5. Con. here is normalised (`Â` sums to 1 and each weight
    `1 / (1 + d) <= 1`), so it lies in [0, 1]; the paper reports values around 4-5 on
    224x224 ImageNet images, so its Con. is scaled differently and our values are not
    comparable with its table, only between methods.

Reference:
    [Wang, Fredrikson & Datta, 2022](https://arxiv.org/abs/2103.11257) ("Robust models
    are more interpretable because attributions look normal"), Sec. 5.2 and App. B.1,
    Definitions 8-11; Loc. after [Chattopadhyay et al., 2018](https://arxiv.org/abs/1710.11063),
    EG after [Wang et al., 2020](https://arxiv.org/abs/1910.01279) (Score-CAM).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfxai._validation import check_int, invalid_value_message
from tfxai.viz import reduce_channels


def box_masks(boxes: Any, height: int, width: int) -> np.ndarray:
    """Boolean masks of bounding boxes.

    Args:
        boxes: integer `[B, 4]`, `(top, left, bottom, right)` with bottom and right
            exclusive, `0 <= top < bottom <= height`, `0 <= left < right <= width`.
        height: H.
        width: W.

    Returns:
        bool numpy `[B, H, W]`, True inside each box.

    Raises:
        ValueError: wrong shape, non-integer or empty boxes, boxes outside the image.

    Example:

    >>> box_masks([[1, 0, 3, 2]], 4, 3).astype(int)[0]
    array([[0, 0, 0],
           [1, 1, 0],
           [1, 1, 0],
           [0, 0, 0]])
    """
    height, width = check_int("height", height), check_int("width", width)
    array = boxes.numpy() if isinstance(boxes, tf.Tensor) else np.asarray(boxes)
    expected = f"integer boxes [B, 4] (top, left, bottom, right) within a {height}x{width} image, none empty"
    if array.ndim != 2 or array.shape[1] != 4 or not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
        raise ValueError(invalid_value_message("boxes", expected, boxes))
    top, left, bottom, right = array.astype(np.int64).T  # [B] each
    if (
        np.any(top < 0)
        or np.any(left < 0)
        or np.any(bottom > height)
        or np.any(right > width)
        or np.any(top >= bottom)
        or np.any(left >= right)
    ):
        raise ValueError(invalid_value_message("boxes", expected, boxes))
    rows = np.arange(height)[None, :, None]  # [1, H, 1]
    cols = np.arange(width)[None, None, :]  # [1, 1, W]
    inside_rows = (rows >= top[:, None, None]) & (rows < bottom[:, None, None])  # [B, H, 1]
    inside_cols = (cols >= left[:, None, None]) & (cols < right[:, None, None])  # [B, 1, W]
    return inside_rows & inside_cols


def _maps_and_regions(attributions: Any, regions: Any, channel_reduction: str) -> tuple[np.ndarray, np.ndarray]:
    """Reduced maps float64 `[B, H, W]` and region masks bool `[B, H, W]`, checked against each other."""
    maps = reduce_channels(attributions, channel_reduction).astype(np.float64)
    batch, height, width = maps.shape
    array = regions.numpy() if isinstance(regions, tf.Tensor) else np.asarray(regions)
    if array.ndim == 2:
        masks = box_masks(array, height, width)
    elif array.ndim == 3 and array.dtype == np.bool_:
        if not np.all(array.reshape(len(array), -1).any(axis=1)):
            raise ValueError(invalid_value_message("regions", "masks with at least one pixel each", "an empty mask"))
        masks = array
    else:
        raise ValueError(
            invalid_value_message(
                "regions", "boxes [B, 4] (top, left, bottom, right) or boolean masks [B, H, W]", f"shape {array.shape}"
            )
        )
    if masks.shape != maps.shape:
        raise ValueError(
            invalid_value_message("regions", f"{batch} regions of a {height}x{width} map", f"shape {array.shape}")
        )
    return maps, masks


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """`numerator / denominator`, NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def _sum(values: np.ndarray) -> np.ndarray:
    return values.reshape(len(values), -1).sum(axis=1)


def localization(attributions: Any, regions: Any, *, channel_reduction: str = "sum") -> np.ndarray:
    """Loc. (Definition 8): `|P n R| / (|R| + |P \\ R|)`, P the positively attributed pixels.

    1 when exactly the region's pixels are positive; positive pixels outside the region
    and region pixels that are not positive both lower it.

    Args:
        attributions: maps `[B, H, W, C]` or `[B, H, W]`.
        regions: boxes `[B, 4]` or boolean masks `[B, H, W]` (see the module docstring).
        channel_reduction: see `tfxai.viz.reduce_channels`. Defaults to `"sum"`.

    Returns:
        float64 numpy `[B]`.
    """
    maps, masks = _maps_and_regions(attributions, regions, channel_reduction)
    positive = maps > 0
    return _sum(positive & masks) / (_sum(masks) + _sum(positive & ~masks))


def energy_game(attributions: Any, regions: Any, *, channel_reduction: str = "sum") -> np.ndarray:
    """EG (Definition 9): the share of the positive attribution mass inside the region.

    Args, Returns: as `localization` (NaN for a map without positive values).
    """
    maps, masks = _maps_and_regions(attributions, regions, channel_reduction)
    positive = np.maximum(maps, 0.0)
    return _ratio(_sum(positive * masks), _sum(positive))


def positive_percentage(attributions: Any, regions: Any, *, channel_reduction: str = "sum") -> np.ndarray:
    """PP (Definition 10): positive over absolute attribution mass inside the region.

    Args, Returns: as `localization` (NaN where the map is 0 on the whole region).
    """
    maps, masks = _maps_and_regions(attributions, regions, channel_reduction)
    return _ratio(_sum(np.maximum(maps, 0.0) * masks), _sum(np.abs(maps) * masks))


def concentration(attributions: Any, regions: Any, *, channel_reduction: str = "sum") -> np.ndarray:
    """Con. (Definition 11): region mass of `|A|` (normalised), each pixel weighted by `1 / (1 + d)`.

    `d` is the pixel's Euclidean distance to the centre of mass of `|A|`; a map whose mass
    is inside the region and gathered around one point scores highest.

    Args, Returns: as `localization` (NaN for an all-zero map); see the module Notes on scale.
    """
    maps, masks = _maps_and_regions(attributions, regions, channel_reduction)
    _, height, width = maps.shape
    magnitude = np.abs(maps)
    total = _sum(magnitude)[:, None, None]  # [B, 1, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        normalized = magnitude / total  # Â, sums to 1 per map: [B, H, W]
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")  # [H, W] each
    centre_row = _sum(normalized * rows)[:, None, None]  # [B, 1, 1]
    centre_col = _sum(normalized * cols)[:, None, None]
    distance = np.hypot(rows - centre_row, cols - centre_col)  # [B, H, W]
    return np.where(total[:, 0, 0] > 0, _sum(normalized * masks / (1.0 + distance)), np.nan)


def localization_metrics(attributions: Any, regions: Any, *, channel_reduction: str = "sum") -> dict[str, np.ndarray]:
    """All four metrics: `{"loc", "eg", "pp", "con"}`, float64 numpy `[B]` each.

    Args: as `localization`.

    Example:

    >>> scores = tfxai.metrics.localization_metrics(BIG(model)(x), boxes)
    >>> {name: float(np.nanmean(values)) for name, values in scores.items()}
    """
    return {
        name: fn(attributions, regions, channel_reduction=channel_reduction)
        for name, fn in (
            ("loc", localization),
            ("eg", energy_game),
            ("pp", positive_percentage),
            ("con", concentration),
        )
    }

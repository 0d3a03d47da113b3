"""The completeness check of path attributions: f_t(x) - f_t(x') - sum(attributions)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from tfxai._validation import check_bool, invalid_value_message
from tfxai.attribution.base import PathExplainer


def completeness(
    explainer: PathExplainer,
    x: Any,
    targets: Any = None,
    *,
    batch_size: int | None = None,
    relative: bool = False,
) -> np.ndarray:
    """Per-example completeness gap of a path explainer.

    Completeness (Sundararajan et al., 2017, Prop. 1) says the attributions of a path
    method add up to the change of the explained output along the path:

    ```
    delta = f_t(x) - f_t(x') - sum_i A_i(x)        (x' = gamma(0), the path's start)
    ```

    `delta` is 0 for the exact path integral; the Riemann sum leaves a gap that shrinks as
    `steps` grows. The gap is what the explainer's core computes as
    `convergence_delta` (`PathExplainer._convergence_delta`), so this check runs the
    explainer once, with its own settings, and returns that output. It applies to every
    `PathExplainer` (Integrated Gradients, BlurIG, BIG, ...), whose start x' is a black,
    blurred or boundary point.

    Args:
        explainer: a `tfxai.attribution.PathExplainer`.
        x: inputs `[B, *input_shape]`.
        targets: classes explained, as for `explainer` (`None` = predicted class).
            Defaults to `None`.
        batch_size: examples per call of the explainer's core; `None` runs all at once.
            Defaults to `None`.
        relative: divide by `|f_t(x) - f_t(x')|`, the quantity being completed (the
            relative error the IG paper asks to keep within 5 %). Defaults to `False`.

    Returns:
        float32 numpy `[B]`: `delta`, or `|delta| / |f_t(x) - f_t(x')|` when `relative`
        (`inf` where the output does not change along the path and `delta != 0`).

    Raises:
        TypeError: `explainer` is not a path explainer.
        ValueError: invalid inputs (see `Explainer.explain`).

    Example:

    >>> ig = tfxai.attribution.IntegratedGradients(model, steps=64)
    >>> tfxai.metrics.completeness(ig, images)  # [B], close to 0

    Reference:
        [Sundararajan et al., 2017](https://arxiv.org/abs/1703.01365), Prop. 1 and Sec. 4.
    """
    if not isinstance(explainer, PathExplainer):
        raise TypeError(
            invalid_value_message("explainer", "a tfxai PathExplainer (IG, BlurIG, BIG, ...)", type(explainer).__name__)
        )
    relative = check_bool("relative", relative)
    # A shallow copy shares the traced core; only the format of `explain`'s result changes.
    probe = copy.copy(explainer)
    probe.return_convergence_delta = True
    attributions, delta, *_ = probe.explain(x, targets, batch_size)
    delta = np.asarray(delta, np.float32)
    if not relative:
        return delta
    change = np.abs(delta + np.asarray(attributions, np.float32).reshape(len(delta), -1).sum(axis=1))  # |f(x) - f(x')|
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(delta == 0.0, 0.0, np.abs(delta) / change).astype(np.float32)

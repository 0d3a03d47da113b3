"""Boundary-based attributions: BSM and BIG (Wang et al., 2022, Definitions 5 and 6).

Both explain the classifier at x through x', the closest point whose prediction differs
from the class c predicted at x, as found by `tfxai.attacks.BoundarySearch` (an ensemble
of PGD over an epsilon ladder and CW-L2, keeping the closest successful point):

- **BSM** (boundary-based saliency map, Definition 5): `grad_x f_t(x')`, the gradient at
  the boundary point, i.e. the normal of the closest boundary segment.
- **BIG** (boundary-based integrated gradient, Definition 6): Integrated Gradients of
  `f_t` from the baseline x' to x, `(x - x') * int_0^1 grad f_t(x' + a (x - x')) da`.

The boundary search runs inside the explainer's `tf.function` core, before the
attribution, so `explainer.core(images, targets)` is one graph with the standard
signature and `tfxai.export` can serve it like any other explainer (the search is
deterministic: seeded stateless random start). Its outputs add `boundary_points`,
`boundary_success`, `boundary_distance` and `boundary_attack`.

Notes:
    The boundary is always that of the class predicted at x (the definitions ask for
    `F(x') != F(x)`), whatever `targets` says; `targets` only chooses the explained output
    `f_t` (default: the predicted class c, as in the paper). Where the search fails, x'
    is the fallback point (the largest-epsilon PGD iterate, not adversarial) and
    `boundary_success` is False: such rows explain the path to a non-boundary point and
    are best reported separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfxai.attacks.boundary_search import BoundarySearch
from tfxai.attribution.base import Explainer, PathExplainer, _check_bool, _invalid, _riemann_sum
from tfxai.attribution.integrated_gradients import IntegratedGradients

_DETAILS = ("points", "success", "distance", "attack")


class _BoundaryMixin:
    """The boundary search shared by BSM and BIG: configuration, graph call, inputs and outputs."""

    def _init_boundary(self, search: BoundarySearch | Mapping[str, Any] | None, return_boundary: bool) -> None:
        if search is None:
            search = BoundarySearch()
        elif isinstance(search, Mapping):
            search = BoundarySearch(**search)
        elif not isinstance(search, BoundarySearch):
            raise TypeError(
                _invalid("search", "a tfxai.attacks.BoundarySearch, a dict of its arguments or None", search)
            )
        self.search = search
        self.return_boundary = _check_bool("return_boundary", return_boundary)

    def _boundary(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        """Graph code: the search from the class predicted at `x`, outputs prefixed `boundary_`."""
        predicted = tf.argmax(self.model(x, training=False), axis=-1, output_type=tf.int32)  # c: [B]
        result = self.search.search(self.model, x, predicted)
        return {f"boundary_{key}": result[key] for key in _DETAILS}

    def _sanitize_inputs(self, x: Any) -> tuple[np.ndarray, tf.DType]:
        array, dtype = super()._sanitize_inputs(x)
        low, high = self.search.clip
        if array.min() < low or array.max() > high:
            raise ValueError(
                _invalid(
                    "x",
                    f"values within the search's clip range {self.search.clip}",
                    f"x in [{array.min()}, {array.max()}]",
                )
            )
        return array, dtype

    def _details(self, outputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """`{points, success, distance, attack}` from the core outputs, points in the inputs' dtype."""
        details = {key: outputs[f"boundary_{key}"] for key in _DETAILS}
        details["points"] = tf.cast(details["points"], outputs["attributions"].dtype)
        return details

    def _boundary_config(self) -> dict[str, Any]:
        return {"search": self.search.get_config(), "return_boundary": self.return_boundary}


class BSM(_BoundaryMixin, Explainer):
    """Boundary-based saliency map, `BSM(x) = grad_x f_t(x')` (Definition 5 of Wang et al., 2022).

    x' is the closest adversarial example to x found by `search` (see the module
    docstring); the gradient is taken there, in one batched gradient call (chunks of
    `internal_batch_size` rows).

    Args:
        model: see `Explainer`.
        search: the boundary search: a `tfxai.attacks.BoundarySearch`, a dict of its
            arguments, or `None` for its defaults. Defaults to `None`.
        return_boundary: whether `explain` returns `(attributions, details)` with
            `details` = `{"points": x' (shape and dtype of x), "success": bool [B],
            "distance": float32 [B], "attack": int32 [B]}` (see
            `tfxai.attacks.BoundarySearchResult`). Defaults to `False`.
        output: see `Explainer`. Defaults to `"logits"` (the paper's f).
        internal_batch_size: see `Explainer`; bounds the gradient call, not the search.

    Example:

    >>> bsm = tfxai.attribution.BSM(model, search={"epsilons": (0.05, 0.1, 0.2), "steps": 50})
    >>> attributions, details = tfxai.attribution.BSM(model, return_boundary=True)(images)

    Reference:
        [Wang, Fredrikson & Datta, 2022](https://arxiv.org/abs/2103.11257), Definition 5.
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        search: BoundarySearch | Mapping[str, Any] | None = None,
        return_boundary: bool = False,
        output: str = "logits",
        internal_batch_size: int | None = None,
    ) -> None:
        super().__init__(model, output=output, internal_batch_size=internal_batch_size)
        self._init_boundary(search, return_boundary)

    def _attribute(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        boundary = self._boundary(x)
        return {"attributions": self._input_gradients(boundary["boundary_points"], targets), **boundary}

    def _format_output(self, outputs: dict[str, tf.Tensor]) -> Any:
        if self.return_boundary:
            return outputs["attributions"], self._details(outputs)
        return outputs["attributions"]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._boundary_config()}


class BIG(_BoundaryMixin, PathExplainer):
    """Boundary-based integrated gradient, `BIG(x) = IG(x; x')` (Definition 6 of Wang et al., 2022).

    Integrated Gradients of `f_t` along the straight line from the closest adversarial
    example x' (found by `search`) to x, with the Riemann rule `method` on `steps` nodes:
    all `steps x B` path points in one batch (chunks of `internal_batch_size` rows).
    Completeness holds with x' as the baseline: `sum(BIG(x)) = f_t(x) - f_t(x')` up to the
    quadrature error, returned with `return_convergence_delta=True`.

    Args:
        model: see `Explainer`.
        steps: number of gradient evaluations along the path. Defaults to 20 (the paper's).
        method: see `PathExplainer`. Defaults to `"riemann_trapezoid"` (the paper's).
        search: see `BSM`. Defaults to `None`.
        return_convergence_delta: see `PathExplainer`. Defaults to `False`.
        return_boundary: see `BSM`. Defaults to `False`.
        output: see `Explainer`. Defaults to `"logits"` (the paper's f).
        internal_batch_size: see `Explainer`.

    Returns (of `explain`):
        The attributions; with extras asked for, the tuple `(attributions, delta)`,
        `(attributions, details)` or `(attributions, delta, details)`.

    Example:

    >>> big = tfxai.attribution.BIG(model, search={"epsilons": (0.05, 0.1, 0.2), "steps": 50})
    >>> attributions, delta, details = tfxai.attribution.BIG(
    ...     model, return_convergence_delta=True, return_boundary=True)(images)

    Reference:
        [Wang, Fredrikson & Datta, 2022](https://arxiv.org/abs/2103.11257), Definition 6
        and App. B.3 (20 points, trapezoid rule).

    Notes:
        `steps` counts the nodes of the rule including both ends (exact trapezoid weights
        `1/(steps-1)`, halved at the ends); the authors' code divided the sum over
        `steps + 1` points by `steps` (METHODS §9).
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        steps: int = 20,
        method: str = "riemann_trapezoid",
        search: BoundarySearch | Mapping[str, Any] | None = None,
        return_convergence_delta: bool = False,
        return_boundary: bool = False,
        output: str = "logits",
        internal_batch_size: int | None = None,
    ) -> None:
        super().__init__(
            model,
            steps=steps,
            method=method,
            return_convergence_delta=return_convergence_delta,
            output=output,
            internal_batch_size=internal_batch_size,
        )
        self._init_boundary(search, return_boundary)

    def _path(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """The straight line from the boundary point x' (searched from `x`) to `x`."""
        start = self._boundary(x)["boundary_points"]  # [B, ...]
        return IntegratedGradients._interpolate(start, x, self._alphas), (x - start)[tf.newaxis], start

    def _attribute(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        # The base class integrates along `_path(x)` but returns no by-products of the path;
        # the search's outputs are wanted too, so the line integral is taken here from them.
        boundary = self._boundary(x)
        return {**self._line_integral(x, boundary["boundary_points"], targets), **boundary}

    def _line_integral(self, x: tf.Tensor, baselines: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        """IG from per-example baselines `[B, ...]` to `x [B, ...]`: attributions and completeness gap.

        Eq. (3) of Sundararajan et al. with the nodes and weights of `method`; the
        velocity `x - x'` is constant on the line, so it multiplies the weighted sum.
        """
        points = IntegratedGradients._interpolate(baselines, x, self._alphas)  # [S, B, ...]
        steps, batch = tf.shape(points)[0], tf.shape(points)[1]
        grads = self._input_gradients(tf.reshape(points, [steps * batch, *self.input_shape]), tf.tile(targets, [steps]))
        grads = tf.reshape(grads, tf.shape(points))  # row s*B + b -> [S, B, ...]
        attributions = (x - baselines) * _riemann_sum(grads, self._weights)  # [B, ...]
        return {
            "attributions": attributions,
            "convergence_delta": self._convergence_delta(x, baselines, targets, attributions),
        }

    def _format_output(self, outputs: dict[str, tf.Tensor]) -> Any:
        result = super()._format_output(outputs)
        if not self.return_boundary:
            return result
        return (*(result if isinstance(result, tuple) else (result,)), self._details(outputs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._boundary_config()}

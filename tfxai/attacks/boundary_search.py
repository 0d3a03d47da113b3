"""Boundary search: the closest adversarial example found by an ensemble of attacks (BIG, App. B.2).

BSM and BIG (Wang et al., 2022, Definitions 5-6) need, for each input x, the closest
point x' whose prediction differs from the class c predicted at x. Finding it exactly is
NP-hard, so the paper runs several attacks and keeps the closest adversarial example any
of them found. `BoundarySearch` does the same, batched:

1. **PGD ladder**: PGD (Madry et al.) at every radius of `epsilons`, all radii of all
   examples in one `[L*B, ...]` batch through the shared PGD core
   (`tfxai.attacks.iterative`), with the absolute step `2.5 * epsilon / steps` (the
   rule of the `robustness` library, Engstrom et al., 2019, whose models the paper
   explains), a random start in the epsilon-ball and early stop (a row stops at its
   first successful iterate).
2. **CW-L2** (Carlini & Wagner) with a binary search over its constant c, through the
   C&W optimisation core (`tfxai.attacks.cw`).
3. **Refinement** (not in the paper): each successful candidate x_a is pulled back
   towards x by `refine_steps` bisection steps on the segment `x + s (x_a - x)`, keeping
   the point adversarial, which moves it onto the decision boundary.
4. **Selection**: per example, the successful candidate closest to x in `distance_norm`.
   If no attack succeeded, the last PGD iterate of the largest epsilon is returned (the
   paper's pipeline falls back to its first method's last iterate) and reported in the
   success mask.

Everything runs in one graph (`BoundarySearch.search`), so an explainer can call the
search inside its own `tf.function` core and be exported to a SavedModel with it. The
PGD random start is one seeded draw `[L, *input_shape]` shared by all examples, so an
example's result does not depend on which batch it is in.

Notes:
    METHODS.md §9: the authors' code took a step relative to epsilon that never reached the
    small radii (a Foolbox misuse), kept unsuccessful PGD points as candidates, and its CW
    branch crashed. Here the PGD step is absolute (2.5 epsilon / steps, the `robustness` library's
    rule), only successful points compete, and failures are reported (`success`).
    AutoPGD is not implemented. Memory: PGD differentiates `L*B` rows at once and the
    refinement evaluates `A*B` rows (A candidates per example); bound B with the
    explainers' `batch_size`.

Reference:
    [Wang, Fredrikson & Datta, 2022](https://arxiv.org/abs/2103.11257), Sec. 4 ("Finding
    nearby boundaries") and App. B.2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tfxai._validation import check_bool, check_float, check_int, check_seed, invalid_value_message
from tfxai.attacks._common import AttackInputs, _check_clip, check_norm, per_example, prepare
from tfxai.attacks.cw import _NO_UPPER_BOUND, _optimize
from tfxai.attacks.iterative import _iterate, _random_start

ATTACKS = ("pgd", "cw_l2")
DEFAULT_EPSILONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
# The `robustness` library's step rule (Engstrom et al., 2019): steps of 2.5 epsilon / steps can
# cross the ball more than once.
_STEP_FACTOR = 2.5


def _check_norm(name: str, value: Any) -> str:
    """`check_norm` (`"inf"`, `"2"`, `np.inf` or `2`) with the message naming the argument `name`."""
    try:
        return check_norm(value)
    except ValueError:
        raise ValueError(invalid_value_message(name, "one of ('inf', '2')", value)) from None


@dataclasses.dataclass(frozen=True)
class BoundarySearchResult:
    """What `boundary_search` returns.

    Attributes:
        points: x', the closest adversarial example found (or the fallback), shape and
            dtype of `x`.
        success: bool `[B]`: x' is classified differently from `y` (checked on x').
        distance: float32 `[B]`: `||x' - x||` in the search's `distance_norm`.
        attack: int32 `[B]`: the index in `candidates` of the attack that produced x'
            (for failures, the fallback: the largest-epsilon PGD).
        candidates: the attacks' names, e.g. `("pgd(epsilon=0.01)", ..., "cw_l2")`.
    """

    points: tf.Tensor
    success: tf.Tensor
    distance: tf.Tensor
    attack: tf.Tensor
    candidates: tuple[str, ...]


class BoundarySearch:
    """A configured boundary search (see the module docstring for the algorithm).

    Args:
        epsilons: radii of the PGD ladder, on the input scale (sorted ascending; the
            largest gives the fallback). Defaults to `(0.01, 0.02, 0.05, 0.1, 0.2, 0.3)`.
        steps: PGD iterations per radius (the paper's "max steps"). Defaults to 100.
        pgd_norm: `"inf"` or `"2"`, the norm of the PGD balls and steps. Defaults to `"inf"`.
        random_start: start PGD from a uniform random point of each ball. Defaults to `True`.
        attacks: the attacks run, `"pgd"` (required: it provides the fallback) and
            optionally `"cw_l2"`. Defaults to `("pgd", "cw_l2")`.
        cw_steps: Adam steps of CW-L2 per binary-search step. Defaults to 100.
        cw_learning_rate: CW-L2's Adam learning rate (in tanh space). Defaults to 0.01.
        cw_binary_search_steps: values of c tried per example. Defaults to 5.
        cw_initial_const: the first c. Defaults to 1.0.
        refine_steps: bisection steps pulling each successful candidate towards x (0
            disables). Defaults to 10.
        distance_norm: `"2"` or `"inf"`, the norm in which "closest" is measured.
            Defaults to `"2"`.
        clip: `(min, max)` of valid inputs (CW-L2 needs a box). Defaults to `(0.0, 1.0)`.
        seed: seed of the PGD random start (`None` draws one). Defaults to 0.

    Example:

    >>> search = tfxai.attacks.BoundarySearch(epsilons=(0.05, 0.1, 0.2), steps=50)
    >>> result = search(model, x)  # BoundarySearchResult
    >>> result.success.numpy().mean(), result.distance.numpy().mean()
    """

    def __init__(
        self,
        *,
        epsilons: Sequence[float] = DEFAULT_EPSILONS,
        steps: int = 100,
        pgd_norm: str = "inf",
        random_start: bool = True,
        attacks: Sequence[str] = ATTACKS,
        cw_steps: int = 100,
        cw_learning_rate: float = 0.01,
        cw_binary_search_steps: int = 5,
        cw_initial_const: float = 1.0,
        refine_steps: int = 10,
        distance_norm: str = "2",
        clip: tuple[float, float] = (0.0, 1.0),
        seed: int | None = 0,
    ) -> None:
        if isinstance(epsilons, (str, bytes)) or not isinstance(epsilons, Sequence) or not epsilons:
            raise ValueError(invalid_value_message("epsilons", "a non-empty sequence of floats > 0", epsilons))
        self.epsilons = tuple(sorted({check_float("epsilons", e, positive=True) for e in epsilons}))
        self.steps = check_int("steps", steps)
        self.pgd_norm = _check_norm("pgd_norm", pgd_norm)
        self.random_start = check_bool("random_start", random_start)
        if (
            isinstance(attacks, str)
            or not all(isinstance(a, str) and a in ATTACKS for a in attacks)
            or ("pgd" not in attacks)
        ):
            raise ValueError(invalid_value_message("attacks", f"a subset of {ATTACKS} that includes 'pgd'", attacks))
        self.attacks = tuple(a for a in ATTACKS if a in attacks)
        self.cw_steps = check_int("cw_steps", cw_steps)
        self.cw_learning_rate = check_float("cw_learning_rate", cw_learning_rate, positive=True)
        self.cw_binary_search_steps = check_int("cw_binary_search_steps", cw_binary_search_steps)
        self.cw_initial_const = check_float("cw_initial_const", cw_initial_const, positive=True)
        self.refine_steps = check_int("refine_steps", refine_steps, minimum=0)
        self.distance_norm = _check_norm("distance_norm", distance_norm)
        self.clip = _check_clip(clip, required=True)
        self.seed = check_seed(seed)
        self._run = tf.function(self.search, reduce_retracing=True)

    @property
    def candidates(self) -> tuple[str, ...]:
        """Names of the candidate attacks, in the order of `BoundarySearchResult.attack`."""
        return tuple(f"pgd(epsilon={e:g})" for e in self.epsilons) + (("cw_l2",) if "cw_l2" in self.attacks else ())

    def __call__(self, model: Callable, x: Any, y: Any = None) -> BoundarySearchResult:
        """Runs the search on a batch, after validating it.

        Args:
            model: a Keras model (or callable) mapping `x` to logits `[B, K]`.
            x: float inputs `[B, ...]` within `clip`.
            y: the classes to move away from, int `[B]` (or one-hot); `None` uses the
                model's predictions, the boundary of BSM and BIG. Defaults to `None`.

        Returns:
            A `BoundarySearchResult`.

        Raises:
            TypeError, ValueError: invalid `x` or `y` (as `tfxai.attacks.pgd`).
        """
        inputs = prepare(model, x, y, clip=self.clip, targeted=False, require_clip=True)
        outputs = self._run(model, inputs.x, inputs.y)
        return BoundarySearchResult(
            points=inputs.restore(outputs["points"]),
            success=outputs["success"],
            distance=outputs["distance"],
            attack=outputs["attack"],
            candidates=self.candidates,
        )

    # -- graph code --------------------------------------------------------------------------

    def search(self, model: Callable, x: tf.Tensor, y: tf.Tensor) -> dict[str, tf.Tensor]:
        """The search as graph code, without validation (for explainers' `tf.function` cores).

        Args:
            model: callable returning logits `[N, K]`.
            x: float32 `[B, *input_shape]` within `clip`, static non-batch shape.
            y: int32 `[B]`, the classes to move away from.

        Returns:
            A dict of `points` float32 `[B, ...]`, `success` bool `[B]`, `distance`
            float32 `[B]` and `attack` int32 `[B]` (see `BoundarySearchResult`).
        """
        clip_min, clip_max = (tf.constant(v, tf.float32) for v in self.clip)
        candidates = self._pgd_ladder(model, x, y, clip_min, clip_max)  # [L, B, ...]
        if "cw_l2" in self.attacks:
            candidates = tf.concat([candidates, self._cw_l2(model, x, y, clip_min, clip_max)[tf.newaxis]], axis=0)
        num_candidates, batch = len(self.candidates), tf.shape(x)[0]
        rows = tf.reshape(candidates, tf.concat([[-1], tf.shape(x)[1:]], 0))  # row a*B + b: [A*B, ...]
        x_rows, y_rows = self._tile(x, num_candidates), tf.tile(y, [num_candidates])
        succeeded = self._adversarial(model, rows, y_rows)  # [A*B]
        rows = self._refine(model, x_rows, y_rows, rows, succeeded)
        distance = tf.reshape(self._distance(rows, x_rows), [num_candidates, batch])  # [A, B]
        succeeded = tf.reshape(succeeded, [num_candidates, batch])
        closest = tf.argmin(tf.where(succeeded, distance, np.inf), axis=0, output_type=tf.int32)  # [B]
        fallback = len(self.epsilons) - 1  # the largest-epsilon PGD row
        attack = tf.where(tf.reduce_any(succeeded, axis=0), closest, fallback)  # [B]
        index = tf.stack([attack, tf.range(batch)], axis=1)  # [B, 2]
        points = tf.gather_nd(tf.reshape(rows, tf.shape(candidates)), index)  # [B, ...]
        return {
            "points": points,
            "success": self._adversarial(model, points, y),
            "distance": tf.gather_nd(distance, index),
            "attack": attack,
        }

    @staticmethod
    def _tile(x: tf.Tensor, times: int) -> tf.Tensor:
        """`[B, ...]` -> `[times*B, ...]`, row `t*B + b` = `x[b]`."""
        return tf.tile(x, tf.concat([[times], tf.ones([tf.rank(x) - 1], tf.int32)], 0))

    @staticmethod
    def _adversarial(model: Callable, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        """bool `[N]`: the prediction at `x` differs from `y`."""
        return tf.not_equal(tf.argmax(model(x, training=False), axis=-1, output_type=tf.int32), y)

    def _distance(self, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        """`||a - b||` per row in `distance_norm`, float32 `[N]`."""
        flat = tf.reshape(a - b, [tf.shape(a)[0], -1])
        return tf.norm(flat, ord=np.inf if self.distance_norm == "inf" else 2, axis=1)

    def _pgd_ladder(
        self, model: Callable, x: tf.Tensor, y: tf.Tensor, clip_min: tf.Tensor, clip_max: tf.Tensor
    ) -> tf.Tensor:
        """PGD at every radius, all in one batch: `[L, B, ...]` (row l*B + b before the reshape)."""
        num_radii, batch = len(self.epsilons), tf.shape(x)[0]
        radii = tf.constant(self.epsilons, tf.float32)  # [L]
        x_rows, y_rows = self._tile(x, num_radii), tf.tile(y, [num_radii])  # [L*B, ...], [L*B]
        eps_rows = tf.repeat(radii, batch)  # [L*B]
        start = x_rows
        if self.random_start:
            # One draw per radius, shared by the examples: the uniform point of an
            # unbounded ball around 0 that `_random_start` samples, shape [L, *input_shape].
            origin = tf.zeros(tf.concat([[num_radii], tf.shape(x)[1:]], 0))
            unbounded = tf.constant(-np.inf), tf.constant(np.inf)
            ball = AttackInputs(origin, tf.zeros([num_radii], tf.int32), *unbounded, False, tf.float32)
            offsets = _random_start(ball, radii, self.pgd_norm, self.seed)  # [L, ...]
            start = tf.clip_by_value(x_rows + tf.repeat(offsets, batch, axis=0), clip_min, clip_max)
        points = _iterate(
            model,
            x_rows,
            y_rows,
            start,
            eps_rows,
            _STEP_FACTOR * eps_rows / self.steps,  # absolute step per row (METHODS §9)
            tf.constant(self.steps),
            tf.constant(0.0),  # no momentum: PGD
            tf.constant(False),  # untargeted
            tf.constant(True),  # early stop: keep each row's first successful iterate
            clip_min,
            clip_max,
            norm=self.pgd_norm,
            loss="ce",
        )
        return tf.reshape(points, tf.concat([[num_radii, batch], tf.shape(x)[1:]], 0))

    def _cw_l2(
        self, model: Callable, x: tf.Tensor, y: tf.Tensor, clip_min: tf.Tensor, clip_max: tf.Tensor
    ) -> tf.Tensor:
        """CW-L2's best successful point per example (x itself where it failed), `[B, ...]`.

        The binary search over c of `tfxai.attacks.cw_l2`, as a `tf.while_loop` around its
        optimisation core: after a step in which an example succeeded `upper = min(upper, c)`,
        else `lower = max(lower, c)`; then `c = (lower + upper) / 2`, or `10 c` while no c
        has succeeded.
        """
        batch = tf.shape(x)[0]

        def body(i, const, lower, upper, best_l2, best_adv):
            best_l2, best_adv, succeeded = _optimize(
                model,
                x,
                y,
                const,
                tf.constant(self.cw_steps),
                tf.constant(self.cw_learning_rate, tf.float32),
                tf.constant(0.0),  # confidence kappa
                tf.constant(False),  # untargeted
                clip_min,
                clip_max,
                best_l2,
                best_adv,
            )
            upper = tf.where(succeeded, tf.minimum(upper, const), upper)
            lower = tf.where(succeeded, lower, tf.maximum(lower, const))
            const = tf.where(upper < _NO_UPPER_BOUND, (lower + upper) / 2.0, const * 10.0)
            return i + 1, const, lower, upper, best_l2, best_adv

        start = (
            tf.constant(0),
            tf.fill([batch], tf.constant(self.cw_initial_const, tf.float32)),
            tf.zeros([batch]),
            tf.fill([batch], tf.constant(_NO_UPPER_BOUND, tf.float32)),
            tf.fill([batch], tf.constant(np.inf, tf.float32)),
            x,
        )
        vector, rows = tf.TensorShape([None]), tf.TensorShape([None]).concatenate(x.shape[1:])
        *_, best_adv = tf.while_loop(
            lambda i, *_: i < self.cw_binary_search_steps,
            body,
            start,
            shape_invariants=(tf.TensorShape([]), vector, vector, vector, vector, rows),
        )
        return best_adv

    def _refine(
        self, model: Callable, x: tf.Tensor, y: tf.Tensor, points: tf.Tensor, succeeded: tf.Tensor
    ) -> tf.Tensor:
        """Bisection on `x + s (points - x)`, s in [0, 1], keeping successful rows adversarial.

        Invariant: the point at `s = high` is adversarial (true at s = 1 for successful
        rows), so the returned `x + high (points - x)` is too; `high` only decreases.
        Unsuccessful rows are returned unchanged. One forward pass per step, all rows at once.
        """
        if self.refine_steps == 0:
            return points
        direction = points - x

        def body(i, low, high):
            middle = (low + high) / 2.0  # [N]
            adversarial = self._adversarial(model, x + per_example(middle, x) * direction, y)
            return i + 1, tf.where(adversarial, low, middle), tf.where(adversarial, middle, high)

        rows = tf.shape(x)[0]
        _, _, high = tf.while_loop(
            lambda i, *_: i < self.refine_steps, body, (tf.constant(0), tf.zeros([rows]), tf.ones([rows]))
        )
        return tf.where(per_example(succeeded, x), x + per_example(high, x) * direction, points)

    # -- config ------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (`BoundarySearch(**config)` inverts it)."""
        return {
            "epsilons": self.epsilons,
            "steps": self.steps,
            "pgd_norm": self.pgd_norm,
            "random_start": self.random_start,
            "attacks": self.attacks,
            "cw_steps": self.cw_steps,
            "cw_learning_rate": self.cw_learning_rate,
            "cw_binary_search_steps": self.cw_binary_search_steps,
            "cw_initial_const": self.cw_initial_const,
            "refine_steps": self.refine_steps,
            "distance_norm": self.distance_norm,
            "clip": self.clip,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BoundarySearch:
        return cls(**config)


def boundary_search(model: Callable, x: Any, y: Any = None, **kwargs: Any) -> BoundarySearchResult:
    """The closest adversarial example of each input found by PGD over an epsilon ladder and CW-L2.

    Shorthand for `BoundarySearch(**kwargs)(model, x, y)`; see `BoundarySearch` for the
    keyword arguments and the module docstring for the algorithm.

    Args:
        model: a Keras model (or callable) mapping `x` to logits `[B, K]`.
        x: float inputs `[B, ...]` within `clip`.
        y: classes to move away from, int `[B]`; `None` = the model's predictions.
            Defaults to `None`.
        **kwargs: the arguments of `BoundarySearch`.

    Returns:
        A `BoundarySearchResult` (`points`, `success`, `distance`, `attack`, `candidates`).

    Example:

    >>> result = tfxai.attacks.boundary_search(model, x, epsilons=(0.05, 0.1, 0.2), steps=50)
    >>> x_prime = result.points[result.success]
    """
    return BoundarySearch(**kwargs)(model, x, y)

"""Iterative gradient attacks, BIM, PGD and MIM, on one shared `tf.function` core.

The three methods differ only in their defaults (random start, momentum, number of
steps), so they share `_iterate`: a `tf.while_loop` over steps of

    g   = grad_x J(x_t) / ||grad_x J(x_t)||_1           (per example)
    m   = mu * m + g                                     (mu = 0: BIM / PGD, mu = 1: MIM)
    x'  = x_t + alpha * sign(m)          (norm="inf")
    x'  = x_t + alpha * m / ||m||_2      (norm="2")
    x_{t+1} = clip(x + Proj_eps(x' - x))

where J is the attack objective (`_common.objective`). With mu = 0 the L1 normalisation
changes neither the sign nor the L2 direction, so BIM and PGD are exactly the methods of
Kurakin et al. and Madry et al.; with mu = 1 it is MI-FGSM (Dong et al., Eq. 6-7).

The core is traced per model, `norm` and `loss`, and per input shape until a second
batch size relaxes the batch dimension (`reduce_retracing`); every numeric
hyper-parameter and flag is passed as a tensor, so new values of epsilon, step size,
step count, momentum, `targeted` or `early_stop` never retrace.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import tensorflow as tf

from tfxai.attacks._common import (
    LOSSES,
    TINY,
    AttackInputs,
    check_bool,
    check_choice,
    check_epsilon,
    check_norm,
    check_number,
    check_seed,
    finish,
    l2_norm,
    objective,
    per_example,
    prepare,
    project,
    reduce_per_example,
    still_active,
)

AttackOutput = tf.Tensor | tuple[tf.Tensor, tf.Tensor]


def _random_start(inputs: AttackInputs, epsilon: tf.Tensor, norm: str, seed: int) -> tf.Tensor:
    """A uniform random point of the eps-ball around `x` (then clipped), from a stateless seed.

    L2: a Gaussian direction scaled by `eps * u^(1/d)`, u ~ U[0, 1], which is uniform in the
    ball (Calafiore et al., 1998).
    """
    x = inputs.x
    eps = per_example(epsilon, x)
    seeds = tf.random.experimental.stateless_split(tf.constant([seed, 0], tf.int64), num=2)
    if norm == "inf":
        delta = eps * tf.random.stateless_uniform(tf.shape(x), seeds[0], minval=-1.0, maxval=1.0)
    else:
        direction = tf.random.stateless_normal(tf.shape(x), seeds[0])
        dim = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
        radius = tf.random.stateless_uniform(tf.shape(epsilon), seeds[1]) ** (1.0 / dim)
        delta = eps * per_example(radius, x) * direction / l2_norm(direction)
    return tf.clip_by_value(x + delta, inputs.clip_min, inputs.clip_max)


@tf.function(reduce_retracing=True)
def _iterate(
    model: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    x_start: tf.Tensor,
    epsilon: tf.Tensor,
    step_size: tf.Tensor,
    steps: tf.Tensor,
    decay_factor: tf.Tensor,
    targeted: tf.Tensor,
    early_stop: tf.Tensor,
    clip_min: tf.Tensor,
    clip_max: tf.Tensor,
    *,
    norm: str,
    loss: str,
) -> tf.Tensor:
    """The shared core: `steps` projected (momentum) ascent steps on the attack objective.

    Args:
        model: callable returning logits.
        x: clean inputs `[B, ...]`; the centre of the eps-ball.
        y: int32 labels (targets when `targeted`) `[B]`.
        x_start: the first iterate `[B, ...]` (x, or a random point of the ball).
        epsilon: ball radius per example `[B]`.
        step_size: step size per example `[B]` (alpha).
        steps: int32 scalar, the number of iterations.
        decay_factor: float32 scalar, the momentum mu (0 disables momentum).
        targeted: bool scalar.
        early_stop: bool scalar; rows that already succeed stop moving.
        clip_min: float32 scalar lower input bound.
        clip_max: float32 scalar upper input bound.
        norm: `"inf"` or `"2"` (static: selects the step and the projection).
        loss: `"ce"` or `"margin"` (static).

    Returns:
        The last iterate `[B, ...]`; with `early_stop`, the first successful iterate of
        rows that succeeded.
    """
    eps = per_example(epsilon, x)  # [B, 1, ..., 1]
    alpha = per_example(step_size, x)  # [B, 1, ..., 1]

    def keep_going(i, x_adv, momentum, active):
        return tf.logical_and(i < steps, tf.reduce_any(active))

    def step(i, x_adv, momentum, active):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            logits = model(x_adv, training=False)  # [B, K]
            value = objective(logits, y, loss, targeted)  # [B]
        grad = tape.gradient(value, x_adv)  # [B, ...]; rows are independent (sum over the batch)
        active = still_active(active, early_stop, logits, y, targeted)
        grad = grad / tf.maximum(reduce_per_example(tf.reduce_sum, tf.abs(grad)), TINY)
        momentum = decay_factor * momentum + grad
        if norm == "inf":
            direction = tf.sign(momentum)
        else:
            direction = momentum / l2_norm(momentum)
        x_next = project(x, x_adv + alpha * direction, eps, clip_min, clip_max, norm)
        x_adv = tf.where(per_example(active, x), x_next, x_adv)
        return i + 1, x_adv, momentum, active

    active = tf.ones(tf.shape(x)[:1], tf.bool)
    _, x_adv, _, _ = tf.while_loop(
        keep_going, step, (tf.constant(0), x_start, tf.zeros_like(x), active), parallel_iterations=1
    )
    return x_adv


def run_iterative(
    model: Callable,
    x: Any,
    y: Any,
    *,
    epsilon: Any,
    step_size: float | None,
    steps: int,
    norm: Any,
    decay_factor: float,
    random_start: bool,
    clip: Any,
    targeted: bool,
    seed: int | None,
    return_success: bool,
    early_stop: bool,
    loss: str,
) -> AttackOutput:
    """Validates the arguments of a gradient attack and runs the shared core.

    `step_size=None` takes one step of size epsilon per example (FGSM). See `pgd` for the
    arguments.
    """
    inputs = prepare(model, x, y, clip=clip, targeted=targeted)
    norm = check_norm(norm)
    loss = check_choice("loss", loss, LOSSES)
    batch_size = int(inputs.x.shape[0])
    eps = check_epsilon(epsilon, batch_size)
    if step_size is None:
        alpha = eps
    else:
        alpha = tf.fill([batch_size], check_number("step_size", step_size, strictly_positive=True))
    steps = check_number("steps", steps, minimum=1, integer=True)
    decay_factor = check_number("decay_factor", decay_factor, minimum=0.0)
    seed = check_seed(seed)
    return_success = check_bool("return_success", return_success)
    early_stop = check_bool("early_stop", early_stop)
    x_start = _random_start(inputs, eps, norm, seed) if check_bool("random_start", random_start) else inputs.x
    x_adv = _iterate(
        model,
        inputs.x,
        inputs.y,
        x_start,
        eps,
        alpha,
        tf.constant(steps),
        tf.constant(decay_factor, tf.float32),
        tf.constant(inputs.targeted),
        tf.constant(early_stop),
        inputs.clip_min,
        inputs.clip_max,
        norm=norm,
        loss=loss,
    )
    return finish(model, inputs, x_adv, return_success)


def pgd(
    model: Callable,
    x: Any,
    y: Any = None,
    *,
    epsilon: float | np.ndarray = 0.3,
    step_size: float = 0.01,
    steps: int = 40,
    norm: str = "inf",
    random_start: bool = True,
    clip: tuple[float, float] | None = (0.0, 1.0),
    targeted: bool = False,
    seed: int | None = 0,
    return_success: bool = False,
    early_stop: bool = False,
    loss: str = "ce",
) -> AttackOutput:
    """Projected gradient descent (PGD) attack of Madry et al. (2017).

    Starts from a uniform random point of the eps-ball around `x` and takes `steps` steps
    of size `step_size` along the sign of the loss gradient (`norm="inf"`) or the
    L2-normalised gradient (`norm="2"`), projecting back onto the eps-ball and the `clip`
    box after every step. The defaults are those of the PC-loss paper's white-box protocol
    (40 iterations, step 0.01, inputs in [0, 1]).

    Args:
        model: a Keras model (or callable) mapping `x` to logits `[B, K]`.
        x: float inputs `[B, ...]` on the model's input scale, within `clip`.
        y: integer labels `[B]` (or one-hot `[B, K]`). For targeted attacks, the target
            classes. `None` attacks the model's own predictions (untargeted only), which
            avoids label leaking (Kurakin et al., 2016b). Defaults to `None`.
        epsilon: radius of the perturbation ball in `norm`, on the input scale; a float or
            one value per example `[B]`. Defaults to `0.3`.
        step_size: step size per iteration (alpha). Defaults to `0.01`.
        steps: number of iterations. Defaults to `40`.
        norm: `"inf"` (sign steps, box projection) or `"2"` (L2-normalised steps per
            example, L2-ball projection); `np.inf` and `2` are accepted. Defaults to `"inf"`.
        random_start: start from a uniform random point of the ball (Madry et al.)
            rather than from `x`. Defaults to `True`.
        clip: `(min, max)` bounds of valid inputs, or `None` for unbounded inputs.
            Defaults to `(0.0, 1.0)`.
        targeted: move towards class `y` instead of away from it. Defaults to `False`.
        seed: seed of the random start; the same seed gives the same result on CPU.
            `None` draws a fresh seed. Defaults to `0`.
        return_success: also return the success mask. Defaults to `False`.
        early_stop: rows that already succeed stop moving (their first successful iterate
            is returned); the loop ends when all rows succeed. Defaults to `False`.
        loss: attack objective: `"ce"` (sparse cross-entropy on the logits) or `"margin"`
            (C&W logit margin `max_{j != y} z_j - z_y`). Defaults to `"ce"`.

    Returns:
        `x_adv` with the shape and dtype of `x`, a `tf.Tensor`. With `return_success=True`,
        `(x_adv, success)` where `success` is a bool tensor `[B]`: the prediction on
        `x_adv` differs from `y` (untargeted) or equals `y` (targeted). Inputs that are
        already misclassified count as successes of an untargeted attack.

    Raises:
        TypeError: `x` is not floating point, `y` not integer, or a flag not a bool.
        ValueError: bad shapes, non-finite `x`, `x` outside `clip`, labels out of range,
            `epsilon < 0`, `step_size <= 0`, `steps < 1`, or an unknown `norm` / `loss`.

    Example:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> x = np.full((2, 4), 0.5, "float32")
    >>> x_adv = tfxai.attacks.pgd(model, x, [0, 1], epsilon=0.1, steps=5)
    >>> bool(np.all(np.abs(x_adv - x) <= 0.1 + 1e-6))
    True

    Reference:
        [Madry et al., 2017](https://arxiv.org/abs/1706.06083), Eq. (2.1).
    """
    return run_iterative(
        model,
        x,
        y,
        epsilon=epsilon,
        step_size=step_size,
        steps=steps,
        norm=norm,
        decay_factor=0.0,
        random_start=random_start,
        clip=clip,
        targeted=targeted,
        seed=seed,
        return_success=return_success,
        early_stop=early_stop,
        loss=loss,
    )


def bim(
    model: Callable,
    x: Any,
    y: Any = None,
    *,
    epsilon: float | np.ndarray = 0.3,
    step_size: float = 0.01,
    steps: int = 10,
    norm: str = "inf",
    clip: tuple[float, float] | None = (0.0, 1.0),
    targeted: bool = False,
    return_success: bool = False,
    early_stop: bool = False,
    loss: str = "ce",
) -> AttackOutput:
    """Basic iterative method (BIM, I-FGSM) of Kurakin et al. (2016).

    PGD without the random start: `steps` projected sign steps from `x` itself. Defaults
    follow the PC-loss paper: 10 iterations of step 0.01 (so at most 0.1 of movement per
    coordinate, whatever `epsilon`).

    Args:
        steps: number of iterations. Defaults to `10`.
        Other arguments are those of `pgd`.

    Returns:
        As `pgd`.

    Raises:
        As `pgd`.

    Reference:
        [Kurakin et al., 2016](https://arxiv.org/abs/1607.02533), Eq. (1).
    """
    return run_iterative(
        model,
        x,
        y,
        epsilon=epsilon,
        step_size=step_size,
        steps=steps,
        norm=norm,
        decay_factor=0.0,
        random_start=False,
        clip=clip,
        targeted=targeted,
        seed=0,
        return_success=return_success,
        early_stop=early_stop,
        loss=loss,
    )


def mim(
    model: Callable,
    x: Any,
    y: Any = None,
    *,
    epsilon: float | np.ndarray = 0.3,
    step_size: float = 0.01,
    steps: int = 40,
    decay_factor: float = 1.0,
    norm: str = "inf",
    clip: tuple[float, float] | None = (0.0, 1.0),
    targeted: bool = False,
    return_success: bool = False,
    early_stop: bool = False,
    loss: str = "ce",
) -> AttackOutput:
    """Momentum iterative method (MIM, MI-FGSM) of Dong et al. (2018).

    Accumulates the L1-normalised gradients in a momentum term `m = mu * m + g / ||g||_1`
    and steps along `sign(m)` (or `m / ||m||_2` for `norm="2"`), projecting as `pgd` does.
    Starts from `x`. Defaults follow the PC-loss paper: mu = 1.0, 40 iterations of step 0.01.

    Args:
        decay_factor: the momentum decay mu (`decay_factor=0` gives BIM). Defaults to `1.0`.
        Other arguments are those of `pgd`.

    Returns:
        As `pgd`.

    Raises:
        As `pgd`; also `ValueError` for `decay_factor < 0`.

    Reference:
        [Dong et al., 2018](https://arxiv.org/abs/1710.06081), Algorithm 1 and Eq. (6)-(7).
    """
    return run_iterative(
        model,
        x,
        y,
        epsilon=epsilon,
        step_size=step_size,
        steps=steps,
        norm=norm,
        decay_factor=decay_factor,
        random_start=False,
        clip=clip,
        targeted=targeted,
        seed=0,
        return_success=return_success,
        early_stop=early_stop,
        loss=loss,
    )

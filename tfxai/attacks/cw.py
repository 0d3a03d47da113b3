"""Carlini & Wagner L2 attack (C&W-L2)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import tensorflow as tf

from tfxai.attacks._common import (
    adam_step,
    check_bool,
    check_number,
    logit_margin,
    per_example,
    prepare,
)

# Upper bound of the constant c meaning "no successful c seen yet" (as the reference code).
_NO_UPPER_BOUND = 1e10
# Keeps atanh finite on the box boundary (Carlini & Wagner's reference code).
_ATANH_SHRINK = 1.0 - 1e-6


def _from_tanh_space(w: tf.Tensor, clip_min: tf.Tensor, clip_max: tf.Tensor) -> tf.Tensor:
    """x = min + (max - min) * (tanh(w) + 1) / 2: every w maps into the box."""
    return clip_min + (clip_max - clip_min) * (tf.tanh(w) + 1.0) / 2.0


def _to_tanh_space(x: tf.Tensor, clip_min: tf.Tensor, clip_max: tf.Tensor) -> tf.Tensor:
    """Inverse of `_from_tanh_space`, shrunk by 1e-6 so that box-boundary inputs stay finite."""
    return tf.atanh((2.0 * (x - clip_min) / (clip_max - clip_min) - 1.0) * _ATANH_SHRINK)


@tf.function(reduce_retracing=True)
def _optimize(
    model: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    const: tf.Tensor,
    steps: tf.Tensor,
    learning_rate: tf.Tensor,
    confidence: tf.Tensor,
    targeted: tf.Tensor,
    clip_min: tf.Tensor,
    clip_max: tf.Tensor,
    best_l2: tf.Tensor,
    best_adv: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One binary-search step: Adam on w for `steps` steps with the per-example constant c.

    Minimises `||x_adv - x||_2^2 + c * max(kappa - margin(x_adv), 0)` (Carlini & Wagner,
    Eq. (7) with f6), where `margin` is the adversary's logit margin, and keeps for each
    example the successful iterate with the smallest squared L2 distance.

    Args:
        const: c per example `[B]`.
        best_l2: best squared L2 distance so far `[B]` (`inf` where none succeeded).
        best_adv: the corresponding adversarial examples `[B, ...]`.
        Other arguments as `cw_l2` (as tensors).

    Returns:
        `(best_l2, best_adv, succeeded)`; `succeeded` `[B]` says whether this search step
        found a successful iterate.
    """
    w_start = _to_tanh_space(x, clip_min, clip_max)
    zeros = tf.zeros_like(x)

    def step(i, w, m, v, best_l2, best_adv, succeeded):
        with tf.GradientTape() as tape:
            tape.watch(w)
            x_adv = _from_tanh_space(w, clip_min, clip_max)
            logits = model(x_adv, training=False)  # [B, K]
            margin = logit_margin(logits, y)  # [B]: > 0 iff the top class is not y
            margin = tf.where(targeted, -margin, margin)  # the adversary's margin
            l2 = tf.reduce_sum(tf.square(x_adv - x), axis=tf.range(1, tf.rank(x)))  # [B], squared
            total = l2 + const * tf.nn.relu(confidence - margin)  # [B]
        grad = tape.gradient(total, w)
        better = tf.logical_and(margin > confidence, l2 < best_l2)  # [B]
        best_l2 = tf.where(better, l2, best_l2)
        best_adv = tf.where(per_example(better, x), x_adv, best_adv)
        succeeded = tf.logical_or(succeeded, margin > confidence)
        w, m, v = adam_step(w, grad, m, v, tf.cast(i + 1, tf.float32), learning_rate)
        return i + 1, w, m, v, best_l2, best_adv, succeeded

    loop_vars = (tf.constant(0), w_start, zeros, zeros, best_l2, best_adv, tf.zeros_like(best_l2, tf.bool))
    _, _, _, _, best_l2, best_adv, succeeded = tf.while_loop(
        lambda i, *_: i < steps, step, loop_vars, parallel_iterations=1
    )
    return best_l2, best_adv, succeeded


def cw_l2(
    model: Callable,
    x: Any,
    y: Any = None,
    *,
    confidence: float = 0.0,
    steps: int = 100,
    learning_rate: float = 0.001,
    binary_search_steps: int = 9,
    initial_const: float = 1e-3,
    clip: tuple[float, float] = (0.0, 1.0),
    targeted: bool = False,
    return_success: bool = False,
    return_distance: bool = False,
) -> tf.Tensor | tuple[tf.Tensor, ...]:
    """Carlini & Wagner's L2 attack (2017).

    Searches the smallest L2 perturbation that makes the model misclassify, by minimising
    `||x_adv - x||_2^2 + c * max(z_y - max_{j != y} z_j + kappa, 0)` over the change of
    variable `x_adv = min + (max - min) * (tanh(w) + 1) / 2` with Adam (targeted:
    `max(max_{j != t} z_j - z_t + kappa, 0)`). A binary search over the constant c, per
    example, keeps the best (smallest L2) successful example found at any step.

    Args:
        model: a Keras model (or callable) mapping `x` to logits `[B, K]`.
        x: float inputs `[B, ...]` within `clip`.
        y: integer labels `[B]` (or one-hot); targets when `targeted`; `None` attacks the
            model's predictions. Defaults to `None`.
        confidence: the margin kappa an adversarial example must reach (logit units).
            Defaults to `0.0`.
        steps: Adam iterations per binary-search step. Defaults to `100` (PC-loss paper).
        learning_rate: Adam learning rate in w (tanh) space. Defaults to `0.001` (PC-loss
            paper). See Notes: this is weak on [0, 1] inputs.
        binary_search_steps: number of values of c tried per example. Defaults to `9`.
        initial_const: the first c. Defaults to `1e-3`.
        clip: `(min, max)` input bounds; required (the tanh change of variable needs a
            bounded box). Defaults to `(0.0, 1.0)`.
        targeted: reach class `y` instead of leaving it. Defaults to `False`.
        return_success: also return the success mask `[B]`. Defaults to `False`.
        return_distance: also return the L2 distance `||x_adv - x||_2` `[B]`, `inf` where
            the attack failed. Defaults to `False`.

    Returns:
        `x_adv` (shape and dtype of `x`; `x` itself where no adversarial example was
        found), followed by `success` (bool `[B]`) if `return_success` and the distances
        (float32 `[B]`) if `return_distance`, as a tuple.

    Raises:
        TypeError, ValueError: invalid arguments (see `tfxai.attacks.pgd`), `clip=None`,
        `confidence < 0`, `learning_rate <= 0`, `initial_const <= 0`, `steps < 1` or
        `binary_search_steps < 1`.

    Notes:
        The binary search follows the reference implementation: after a step in which an
        example succeeded, `upper = min(upper, c)`; otherwise `lower = max(lower, c)`;
        then `c = (lower + upper) / 2`, or `c *= 10` while no c has succeeded. Adam restarts
        from `x` at every search step. Defaults are the PC-loss paper's (100 steps, lr
        0.001, kappa 0) with the search settings of advertorch, which the paper's authors
        used (9 search steps, initial c 1e-3). With lr 0.001 and 100 steps w moves by about
        0.1 at most, so a coordinate of x moves by at most ~0.05, and pixels at exactly 0 or
        1 (tanh saturated) hardly move at all: expect low success on MNIST-like data. For
        a strong attack use e.g. `learning_rate=0.01`, `steps=1000` (Carlini & Wagner use
        lr 0.01 and 10,000 steps). There is no abort-early test.
        Success means the adversary's logit margin exceeds kappa, which for kappa = 0 is a
        changed prediction (untargeted) or the target class (targeted).

    Reference:
        [Carlini & Wagner, 2017](https://arxiv.org/abs/1608.04644), Section V-A and VI.
    """
    inputs = prepare(model, x, y, clip=clip, targeted=targeted, require_clip=True)
    confidence = check_number("confidence", confidence, minimum=0.0)
    steps = check_number("steps", steps, minimum=1, integer=True)
    learning_rate = check_number("learning_rate", learning_rate, strictly_positive=True)
    binary_search_steps = check_number("binary_search_steps", binary_search_steps, minimum=1, integer=True)
    initial_const = check_number("initial_const", initial_const, strictly_positive=True)
    return_success = check_bool("return_success", return_success)
    return_distance = check_bool("return_distance", return_distance)

    batch_size = int(inputs.x.shape[0])
    const = tf.fill([batch_size], tf.constant(initial_const, tf.float32))
    lower = tf.zeros([batch_size])
    upper = tf.fill([batch_size], _NO_UPPER_BOUND)
    best_l2 = tf.fill([batch_size], tf.constant(np.inf, tf.float32))
    best_adv = inputs.x
    for _ in range(binary_search_steps):
        best_l2, best_adv, succeeded = _optimize(
            model,
            inputs.x,
            inputs.y,
            const,
            tf.constant(steps),
            tf.constant(learning_rate, tf.float32),
            tf.constant(confidence, tf.float32),
            tf.constant(inputs.targeted),
            inputs.clip_min,
            inputs.clip_max,
            best_l2,
            best_adv,
        )
        upper = tf.where(succeeded, tf.minimum(upper, const), upper)
        lower = tf.where(succeeded, lower, tf.maximum(lower, const))
        const = tf.where(upper < _NO_UPPER_BOUND, (lower + upper) / 2.0, const * 10.0)

    success = tf.math.is_finite(best_l2)
    outputs = (inputs.restore(best_adv),)
    if return_success:
        outputs += (success,)
    if return_distance:
        outputs += (tf.sqrt(best_l2),)
    return outputs[0] if len(outputs) == 1 else outputs

"""SPSA: a gradient-free L-infinity attack (Uesato et al., 2018)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import tensorflow as tf

from tfxai.attacks._common import (
    LOSSES,
    adam_step,
    check_bool,
    check_choice,
    check_epsilon,
    check_number,
    check_seed,
    finish,
    objective,
    per_example,
    prepare,
    project,
    still_active,
)
from tfxai.attacks.iterative import AttackOutput


def _estimate_gradient(
    model: Callable,
    x_adv: tf.Tensor,
    y: tf.Tensor,
    targeted: tf.Tensor,
    delta: tf.Tensor,
    num_samples: tf.Tensor,
    samples_per_call: tf.Tensor,
    seed: tf.Tensor,
    loss: str,
) -> tf.Tensor:
    """SPSA estimate of the objective's gradient at `x_adv` `[B, ...]` (Uesato et al., Alg. 1).

    `mean_k (J(x + delta v_k) - J(x - delta v_k)) / (2 delta) * v_k` over `num_samples`
    Rademacher directions `v_k` per example. The directions are processed
    `samples_per_call` at a time, i.e. `2 * samples_per_call * B` rows per model call,
    and summed into one `[B, ...]` accumulator.
    """
    batch_size = tf.shape(x_adv)[0]
    num_calls = (num_samples + samples_per_call - 1) // samples_per_call

    def call(c, total):
        count = tf.minimum(samples_per_call, num_samples - c * samples_per_call)
        shape = tf.concat([[count], tf.shape(x_adv)], 0)  # [S, B, ...]
        bits = tf.random.stateless_uniform(
            shape, tf.random.experimental.stateless_fold_in(seed, c), minval=0, maxval=2, dtype=tf.int32
        )
        v = 2.0 * tf.cast(bits, x_adv.dtype) - 1.0  # Rademacher, [S, B, ...]
        rows = tf.concat([x_adv + delta * v, x_adv - delta * v], 0)  # [2S, B, ...]
        rows = tf.reshape(rows, tf.concat([[-1], tf.shape(x_adv)[1:]], 0))  # [2S * B, ...]
        logits = model(rows, training=False)  # [2S * B, K]
        values = objective(logits, tf.tile(y, [2 * count]), loss, targeted)  # [2S * B]
        values = tf.reshape(values, [2, count, batch_size])
        slopes = (values[0] - values[1]) / (2.0 * delta)  # [S, B]
        return c + 1, total + tf.reduce_sum(per_example(slopes, x_adv) * v, axis=0)

    _, total = tf.while_loop(lambda c, _: c < num_calls, call, (tf.constant(0), tf.zeros_like(x_adv)))
    return total / tf.cast(num_samples, x_adv.dtype)


@tf.function(reduce_retracing=True)
def _spsa(
    model: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    epsilon: tf.Tensor,
    steps: tf.Tensor,
    learning_rate: tf.Tensor,
    delta: tf.Tensor,
    num_samples: tf.Tensor,
    samples_per_call: tf.Tensor,
    seed: tf.Tensor,
    targeted: tf.Tensor,
    early_stop: tf.Tensor,
    clip_min: tf.Tensor,
    clip_max: tf.Tensor,
    *,
    loss: str,
) -> tf.Tensor:
    """`steps` Adam ascent steps on the SPSA gradient estimate, projected onto the L-inf ball."""
    eps = per_example(epsilon, x)  # [B, 1, ..., 1]

    def keep_going(i, x_adv, m, v, active):
        return tf.logical_and(i < steps, tf.reduce_any(active))

    def step(i, x_adv, m, v, active):
        active = still_active(active, early_stop, model(x_adv, training=False), y, targeted)
        step_seed = tf.random.experimental.stateless_fold_in(seed, i)
        grad = _estimate_gradient(model, x_adv, y, targeted, delta, num_samples, samples_per_call, step_seed, loss)
        x_next, m, v = adam_step(x_adv, -grad, m, v, tf.cast(i + 1, tf.float32), learning_rate)
        x_next = project(x, x_next, eps, clip_min, clip_max, "inf")
        x_adv = tf.where(per_example(active, x), x_next, x_adv)
        return i + 1, x_adv, m, v, active

    zeros = tf.zeros_like(x)
    active = tf.ones(tf.shape(x)[:1], tf.bool)
    _, x_adv, _, _, _ = tf.while_loop(keep_going, step, (tf.constant(0), x, zeros, zeros, active))
    return x_adv


def spsa(
    model: Callable,
    x: Any,
    y: Any = None,
    *,
    epsilon: float | np.ndarray = 0.3,
    steps: int = 10,
    learning_rate: float = 0.01,
    delta: float = 0.01,
    num_samples: int = 128,
    internal_batch_size: int | None = 4096,
    clip: tuple[float, float] | None = (0.0, 1.0),
    targeted: bool = False,
    seed: int | None = 0,
    return_success: bool = False,
    early_stop: bool = False,
    loss: str = "margin",
) -> AttackOutput:
    """SPSA attack of Uesato et al. (2018): L-infinity PGD on a gradient-free estimate.

    At each step the gradient of the attack objective is estimated from model outputs
    only, by simultaneous perturbation stochastic approximation with `num_samples`
    Rademacher directions v per example evaluated at `x +- delta * v`; an Adam step
    (lr `learning_rate`) follows, then projection onto the eps-ball and the `clip` box.
    Examples and samples are batched together.

    Args:
        model: a Keras model (or callable) mapping `x` to logits `[B, K]`; only its
            outputs are used.
        x: float inputs `[B, ...]` within `clip`.
        y: integer labels `[B]` (or one-hot); targets when `targeted`; `None` attacks the
            model's predictions. Defaults to `None`.
        epsilon: L-infinity radius, a float or one per example `[B]`. Defaults to `0.3`.
        steps: number of Adam steps. Defaults to `10`.
        learning_rate: Adam learning rate. Defaults to `0.01` (PC-loss paper).
        delta: finite-difference step delta. Defaults to `0.01` (PC-loss paper).
        num_samples: Rademacher directions per example and step (each evaluated twice).
            Defaults to `128`.
        internal_batch_size: the most rows (examples x evaluations) per model call; at
            least one direction for the whole batch is evaluated per call. `None` puts all
            `2 * num_samples * B` rows in one call. Defaults to `4096`.
        clip: `(min, max)` input bounds or `None`. Defaults to `(0.0, 1.0)`.
        targeted: move towards class `y`. Defaults to `False`.
        seed: seed of the random directions; the same seed, shapes and
            `internal_batch_size` give the same result on CPU. `None` draws a fresh seed.
            Defaults to `0`.
        return_success: also return the success mask `[B]`. Defaults to `False`.
        early_stop: rows that already succeed stop moving. Defaults to `False`.
        loss: `"margin"` (the logit margin of Uesato et al., also the default of the
            cleverhans and advertorch implementations) or `"ce"`. Defaults to `"margin"`.

    Returns:
        As `tfxai.attacks.pgd`: `x_adv`, or `(x_adv, success)`.

    Raises:
        As `tfxai.attacks.pgd`; also `ValueError` for `delta <= 0`, `learning_rate <= 0`,
        `num_samples < 1` or `internal_batch_size < 1`.

    Notes:
        Unlike the reference implementations (batch of one example), all examples are
        attacked at once; their estimates are independent. No random start, as in
        advertorch, which the PC-loss paper's authors used. Each step costs
        `2 * num_samples + 1` forward passes per example and no backward pass.

    Reference:
        [Uesato et al., 2018](https://arxiv.org/abs/1802.05666), Section 3.1 and Algorithm 1.
    """
    inputs = prepare(model, x, y, clip=clip, targeted=targeted)
    batch_size = int(inputs.x.shape[0])
    eps = check_epsilon(epsilon, batch_size)
    steps = check_number("steps", steps, minimum=1, integer=True)
    learning_rate = check_number("learning_rate", learning_rate, strictly_positive=True)
    delta = check_number("delta", delta, strictly_positive=True)
    num_samples = check_number("num_samples", num_samples, minimum=1, integer=True)
    if internal_batch_size is None:
        samples_per_call = num_samples
    else:
        internal_batch_size = check_number("internal_batch_size", internal_batch_size, minimum=1, integer=True)
        samples_per_call = max(1, internal_batch_size // (2 * batch_size))
    seed = check_seed(seed)
    return_success = check_bool("return_success", return_success)
    early_stop = check_bool("early_stop", early_stop)
    loss = check_choice("loss", loss, LOSSES)
    x_adv = _spsa(
        model,
        inputs.x,
        inputs.y,
        eps,
        tf.constant(steps),
        tf.constant(learning_rate, tf.float32),
        tf.constant(delta, tf.float32),
        tf.constant(num_samples),
        tf.constant(min(samples_per_call, num_samples)),
        tf.constant([seed, 0], tf.int64),
        tf.constant(inputs.targeted),
        tf.constant(early_stop),
        inputs.clip_min,
        inputs.clip_max,
        loss=loss,
    )
    return finish(model, inputs, x_adv, return_success)

"""Fast gradient sign method (FGSM) and its L2 variant, the fast gradient method."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tfxai.attacks.iterative import AttackOutput, run_iterative


def fgsm(
    model: Callable,
    x: Any,
    y: Any = None,
    *,
    epsilon: float | np.ndarray = 0.3,
    norm: str = "inf",
    clip: tuple[float, float] | None = (0.0, 1.0),
    targeted: bool = False,
    return_success: bool = False,
    loss: str = "ce",
) -> AttackOutput:
    """Fast gradient sign method (FGSM) of Goodfellow et al. (2014).

    One step of size epsilon along the gradient of the loss:

        x_adv = clip(x + epsilon * sign(grad_x J(x, y)))          (norm="inf")
        x_adv = clip(x + epsilon * grad / ||grad||_2)             (norm="2", per example)

    Targeted attacks step down the loss of the target class `y` instead. FGSM is the
    one-step special case of the shared iterative core (`pgd` with `steps=1`,
    `step_size=epsilon` and no random start).

    Args:
        model: a Keras model (or callable) mapping `x` to logits `[B, K]`.
        x: float inputs `[B, ...]` on the model's input scale, within `clip`.
        y: integer labels `[B]` (or one-hot); targets when `targeted`; `None` attacks the
            model's predictions. Defaults to `None`.
        epsilon: step size and perturbation budget, a float or one per example `[B]`.
            Defaults to `0.3`.
        norm: `"inf"` or `"2"`. Defaults to `"inf"`.
        clip: `(min, max)` input bounds or `None`. Defaults to `(0.0, 1.0)`.
        targeted: move towards class `y`. Defaults to `False`.
        return_success: also return the success mask `[B]`. Defaults to `False`.
        loss: `"ce"` or `"margin"`. Defaults to `"ce"`.

    Returns:
        As `tfxai.attacks.pgd`: `x_adv`, or `(x_adv, success)`.

    Raises:
        As `tfxai.attacks.pgd`.

    Reference:
        [Goodfellow et al., 2014](https://arxiv.org/abs/1412.6572), Section 4.
    """
    return run_iterative(
        model,
        x,
        y,
        epsilon=epsilon,
        step_size=None,
        steps=1,
        norm=norm,
        decay_factor=0.0,
        random_start=False,
        clip=clip,
        targeted=targeted,
        seed=0,
        return_success=return_success,
        early_stop=False,
        loss=loss,
    )

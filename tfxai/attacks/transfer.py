"""Black-box transfer attacks: craft on a substitute model, evaluate on the target."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np
import tensorflow as tf

from tfxai.attacks._common import is_success, prepare
from tfxai.attacks.cw import cw_l2
from tfxai.attacks.fgsm import fgsm
from tfxai.attacks.iterative import bim, mim, pgd
from tfxai.attacks.spsa import spsa

ATTACKS: dict[str, Callable] = {"fgsm": fgsm, "bim": bim, "pgd": pgd, "mim": mim, "cw_l2": cw_l2, "spsa": spsa}


class TransferResult(NamedTuple):
    """The outcome of `transfer`.

    Attributes:
        x_adv: adversarial examples crafted on the substitute, shape and dtype of `x`.
        success: bool `[B]`, the attack succeeds on the target (prediction differs from
            `y`; targeted: equals `y`).
        success_rate: mean of `success`.
        accuracy: the target's accuracy on `x_adv` w.r.t. `y` for untargeted attacks
            (`1 - success_rate`); `None` for targeted attacks, where `y` holds targets.
        substitute_success_rate: the success rate on the substitute itself (white-box).
    """

    x_adv: tf.Tensor
    success: tf.Tensor
    success_rate: float
    accuracy: float | None
    substitute_success_rate: float


def transfer(
    substitute: Callable,
    target: Callable,
    x: Any,
    y: Any,
    *,
    attack: str | Callable = "pgd",
    **attack_kwargs: Any,
) -> TransferResult:
    """Transfer attack (Papernot et al., 2017): craft on `substitute`, evaluate on `target`.

    The adversary only queries the target for the final evaluation; the adversarial
    examples come from a white-box attack on a substitute model trained on the same task
    (the PC-loss paper's black-box protocol uses PGD and MIM on a substitute CNN).

    Args:
        substitute: the model the attack differentiates, mapping `x` to logits.
        target: the attacked model, mapping `x` to logits over the same classes.
        x: float inputs `[B, ...]`.
        y: integer labels `[B]` (or one-hot); target classes when the attack is targeted.
        attack: a name in `tfxai.attacks.transfer.ATTACKS` (`"fgsm"`, `"bim"`, `"pgd"`,
            `"mim"`, `"cw_l2"`, `"spsa"`) or a callable `attack(model, x, y, **kwargs)`
            returning `(x_adv, success)` when called with `return_success=True`.
            Defaults to `"pgd"`.
        **attack_kwargs: keyword arguments of the attack (`epsilon`, `targeted`, ...).

    Returns:
        A `TransferResult`.

    Raises:
        TypeError: `attack` is neither a known name nor callable, or invalid tensors.
        ValueError: invalid arguments, `return_success` in `attack_kwargs`, or a target
            whose outputs do not fit `x` / `y`.

    Reference:
        [Papernot et al., 2017](https://arxiv.org/abs/1602.02697), Section 4.
    """
    if isinstance(attack, str):
        if attack not in ATTACKS:
            raise ValueError(
                f"Invalid value for argument `attack`. Expected one of {tuple(ATTACKS)} or a callable. "
                f"Received: attack={attack!r}"
            )
        attack = ATTACKS[attack]
    elif not callable(attack):
        raise TypeError(
            f"Invalid value for argument `attack`. Expected one of {tuple(ATTACKS)} or a callable. "
            f"Received: attack={attack!r}"
        )
    if "return_success" in attack_kwargs:
        raise ValueError("`return_success` is set by `transfer`. Received: return_success in attack_kwargs")
    targeted = attack_kwargs.get("targeted", False)
    evaluation = prepare(target, x, y, clip=None, targeted=targeted)
    x_adv, substitute_success = attack(substitute, x, y, return_success=True, **attack_kwargs)
    logits = target(tf.cast(x_adv, tf.float32), training=False)
    success = is_success(logits, evaluation.y, tf.constant(evaluation.targeted))
    success_rate = float(np.mean(success))
    return TransferResult(
        x_adv=x_adv,
        success=success,
        success_rate=success_rate,
        accuracy=None if evaluation.targeted else 1.0 - success_rate,
        substitute_success_rate=float(np.mean(substitute_success)),
    )

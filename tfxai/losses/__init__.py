"""Losses: LGL, SML, LGL-INR and PC loss with logit constraints (`keras.losses.Loss`).

Every loss takes logits `[batch_size, num_classes]` and integer labels, computes in float32
(also under mixed precision) and is registered for `.keras` saving (`"tfxai>PCLoss"`, ...).
`get(name, **kwargs)` builds one from a config name.
"""

from __future__ import annotations

import inspect

import keras

from tfxai.losses.lgl import LGLLoss, SMLLoss, lgl_loss, sml_loss
from tfxai.losses.lgl_inr import LGLINRLoss, lgl_inr_loss
from tfxai.losses.pc import PCLoss, pc_loss

# name -> (class, defaults of the name); "ce" is Keras' own sparse softmax cross-entropy on logits.
_LOSSES: dict[str, tuple[type[keras.losses.Loss], dict]] = {
    "ce": (keras.losses.SparseCategoricalCrossentropy, {"from_logits": True}),
    "sml": (SMLLoss, {}),
    "lgl": (LGLLoss, {}),
    "lgl_inr": (LGLINRLoss, {}),
    "pc": (PCLoss, {}),
}
NAMES = tuple(_LOSSES)


def get(name: str, **kwargs) -> keras.losses.Loss:
    """Builds a loss from its config name.

    Args:
        name: one of `NAMES`: `"ce"` (`keras.losses.SparseCategoricalCrossentropy(from_logits=True)`),
            `"sml"` (`SMLLoss`), `"lgl"` (`LGLLoss`), `"lgl_inr"` (`LGLINRLoss`), `"pc"` (`PCLoss`).
        **kwargs: constructor arguments of that loss (e.g. `margin=0.9` for `"pc"`).

    Returns:
        A new `keras.losses.Loss`.

    Raises:
        ValueError: for an unknown name.
        TypeError: for arguments the loss does not take.

    Example:

    >>> get("pc", margin=0.9).margin
    0.9
    """
    if name not in _LOSSES:
        raise ValueError(f"Unknown loss name. Expected one of {list(NAMES)}. Received: name={name!r}")
    cls, defaults = _LOSSES[name]
    unknown = sorted(set(kwargs) - set(inspect.signature(cls).parameters))
    if unknown:
        raise TypeError(
            f"Invalid arguments for loss `{name}` ({cls.__name__}): {unknown}. "
            f"Expected some of {list(inspect.signature(cls).parameters)}."
        )
    return cls(**{**defaults, **kwargs})


__all__ = [
    "NAMES",
    "LGLINRLoss",
    "LGLLoss",
    "PCLoss",
    "SMLLoss",
    "get",
    "lgl_inr_loss",
    "lgl_loss",
    "pc_loss",
    "sml_loss",
]

"""Argument checks shared by every public entry point of tfxai.

Each checker takes `(name, value, *, ...)`, returns the value in its canonical Python type
(`int`, `float`, `bool`, `str`) and raises with a Keras-style message that names the
argument, says what was expected and shows what was received:

    Invalid value for argument `steps`. Expected a positive int. Received: steps=0

`TypeError` means the value has the wrong type (booleans are never numbers here),
`ValueError` that it has the right type but is out of range or not finite. Domain checks
(input tensors, labels, clip ranges, per-example budgets) stay with the module they belong
to and build their messages with `invalid_value_message`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

# The largest seed `check_seed` draws, as `2**31 - 1` fits every TF and NumPy seed argument.
_MAX_SEED = 2**31 - 1


def invalid_value_message(name: str, expected: str, value: Any) -> str:
    """The Keras-style message for an invalid argument.

    Args:
        name: the argument name.
        expected: what the argument should be, e.g. `"a positive int"`.
        value: the received value (shown with `repr`).

    Returns:
        `"Invalid value for argument `{name}`. Expected {expected}. Received: {name}={value!r}"`.

    Example:

    >>> invalid_value_message("steps", "a positive int", 0)
    'Invalid value for argument `steps`. Expected a positive int. Received: steps=0'
    """
    return f"Invalid value for argument `{name}`. Expected {expected}. Received: {name}={value!r}"


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, *, minimum: int | None = 1) -> int:
    """Checks an integer argument `>= minimum` and returns it as a Python `int`.

    NumPy integers are accepted; booleans and floats (even `2.0`) are not.

    Args:
        name: the argument name, used in the message.
        value: the received value.
        minimum: the smallest value allowed (inclusive), or `None` for no bound.
            Defaults to `1` ("a positive int").

    Returns:
        `int(value)`.

    Raises:
        TypeError: `value` is not an integer.
        ValueError: `value < minimum`.
    """
    if minimum is None:
        expected = "an int"
    elif minimum == 1:
        expected = "a positive int"
    else:
        expected = f"an int >= {minimum}"
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(invalid_value_message(name, expected, value))
    if minimum is not None and value < minimum:
        raise ValueError(invalid_value_message(name, expected, value))
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    expected: str | None = None,
) -> float:
    """Checks a finite real argument within optional bounds and returns it as a Python `float`.

    Python and NumPy ints and floats are accepted; booleans, strings and `None` are not.

    Args:
        name: the argument name, used in the message.
        value: the received value.
        positive: require `value > 0`. Defaults to `False`.
        minimum: the smallest value allowed (inclusive), or `None`. Defaults to `None`.
        maximum: the largest value allowed (inclusive), or `None`. Defaults to `None`.
        expected: what the message says was expected, for ranges better put in words
            (e.g. `"a probability margin in (0, 1]"`). Defaults to `None`: built from the
            bounds, e.g. `"a finite float > 0"` or `"a finite float >= 0"`.

    Returns:
        `float(value)`.

    Raises:
        TypeError: `value` is not a real number.
        ValueError: `value` is NaN, infinite or out of bounds.
    """
    if expected is None:
        bounds = [
            *(["> 0"] if positive else []),
            *([f">= {minimum:g}"] if minimum is not None else []),
            *([f"<= {maximum:g}"] if maximum is not None else []),
        ]
        expected = f"a finite float {' and '.join(bounds)}" if bounds else "a finite float"
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(invalid_value_message(name, expected, value))
    if (
        not math.isfinite(value)
        or (positive and value <= 0)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        raise ValueError(invalid_value_message(name, expected, value))
    return float(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Checks that `value` is one of the strings `choices` and returns it.

    Args:
        name: the argument name, used in the message.
        value: the received value.
        choices: the allowed strings, listed in the message as a tuple.

    Returns:
        `value`.

    Raises:
        ValueError: `value` is not one of `choices` (whatever its type).
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(invalid_value_message(name, f"one of {tuple(choices)}", value))
    return value


def check_bool(name: str, value: Any) -> bool:
    """Checks a boolean flag (NumPy booleans accepted; `0`, `1` and `None` rejected).

    Args:
        name: the argument name, used in the message.
        value: the received value.

    Returns:
        `bool(value)`.

    Raises:
        TypeError: `value` is not a boolean.
    """
    if not _is_bool(value):
        raise TypeError(invalid_value_message(name, "a bool", value))
    return bool(value)


def check_seed(seed: Any) -> int:
    """Checks the argument `seed`: an int >= 0, or `None` to draw one.

    The argument is always called `seed` (the name shared with peer libraries), so it is
    the only one this checker takes. A drawn seed is returned, so that callers can record
    it (e.g. in `get_config`) and replay the run.

    Args:
        seed: the received value.

    Returns:
        `int(seed)`, or a fresh int in `[0, 2**31 - 1)` when `seed` is `None`.

    Raises:
        TypeError: `seed` is neither `None` nor an integer.
        ValueError: `seed < 0`.
    """
    if seed is None:
        return int(np.random.default_rng().integers(_MAX_SEED))
    return check_int("seed", seed, minimum=0)

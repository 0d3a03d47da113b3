"""Shared pieces of the attacks: boundary validation, attack objectives, success, Adam.

The attack-specific argument checks live here (`prepare` for the tensors, `check_epsilon`,
`check_norm`); they and the attacks use the generic checkers of `tfxai._validation`, so that
every attack raises the same Keras-style messages ("Invalid value for argument `steps`.
Expected a positive int. Received: steps=0").
The graph-side helpers (`objective`, `is_success`, `adam_step`, `per_example`) are pure
TensorFlow functions that the attack cores call inside their `tf.function`s.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Callable

import numpy as np
import tensorflow as tf

from tfxai._validation import check_bool, check_choice, check_float, check_int, invalid_value_message
from tfxai._validation import check_seed  # noqa: F401 - the attacks import it from here

LOSSES = ("ce", "margin")
NORMS = ("inf", "2")

# Guards against dividing by a zero gradient or perturbation norm (as cleverhans' 1e-12).
TINY = 1e-12

# Adam's constants (Kingma & Ba, 2015), as in the C&W and SPSA reference implementations.
_ADAM_BETA_1 = 0.9
_ADAM_BETA_2 = 0.999
_ADAM_EPSILON = 1e-8


@dataclasses.dataclass(frozen=True)
class AttackInputs:
    """Validated attack inputs, as float32 / int32 tensors.

    Attributes:
        x: inputs, float32 `[B, ...]`.
        y: labels (targets when the attack is targeted), int32 `[B]`.
        clip_min: lower input bound, float32 scalar (`-inf` without clipping).
        clip_max: upper input bound, float32 scalar (`+inf` without clipping).
        targeted: whether `y` holds target classes.
        dtype: the dtype of the `x` the caller passed; results are cast back to it.
    """

    x: tf.Tensor
    y: tf.Tensor
    clip_min: tf.Tensor
    clip_max: tf.Tensor
    targeted: bool
    dtype: tf.DType

    def restore(self, x_adv: tf.Tensor) -> tf.Tensor:
        """Casts an adversarial batch back to the caller's dtype."""
        return tf.cast(x_adv, self.dtype)


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    strictly_positive: bool = False,
    integer: bool = False,
) -> float | int:
    """Checks a scalar hyper-parameter: `check_int` when `integer=True`, else `check_float`.

    The attacks' spelling of the shared checkers of `tfxai._validation`, kept because the
    attack modules and their users (`tfxai.training.adversarial`, `tfxai.metrics.robustness`)
    import it from here.

    Args:
        name: the argument name, used in the error message.
        value: the received value.
        minimum: the smallest value allowed (inclusive). Defaults to `None` (no bound).
        strictly_positive: require `value > 0`. Defaults to `False`.
        integer: require an `int` (booleans are rejected). Defaults to `False`.

    Raises:
        TypeError: `value` is not a real number (or not an int when `integer=True`).
        ValueError: `value` is not finite or is out of range.
    """
    if integer:
        return check_int(name, value, minimum=1 if strictly_positive else minimum)
    return check_float(name, value, positive=strictly_positive, minimum=minimum)


def check_norm(norm: Any) -> str:
    """Normalises `norm` to `"inf"` or `"2"`; accepts `np.inf` and `2` as NumPy spells them."""
    if isinstance(norm, numbers.Real) and not isinstance(norm, bool):
        norm = "inf" if norm == np.inf else ("2" if norm == 2 else norm)
    return check_choice("norm", norm, NORMS)


def check_epsilon(epsilon: Any, batch_size: int) -> tf.Tensor:
    """Checks the perturbation budget: a float >= 0 or one float >= 0 per example.

    Returns:
        float32 tensor `[B]`.
    """
    array = np.asarray(epsilon)
    if array.ndim == 0 and np.issubdtype(array.dtype, np.number):  # a float, 0-d array or scalar tensor
        value = check_float("epsilon", array.item(), minimum=0.0)
        return tf.fill([batch_size], tf.constant(value, tf.float32))
    if array.ndim != 1 or array.shape[0] != batch_size or not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            invalid_value_message(
                "epsilon", f"a float >= 0 or a 1-D array of {batch_size} floats >= 0 (one per example)", epsilon
            )
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(invalid_value_message("epsilon", "finite values >= 0", epsilon))
    return tf.constant(array, tf.float32)


def _check_clip(clip: Any, required: bool) -> tuple[float, float]:
    if clip is None:
        if required:
            raise ValueError(
                invalid_value_message(
                    "clip", "a (min, max) pair of finite floats: this attack needs bounded inputs", clip
                )
            )
        return -np.inf, np.inf
    try:
        low, high = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise ValueError(invalid_value_message("clip", "a (min, max) pair of floats or None", clip)) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(invalid_value_message("clip", "finite bounds with min < max", clip))
    return low, high


def _check_x(x: Any, clip: tuple[float, float]) -> tuple[np.ndarray, tf.DType]:
    dtype = getattr(x, "dtype", None)
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"Invalid value for argument `x`. Expected a float array or tensor. Received: {type(x)}"
        ) from error
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            "Invalid dtype for argument `x`. Expected a floating dtype (inputs on the model's scale). "
            f"Received: x.dtype={array.dtype}"
        )
    if array.ndim < 2 or array.shape[0] == 0:
        raise ValueError(
            "Invalid shape for argument `x`. Expected a non-empty batch `[B, ...]` of rank >= 2. "
            f"Received: x.shape={array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("Invalid value for argument `x`. Expected finite values. Received: x contains NaN or inf")
    low, high = clip
    if array.min() < low or array.max() > high:
        raise ValueError(
            f"Invalid value for argument `x`. Expected values within clip=({low}, {high}). "
            f"Received: x in [{array.min()}, {array.max()}]"
        )
    return array.astype(np.float32), tf.as_dtype(dtype if dtype is not None else array.dtype)


def _declared_input_shape(model: Callable) -> tuple | None:
    """The single input shape a Keras model declares, e.g. `(None, 28, 28, 1)`; else `None`."""
    try:
        shape = tuple(model.input_shape)
    except Exception:  # noqa: BLE001 - subclassed or unbuilt models and plain callables declare none
        return None
    return shape if all(d is None or isinstance(d, int) for d in shape) else None


def _num_classes(model: Callable, x: np.ndarray) -> int:
    """Checks that `model` accepts `x` and outputs logits `[B, K]`; returns K.

    Keras models are checked against their declared input shape first: Keras would
    silently add a missing channel axis in eager mode, but not inside the attack graphs.
    """
    if not callable(model):
        raise TypeError(f"Invalid value for argument `model`. Expected a callable Keras model. Received: {model!r}")
    declared = _declared_input_shape(model)
    if declared is not None and (
        len(declared) != x.ndim or any(d is not None and d != n for d, n in zip(declared[1:], x.shape[1:]))
    ):
        raise ValueError(
            f"Invalid shape for argument `x`. Expected the model's input shape {declared}. Received: x.shape={x.shape}"
        )
    try:
        logits = model(tf.constant(x[:1]), training=False)
    except Exception as error:  # noqa: BLE001 - any failure here means x does not fit the model
        raise ValueError(
            f"Invalid shape for argument `x`: `model` could not be called on it. Expected inputs the model accepts. "
            f"Received: x.shape={x.shape} ({type(error).__name__}: {error})"
        ) from error
    shape = tuple(getattr(logits, "shape", ()))
    if len(shape) != 2 or shape[0] != 1 or shape[1] is None or shape[1] < 2:
        raise ValueError(
            "`model` must output logits of shape [B, K] (one row per example) with K >= 2 classes. "
            f"Received: output shape {shape} for x.shape={x.shape}"
        )
    return int(shape[1])


def _check_labels(y: Any, batch_size: int, num_classes: int) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim == 2 and array.shape == (batch_size, num_classes):
        array = array.argmax(axis=1)  # one-hot (or probabilities), as Keras accepts them
    if array.shape != (batch_size,):
        raise ValueError(
            f"Invalid shape for argument `y`. Expected integer labels [{batch_size}] or one-hot "
            f"[{batch_size}, {num_classes}]. Received: y.shape={array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
        raise TypeError(f"Invalid value for argument `y`. Expected integer class ids. Received: y={array!r}")
    if array.min() < 0 or array.max() >= num_classes:
        raise ValueError(
            f"Invalid value for argument `y`. Expected class ids in [0, {num_classes - 1}]. "
            f"Received: y in [{array.min()}, {array.max()}]"
        )
    return array.astype(np.int32)


def prepare(model: Callable, x: Any, y: Any, *, clip: Any, targeted: Any, require_clip: bool = False) -> AttackInputs:
    """Validates the tensors every attack takes, at the public boundary.

    Args:
        model: a callable returning logits `[B, K]`.
        x: float inputs `[B, ...]` within `clip`.
        y: integer labels `[B]` (or one-hot `[B, K]`); the target classes when `targeted`.
            `None` uses the model's predictions (untargeted attacks only).
        clip: `(min, max)` input bounds, or `None` for unbounded inputs.
        targeted: whether `y` holds target classes.
        require_clip: reject `clip=None` (attacks that work in a bounded space). Defaults to `False`.

    Raises:
        TypeError: wrong dtypes or types.
        ValueError: wrong shapes or values.
    """
    targeted = check_bool("targeted", targeted)
    low, high = _check_clip(clip, require_clip)
    array, dtype = _check_x(x, (low, high))
    num_classes = _num_classes(model, array)
    x_tensor = tf.constant(array)
    if y is None:
        if targeted:
            raise ValueError(invalid_value_message("y", "the target classes for a targeted attack", y))
        labels = tf.argmax(model(x_tensor, training=False), axis=-1, output_type=tf.int32)
    else:
        labels = tf.constant(_check_labels(y, array.shape[0], num_classes))
    return AttackInputs(
        x=x_tensor,
        y=labels,
        clip_min=tf.constant(low, tf.float32),
        clip_max=tf.constant(high, tf.float32),
        targeted=targeted,
        dtype=dtype,
    )


def per_example(values: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Appends `rank(like) - 1` unit axes: `[B] -> [B, 1, ..., 1]` broadcasts against `like` `[B, ...]`.

    Leading axes are kept, e.g. `[S, B] -> [S, B, 1, ..., 1]`.
    """
    return tf.reshape(values, tf.concat([tf.shape(values), tf.ones([tf.rank(like) - 1], tf.int32)], 0))


def reduce_per_example(fn: Callable, values: tf.Tensor) -> tf.Tensor:
    """Applies a reduction over all non-batch axes, keeping dims: `[B, ...] -> [B, 1, ..., 1]`."""
    return fn(values, axis=tf.range(1, tf.rank(values)), keepdims=True)


def logit_margin(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """`max_{j != y} z_j - z_y` per row: positive iff the top class is not `y`. `[N, K], [N] -> [N]` float32."""
    logits = tf.cast(logits, tf.float32)  # mixed-precision models output float16 logits
    one_hot = tf.equal(tf.range(tf.shape(logits)[-1])[tf.newaxis, :], labels[:, tf.newaxis])  # [N, K]
    label_logit = tf.reduce_sum(tf.where(one_hot, logits, 0.0), axis=-1)
    other_logit = tf.reduce_max(tf.where(one_hot, tf.constant(-np.inf, logits.dtype), logits), axis=-1)
    return other_logit - label_logit


def objective(logits: tf.Tensor, labels: tf.Tensor, loss: str, targeted: tf.Tensor) -> tf.Tensor:
    """The per-row quantity an attack maximises. `[N, K], [N] -> [N]`.

    `"ce"`: sparse cross-entropy on the logits; `"margin"`: the C&W logit margin
    `max_{j != y} z_j - z_y` (Carlini & Wagner, 2017, f6). Targeted attacks maximise the
    negative, i.e. move towards the target class `y`.
    """
    if loss == "ce":
        value = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32))
    else:
        value = logit_margin(logits, labels)
    return tf.where(targeted, -value, value)


def is_success(logits: tf.Tensor, labels: tf.Tensor, targeted: tf.Tensor) -> tf.Tensor:
    """Untargeted: the prediction differs from `y`; targeted: the prediction is `y`. `-> [N] bool`."""
    hit = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), labels)
    return tf.where(targeted, hit, tf.logical_not(hit))


def still_active(
    active: tf.Tensor, early_stop: tf.Tensor, logits: tf.Tensor, labels: tf.Tensor, targeted: tf.Tensor
) -> tf.Tensor:
    """Early stop: rows that succeed at the current iterate leave the active set `[B]` for good."""
    return tf.logical_and(active, tf.logical_not(tf.logical_and(early_stop, is_success(logits, labels, targeted))))


def finish(
    model: Callable, inputs: AttackInputs, x_adv: tf.Tensor, return_success: bool
) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
    """The public result: `x_adv` in the caller's dtype, plus the success mask `[B]` on request."""
    if return_success:
        return inputs.restore(x_adv), is_success(model(x_adv, training=False), inputs.y, tf.constant(inputs.targeted))
    return inputs.restore(x_adv)


def l2_norm(values: tf.Tensor) -> tf.Tensor:
    """Per-example L2 norm `[B, ...] -> [B, 1, ..., 1]`, bounded away from zero."""
    return tf.sqrt(tf.maximum(reduce_per_example(tf.reduce_sum, tf.square(values)), TINY))


def project(
    x: tf.Tensor, x_new: tf.Tensor, epsilon: tf.Tensor, clip_min: tf.Tensor, clip_max: tf.Tensor, norm: str
) -> tf.Tensor:
    """Projects `x_new` onto the eps-ball (`norm` "inf" or "2") around `x`, then into the box.

    Clipping after projecting never leaves the ball: `x` lies in the box, so clipping only
    moves a coordinate towards `x`. `epsilon` is `[B, 1, ..., 1]`.
    """
    delta = x_new - x
    if norm == "inf":
        delta = tf.clip_by_value(delta, -epsilon, epsilon)
    else:
        delta = delta * tf.minimum(1.0, epsilon / l2_norm(delta))
    return tf.clip_by_value(x + delta, clip_min, clip_max)


def adam_step(
    param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, t: tf.Tensor, learning_rate: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One Adam descent step on a plain tensor (Kingma & Ba, 2015); `t` counts from 1.

    Element-wise, so rows of a batch never influence each other.

    Returns:
        `(param, m, v)` updated.
    """
    m = _ADAM_BETA_1 * m + (1.0 - _ADAM_BETA_1) * grad
    v = _ADAM_BETA_2 * v + (1.0 - _ADAM_BETA_2) * tf.square(grad)
    m_hat = m / (1.0 - tf.pow(_ADAM_BETA_1, t))
    v_hat = v / (1.0 - tf.pow(_ADAM_BETA_2, t))
    return param - learning_rate * m_hat / (tf.sqrt(v_hat) + _ADAM_EPSILON), m, v

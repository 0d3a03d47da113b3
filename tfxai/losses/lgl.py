"""LGL (one-vs-all logistic) and SML (class-weighted softmax cross-entropy) losses.

Both are per-example losses of logits `z` (`[batch_size, num_classes]`) and integer labels:
SML is the class-weighted form of Eq. (1), LGL the one-vs-all logistic loss of §"In-negative
Class Reweighted LGL", in [Li et al., 2020](https://arxiv.org/abs/2003.02309) ("On the Learning
Property of Logistic and Softmax Losses for Deep Neural Networks"). The helper `_standardize`
is shared with the sibling modules `lgl_inr` and `pc`."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf


def _compute_dtype(dtype: tf.DType) -> tf.DType:
    """Losses compute in float32 (float64 inputs stay float64), whatever the model's precision."""
    return tf.float64 if dtype == tf.float64 else tf.float32


def _standardize(y_true, y_pred) -> tuple[tf.Tensor, tf.Tensor]:
    """Checks and converts labels and predictions.

    Args:
        y_true: integer class ids `[batch_size]` or `[batch_size, 1]` (any real dtype; Keras
            passes them as floats), or one-hot labels `[batch_size, num_classes]` (reduced
            with argmax).
        y_pred: logits (or probabilities) `[batch_size, num_classes]`, `num_classes >= 2`
            known statically.

    Returns:
        `(labels, y_pred)`: int32 labels `[batch_size]` and `y_pred` cast to float32
        (float64 kept).

    Raises:
        TypeError: for non-numeric labels or non-floating predictions.
        ValueError: for wrong shapes, or (when executing eagerly) labels outside
            `[0, num_classes)`.
    """
    y_pred = tf.convert_to_tensor(y_pred)
    if not y_pred.dtype.is_floating:
        raise TypeError(
            "Invalid dtype for argument `y_pred`. Expected floating-point logits. "
            f"Received: y_pred.dtype={y_pred.dtype.name}"
        )
    if y_pred.shape.rank != 2 or y_pred.shape[-1] is None or y_pred.shape[-1] < 2:
        raise ValueError(
            "Invalid shape for argument `y_pred`. Expected logits of shape (batch_size, num_classes) "
            f"with a static num_classes >= 2. Received: y_pred.shape={y_pred.shape}"
        )
    num_classes = y_pred.shape[-1]
    y_pred = tf.cast(y_pred, _compute_dtype(y_pred.dtype))

    y_true = tf.convert_to_tensor(y_true)
    if not (y_true.dtype.is_integer or y_true.dtype.is_floating):
        raise TypeError(
            "Invalid dtype for argument `y_true`. Expected integer class ids (or one-hot labels). "
            f"Received: y_true.dtype={y_true.dtype.name}"
        )
    if y_true.shape.rank == 2 and y_true.shape[-1] == num_classes:
        labels = tf.argmax(y_true, axis=-1, output_type=tf.int32)
    elif y_true.shape.rank == 1 or (y_true.shape.rank == 2 and y_true.shape[-1] == 1):
        labels = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
    else:
        raise ValueError(
            "Invalid shape for argument `y_true`. Expected integer class ids of shape (batch_size,) or "
            f"(batch_size, 1), or one-hot labels of shape (batch_size, {num_classes}). "
            f"Received: y_true.shape={y_true.shape}"
        )
    if not labels.shape[:1].is_compatible_with(y_pred.shape[:1]):
        raise ValueError(
            "Arguments `y_true` and `y_pred` must have the same batch size. "
            f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
        )
    if tf.executing_eagerly() and tf.size(labels) > 0:
        low, high = int(tf.reduce_min(labels)), int(tf.reduce_max(labels))
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"Invalid value for argument `y_true`. Expected class ids in [0, {num_classes}). "
                f"Received: labels from {low} to {high}"
            )
    return labels, y_pred


def _check_class_weights(class_weights: Sequence[float] | None) -> tuple[float, ...] | None:
    if class_weights is None:
        return None
    values = np.asarray(class_weights, dtype=object)
    valid = values.ndim == 1 and len(values) >= 2
    if valid:
        try:
            floats = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            valid = False
        else:
            valid = bool(np.all(np.isfinite(floats)) and np.all(floats >= 0))
    if not valid:
        raise ValueError(
            "Invalid value for argument `class_weights`. Expected a sequence of num_classes finite, "
            f"non-negative floats. Received: class_weights={class_weights!r}"
        )
    return tuple(float(w) for w in floats)


def lgl_loss(y_true, y_pred) -> tf.Tensor:
    """One-vs-all logistic loss (LGL) of logits.

    Each class k is a binary problem with probability `sigma(z_k)`.

    Formula:

    ```python
    loss = -log(sigmoid(z[y])) - sum_{k != y} log(1 - sigmoid(z[k]))
         = sum_k softplus(z[k]) - z[y]          # the form computed (exact, stable)
    ```

    Args:
        y_true: integer class ids `[batch_size]` (or one-hot `[batch_size, num_classes]`).
        y_pred: logits `[batch_size, num_classes]`.

    Returns:
        Per-example losses `[batch_size]`, float32 (float64 for float64 logits).

    Example:

    >>> round(float(lgl_loss([0], [[0.0, 0.0, 0.0]])[0]), 4)  # 3 log 2
    2.0794
    """
    labels, logits = _standardize(y_true, y_pred)
    onehot = tf.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
    return tf.reduce_sum(tf.nn.softplus(logits) - onehot * logits, axis=-1)


def sml_loss(y_true, y_pred, class_weights: Sequence[float] | None = None) -> tf.Tensor:
    """Class-weighted softmax cross-entropy (SML) of logits, Eq. (1) of Li et al. (2020) per example.

    Formula:

    ```python
    loss = -class_weights[y] * log(softmax(z)[y])
    ```

    Args:
        y_true: integer class ids `[batch_size]` (or one-hot `[batch_size, num_classes]`).
        y_pred: logits `[batch_size, num_classes]`.
        class_weights: the λ_k of the paper, one non-negative weight per class, or `None`
            (all 1: plain cross-entropy). Defaults to `None`.

    Returns:
        Per-example losses `[batch_size]`, float32 (float64 for float64 logits).

    Example:

    >>> round(float(sml_loss([1], [[0.0, 0.0]], class_weights=[1.0, 3.0])[0]), 4)  # 3 log 2
    2.0794
    """
    class_weights = _check_class_weights(class_weights)
    labels, logits = _standardize(y_true, y_pred)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    if class_weights is None:
        return losses
    if len(class_weights) != logits.shape[-1]:
        raise ValueError(
            f"Invalid value for argument `class_weights`. Expected {logits.shape[-1]} weights (one per class "
            f"of `y_pred`). Received: {len(class_weights)} weights"
        )
    return losses * tf.gather(tf.constant(class_weights, logits.dtype), labels)


@keras.saving.register_keras_serializable(package="tfxai")
class LGLLoss(keras.losses.Loss):
    """One-vs-all logistic loss (LGL); see `lgl_loss`.

    Example:

    >>> loss = LGLLoss()
    >>> round(float(loss([0, 1], [[0.0, 0.0], [0.0, 0.0]])), 4)  # 2 log 2
    1.3863
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "lgl_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred) -> tf.Tensor:
        return lgl_loss(y_true, y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="tfxai")
class SMLLoss(keras.losses.Loss):
    """Class-weighted softmax cross-entropy (SML); see `sml_loss`.

    With `class_weights=None` this is `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`.

    Args:
        class_weights: one non-negative weight per class (λ_k in the paper), or `None`.
            Defaults to `None`.

    Example:

    >>> loss = SMLLoss(class_weights=[1.0, 3.0])
    >>> round(float(loss([0, 1], [[0.0, 0.0], [0.0, 0.0]])), 4)  # (1 + 3) log 2 / 2
    1.3863
    """

    def __init__(
        self,
        class_weights: Sequence[float] | None = None,
        reduction: str | None = "sum_over_batch_size",
        name: str = "sml_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.class_weights = _check_class_weights(class_weights)

    def call(self, y_true, y_pred) -> tf.Tensor:
        return sml_loss(y_true, y_pred, class_weights=self.class_weights)

    def get_config(self) -> dict:
        class_weights = None if self.class_weights is None else list(self.class_weights)
        return {**super().get_config(), "dtype": self.dtype, "class_weights": class_weights}

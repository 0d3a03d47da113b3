"""LGL-INR: in-negative-class reweighted logistic loss, Eq. (11) of Li et al. (2020)."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfxai._validation import check_bool, check_float
from tfxai.losses.lgl import _standardize


def _check_lgl_inr_args(beta: float, stop_gradient_weights: bool, epsilon: float) -> None:
    check_float("beta", beta, minimum=0.0)
    check_bool("stop_gradient_weights", stop_gradient_weights)
    check_float("epsilon", epsilon, positive=True)


def _example_weights(sample_weight, batch_size: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """`sample_weight` as a `[batch_size]` vector (ones when `None`; scalars broadcast)."""
    if sample_weight is None:
        return tf.ones([batch_size], dtype)
    weights = tf.cast(tf.convert_to_tensor(sample_weight), dtype)
    if weights.shape.rank == 0:
        return tf.fill([batch_size], weights)
    if weights.shape.rank == 1 or (weights.shape.rank == 2 and weights.shape[-1] == 1):
        return tf.reshape(weights, [-1])
    raise ValueError(
        "Invalid shape for argument `sample_weight`. Expected a scalar or a tensor of shape (batch_size,) or "
        f"(batch_size, 1). Received: sample_weight.shape={weights.shape}"
    )


def lgl_inr_loss(
    y_true, y_pred, *, beta: float = 1.0, stop_gradient_weights: bool = False, epsilon: float = 1e-7, sample_weight=None
) -> tf.Tensor:
    """In-negative-class reweighted logistic loss (LGL-INR), Eq. (11) of Li et al. (2020).

    A batch-level loss. For each target class k (one-vs-all with `sigma_k = sigmoid(z_k)`), the
    positives are averaged over the `N_k` examples of class k, and the negatives are grouped by
    their true class j, averaged within the group and mixed with weights
    `lambda_j = softmax_{j != k}(beta * pbar_j)`, `pbar_j` the mean of `sigma_k` over class j:

    ```python
    L_k = -(1 / N_k) sum_{i in S_k} log(sigma_k(x_i) + eps)
          - sum_{j != k} lambda_j (1 / N_j) sum_{i in S_j} log(1 - sigma_k(x_i) + eps)
    loss = sum_k L_k
    ```

    `N_j`, `S_j` and `pbar_j` are taken in the mini-batch, with sample weights as
    multiplicities (`N_j = sum_{i in S_j} w_i`, weighted means), so an integer sample weight is
    the same as repeating the example. Classes absent from the batch (`N_j = 0`) drop out of the
    softmax and of the sums; an absent target class k keeps its negative term.

    Scale: summed (not averaged) over the K target classes, as the authors' code does. A model
    predicting `sigma = 1/2` everywhere scores `2 K log 2` when every class is in the batch
    (13.86 for K = 10), about K times a per-class-averaged LGL.

    Per-example decomposition: the batch loss is returned as one value per example,
    `B * w_i / N_{y_i} * (-log(sigma_{y_i} + eps) - sum_{k != y_i} lambda_{y_i}^{(k)} log(1 - sigma_k + eps))`
    (B the batch size), whose mean is the batch loss. Keras' default
    `"sum_over_batch_size"` reduction therefore yields exactly Eq. (11); `LGLINRLoss` takes
    sample weights into the counts and means instead of multiplying these values.

    Args:
        y_true: integer class ids `[batch_size]` (or one-hot `[batch_size, num_classes]`).
        y_pred: logits `[batch_size, num_classes]`.
        beta: softmax temperature β >= 0 of the in-negative weights; 0 gives uniform weights
            `1 / (K - 1)` (when every class is in the batch). Defaults to `1.0`.
        stop_gradient_weights: detach the weights λ from the graph. The authors' code lets
            gradients flow through them. Defaults to `False`.
        epsilon: added inside the logarithms (as the authors' code). Defaults to `1e-7`.
        sample_weight: optional non-negative weights `[batch_size]`, used as multiplicities.

    Returns:
        Per-example contributions `[batch_size]` (float32; float64 for float64 logits) whose
        mean is the batch loss.

    Example:

    >>> import math
    >>> values = lgl_inr_loss([0, 1], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> round(float(tf.reduce_mean(values)) / math.log(2), 3)  # k=0, 1: 2 log 2; k=2 absent: log 2
    5.0

    Reference:
        [Li et al., 2020](https://arxiv.org/abs/2003.02309), Eq. (11) and "Choice of λs".
    """
    _check_lgl_inr_args(beta, stop_gradient_weights, epsilon)
    labels, logits = _standardize(y_true, y_pred)
    dtype, num_classes = logits.dtype, logits.shape[-1]
    batch_size = tf.shape(logits)[0]
    weights = _example_weights(sample_weight, batch_size, dtype)  # [B]

    onehot = tf.one_hot(labels, num_classes, dtype=dtype)  # [B, K]: row i marks its class j
    weighted = onehot * weights[:, None]  # [B, K]
    counts = tf.reduce_sum(weighted, axis=0)  # [K]: N_j
    # normalized[i, j] = w_i / N_j for j = y_i, else 0 (absent classes: 0, never a division by 0).
    normalized = weighted * tf.math.divide_no_nan(tf.ones_like(counts), counts)  # [B, K]
    probs = tf.sigmoid(logits)  # [B, K]: sigma_k(x_i)
    # mean_probs[j, k] = pbar_{j->k}, the (weighted) mean of sigma_k over the examples of class j.
    mean_probs = tf.matmul(normalized, probs, transpose_a=True)  # [K, K]

    # lambdas[j, k] = softmax over the present classes j != k of beta * pbar_{j->k}; 0 elsewhere.
    valid = tf.logical_and((counts > 0)[:, None], tf.logical_not(tf.eye(num_classes, dtype=tf.bool)))
    valid = tf.cast(valid, dtype)  # [K, K]
    scaled = beta * mean_probs  # >= 0, so 0 is a safe filler for the column maximum
    shift = tf.stop_gradient(tf.reduce_max(scaled * valid, axis=0, keepdims=True))  # [1, K]
    exps = tf.exp((scaled - shift) * valid) * valid  # [K, K], in [0, 1]; each valid column sums to >= 1
    lambdas = exps / tf.maximum(tf.reduce_sum(exps, axis=0, keepdims=True), 1.0)
    if stop_gradient_weights:
        lambdas = tf.stop_gradient(lambdas)

    log_pos = tf.math.log(probs + epsilon)  # [B, K]
    log_neg = tf.math.log(1.0 - probs + epsilon)  # [B, K]
    # Row i: w_i / N_{y_i} * (log sigma_{y_i} + sum_{k != y_i} lambdas[y_i, k] log(1 - sigma_k)), as
    # lambdas[j, j] = 0; the batch loss is minus the sum over i.
    per_example = tf.reduce_sum(normalized * log_pos + tf.matmul(normalized, lambdas) * log_neg, axis=-1)  # [B]
    return -tf.cast(batch_size, dtype) * per_example


def _reduce(values: tf.Tensor, reduction: str | None) -> tf.Tensor:
    """Keras' loss reductions without sample weights (they are already inside `values`)."""
    if reduction in (None, "none"):
        return values
    total = tf.reduce_sum(values)
    if reduction == "sum":
        return total
    # "sum_over_batch_size", "mean", "mean_with_sample_weight": the batch loss. Divided by the
    # number of replicas, as Keras does, since replicas' gradients are summed.
    mean = tf.math.divide_no_nan(total, tf.cast(tf.size(values), values.dtype))
    return mean / tf.distribute.get_strategy().num_replicas_in_sync


@keras.saving.register_keras_serializable(package="tfxai")
class LGLINRLoss(keras.losses.Loss):
    """In-negative-class reweighted logistic loss (LGL-INR), Eq. (11); see `lgl_inr_loss`.

    Sample weights act as multiplicities inside the class counts and means (an integer weight
    equals repeating the example; a per-class constant weight, such as `fit(class_weight=...)`,
    has no effect, since every class is averaged). With the default reduction the loss is the batch loss of Eq. (11); with
    `reduction="sum"` it is `batch_size` times it, and `reduction=None` returns the per-example
    contributions. The statistics are those of the batch the loss sees, i.e. per replica
    under `tf.distribute` (the replicas' losses are averaged).

    Args:
        beta: softmax temperature β >= 0 of the in-negative weights. Defaults to `1.0`.
        stop_gradient_weights: detach the weights λ. Defaults to `False` (the authors' code).
        epsilon: added inside the logarithms. Defaults to `1e-7`.

    Example:

    >>> loss = LGLINRLoss()
    >>> round(float(loss([0, 1, 2], [[0.0, 0.0, 0.0]] * 3)), 4)  # uninformed: 2 K log 2, K = 3
    4.1589
    """

    def __init__(
        self,
        beta: float = 1.0,
        stop_gradient_weights: bool = False,
        epsilon: float = 1e-7,
        reduction: str | None = "sum_over_batch_size",
        name: str = "lgl_inr_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_lgl_inr_args(beta, stop_gradient_weights, epsilon)
        self.beta = beta
        self.stop_gradient_weights = stop_gradient_weights
        self.epsilon = epsilon

    def __call__(self, y_true, y_pred, sample_weight=None) -> tf.Tensor:
        with keras.name_scope(self.name):
            values = self._contributions(y_true, y_pred, sample_weight)
            return tf.cast(_reduce(values, self.reduction), self.dtype)

    def call(self, y_true, y_pred) -> tf.Tensor:
        return self._contributions(y_true, y_pred, None)

    def _contributions(self, y_true, y_pred, sample_weight) -> tf.Tensor:
        return lgl_inr_loss(
            y_true,
            y_pred,
            beta=self.beta,
            stop_gradient_weights=self.stop_gradient_weights,
            epsilon=self.epsilon,
            sample_weight=sample_weight,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "dtype": self.dtype,
            "beta": self.beta,
            "stop_gradient_weights": self.stop_gradient_weights,
            "epsilon": self.epsilon,
        }

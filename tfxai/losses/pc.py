"""Probabilistically compact (PC) loss with logit constraints, Eq. (6) + (16) of Li et al. (2021)."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfxai._validation import check_bool, check_choice, check_float
from tfxai.losses.lgl import _standardize

_LOGIT_CONSTRAINTS = ("soft", "hard")


def _check_pc_args(
    margin: float, logit_weight: float, logit_constraint: str, normalize_false_classes: bool, from_logits: bool
) -> None:
    check_float("margin", margin, positive=True, maximum=1.0, expected="a probability margin in (0, 1]")
    check_float("logit_weight", logit_weight, minimum=0.0)
    check_choice("logit_constraint", logit_constraint, _LOGIT_CONSTRAINTS)
    check_bool("normalize_false_classes", normalize_false_classes)
    check_bool("from_logits", from_logits)


def pc_loss(
    y_true,
    y_pred,
    *,
    margin: float = 0.995,
    logit_weight: float = 0.05,
    logit_constraint: str = "soft",
    normalize_false_classes: bool = True,
    from_logits: bool = True,
) -> tf.Tensor:
    """PC loss with logit constraints, Eq. (6) + Eq. (16) of Li et al. (2021).

    The PC term (Eq. 6) asks the true-class probability to beat every false class by the
    probability margin ξ; the logit term (Eq. 16) keeps the logit gap to the most probable
    false class small, so that the probability gap is hard to cross:

    ```python
    p = softmax(z)
    pc = sum_{j != y} max(0, p[j] + margin - p[y])       # / (K - 1) if normalize_false_classes
    hard:  d = max(0, z[y] - max_{j != y} z[j])          # Eq. (16), j = most probable false class
    soft:  d = sum_{j != y} softmax_{j != y}(z)[j] * max(0, z[y] - z[j])
    loss = pc + logit_weight * d
    ```

    The constant −C′ of Eq. (16) does not change gradients and is left out, so a confident
    correct prediction has `pc = 0` and `d` = its logit margin.

    Args:
        y_true: integer class ids `[batch_size]` (or one-hot `[batch_size, num_classes]`).
        y_pred: logits `[batch_size, num_classes]` (probabilities if `from_logits=False`).
        margin: the probability margin ξ of Eq. (6), in (0, 1]. Defaults to `0.995` (the
            paper's training value; the authors' constructor default is 0.8).
        logit_weight: the multiplier λ of Eq. (16); 0 gives the plain PC loss. Defaults to `0.05`.
        logit_constraint: `"soft"` (the authors' code, which produced the paper's numbers): the
            gap to each false class weighted by the softmax over the false logits (true logit
            masked, weights not detached); `"hard"`: Eq. (16), the gap to the largest false
            logit. Defaults to `"soft"`.
        normalize_false_classes: divide the PC term by K − 1 (mean over the false classes, the
            authors' code) instead of the sum of Eq. (6). Defaults to `True`.
        from_logits: whether `y_pred` holds logits. With probabilities, the logit term uses
            `log(p)`, which differs from the logits by a per-example constant that cancels in
            every gap and in the softmax. Defaults to `True`.

    Returns:
        Per-example losses `[batch_size]`, float32 (float64 for float64 logits); Keras' mean
        reduction gives the `(1/N) sum_i` of Eq. (6) and (16).

    Example:

    >>> import math
    >>> z = [[math.log(2.0), 0.0, 0.0]]  # p = (1/2, 1/4, 1/4), y = 0
    >>> round(float(pc_loss([0], z, logit_weight=0.0)[0]), 4)  # 1/4 + 0.995 - 1/2, for both false classes
    0.745

    Notes:
        The gradient of the PC term vanishes for confidently wrong predictions (`p_y ≈ 0`,
        Eq. 7 of the paper); the paper therefore starts from a CE-trained model (see
        `tfxai.training.schedules.WarmupLoss`). Masked entries use the dtype's lowest value,
        not the authors' −1000, so logits of any size are masked.

    Reference:
        [Li et al., 2021](https://arxiv.org/abs/2012.07688), Eq. (6) and (16).
    """
    _check_pc_args(margin, logit_weight, logit_constraint, normalize_false_classes, from_logits)
    labels, y_pred = _standardize(y_true, y_pred)
    num_classes = y_pred.shape[-1]
    if from_logits:
        logits, probs = y_pred, tf.nn.softmax(y_pred)
    else:
        probs = y_pred
        logits = tf.math.log(tf.maximum(probs, keras.config.epsilon()))
    # Masked reductions rather than gathers: fewer graph ops, forward and backward.
    onehot = tf.one_hot(labels, num_classes, dtype=probs.dtype)  # [B, K]
    false_mask = 1.0 - onehot

    true_prob = tf.reduce_sum(onehot * probs, axis=-1, keepdims=True)  # [B, 1]
    losses = tf.reduce_sum(tf.nn.relu(probs + margin - true_prob) * false_mask, axis=-1)  # [B]
    if normalize_false_classes:
        losses = losses / (num_classes - 1)
    if logit_weight == 0:
        return losses

    true_logit = tf.reduce_sum(onehot * logits, axis=-1, keepdims=True)  # [B, 1]
    false_logits = tf.where(onehot > 0, logits.dtype.min, logits)  # [B, K], true logit masked
    if logit_constraint == "hard":
        gaps = tf.nn.relu(true_logit[:, 0] - tf.reduce_max(false_logits, axis=-1))  # [B]
    else:
        gaps = tf.reduce_sum(tf.nn.softmax(false_logits) * tf.nn.relu(true_logit - logits), axis=-1)  # [B]
    return losses + logit_weight * gaps


@keras.saving.register_keras_serializable(package="tfxai")
class PCLoss(keras.losses.Loss):
    """PC loss with logit constraints, Eq. (6) + (16); see `pc_loss` for the formula and arguments.

    Args:
        margin: the probability margin ξ. Defaults to `0.995`.
        logit_weight: the multiplier λ of the logit term. Defaults to `0.05`.
        logit_constraint: `"soft"` (authors' code) or `"hard"` (Eq. 16). Defaults to `"soft"`.
        normalize_false_classes: mean instead of sum over the false classes. Defaults to `True`.
        from_logits: whether `y_pred` holds logits. Defaults to `True`.

    Example:

    >>> loss = PCLoss()
    >>> round(float(loss([0, 1], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])), 4)  # uninformed: the margin
    0.995
    """

    def __init__(
        self,
        margin: float = 0.995,
        logit_weight: float = 0.05,
        logit_constraint: str = "soft",
        normalize_false_classes: bool = True,
        from_logits: bool = True,
        reduction: str | None = "sum_over_batch_size",
        name: str = "pc_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_pc_args(margin, logit_weight, logit_constraint, normalize_false_classes, from_logits)
        self.margin = margin
        self.logit_weight = logit_weight
        self.logit_constraint = logit_constraint
        self.normalize_false_classes = normalize_false_classes
        self.from_logits = from_logits

    def call(self, y_true, y_pred) -> tf.Tensor:
        return pc_loss(
            y_true,
            y_pred,
            margin=self.margin,
            logit_weight=self.logit_weight,
            logit_constraint=self.logit_constraint,
            normalize_false_classes=self.normalize_false_classes,
            from_logits=self.from_logits,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "dtype": self.dtype,
            "margin": self.margin,
            "logit_weight": self.logit_weight,
            "logit_constraint": self.logit_constraint,
            "normalize_false_classes": self.normalize_false_classes,
            "from_logits": self.from_logits,
        }

"""The probability equations of reweighted logistic and softmax losses (Eq. 8-10, paper 000).

At a stationary point of a class-reweighted softmax (or, for K = 2, logistic) loss whose
output layer has a bias, the gradient with respect to the bias of class k is zero, which gives
for every class k (Eq. 8, written with class means in Eq. 9):

    λ_k N_k (1 − p̄_{k→k}) = Σ_{j≠k} λ_j N_j p̄_{j→k},

where p̄_{i→j} is the mean predicted probability of class j over the examples of class i. On the
training sample this holds exactly; on new data from the same distributions approximately. In
the binary case it reduces to Eq. (10):

    (1 − p̄_{0→0}) / p̄_{1→0} = λ_1 N_1 / (λ_0 N_0).

Reference:
    [Li et al., 2020, "On the Learning Property of Logistic and Softmax Losses for Deep Neural
    Networks"](https://arxiv.org/abs/2003.02309), AAAI 2020, Eq. (8)-(10) and Table 1.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

_ROW_SUM_ATOL = 1e-4


@dataclasses.dataclass(frozen=True)
class ProbabilityEquations:
    """Both sides of Eq. (9) for every class, with the statistics they are made of.

    Attributes:
        lhs: `[K]`, `λ_k N_k (1 − p̄_{k→k})` = `λ_k Σ_{i∈S_k} (1 − p_k(x_i))` (Eq. 8).
        rhs: `[K]`, `Σ_{j≠k} λ_j N_j p̄_{j→k}`.
        counts: `[K]` int, `N_k`, the number of examples of each class.
        mean_probs: `[K, K]`, `mean_probs[i, j]` = p̄_{i→j}. Rows of absent classes are NaN.
        class_weights: `[K]`, the weights λ_k used.
    """

    lhs: np.ndarray
    rhs: np.ndarray
    counts: np.ndarray
    mean_probs: np.ndarray
    class_weights: np.ndarray


def probability_equations(probs: Any, labels: Any, class_weights: Any = None) -> ProbabilityEquations:
    """Computes the left- and right-hand sides of the probability equations, Eq. (9).

    Formula:

    ```
    lhs[k] = λ_k Σ_{i: y_i = k} (1 − p_k(x_i))        = λ_k N_k (1 − p̄_{k→k})
    rhs[k] = Σ_{j≠k} λ_j Σ_{i: y_i = j} p_k(x_i)       = Σ_{j≠k} λ_j N_j p̄_{j→k}
    ```

    For a model trained to a stationary point of the loss
    `Σ_i λ_{y_i} CE(y_i, p(x_i))` (softmax cross-entropy, or the logistic loss for K = 2) with an
    unpenalised output bias, `lhs == rhs` on its training data (Eq. 8); on test data from the same
    distributions the two agree approximately (Eq. 9).

    Args:
        probs: `[N, K]` predicted class probabilities (e.g. softmax outputs); each row must sum
            to 1 (within 1e-4). Numpy array or tensor.
        labels: `[N]` integer class labels in `[0, K)`.
        class_weights: `[K]` non-negative class weights λ_k, or `None` for all ones. Defaults
            to `None`.

    Returns:
        A `ProbabilityEquations` of numpy arrays (float64; `counts` int64). The sides are computed from sums over
        examples (Eq. 8), so a class absent from `labels` contributes 0 to every side, exactly as
        it does to the loss; its row of `mean_probs` is NaN because p̄_{k→·} is undefined.

    Raises:
        ValueError: if `probs` is not a finite `[N, K]` array of probabilities with rows summing
            to 1, `labels` is not `[N]` integers in `[0, K)`, or `class_weights` is not a finite
            non-negative `[K]` vector.

    Example:

    >>> probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    >>> result = probability_equations(probs, np.array([0, 0, 1]))
    >>> result.lhs.round(6), result.rhs.round(6)
    (array([0.5, 0.2]), array([0.2, 0.5]))
    """
    probs = _validate_probs(probs)
    num_classes = probs.shape[1]
    labels = _validate_labels(labels, probs.shape[0], num_classes)
    class_weights = _validate_class_weights(class_weights, num_classes)

    one_hot = np.eye(num_classes)[labels]  # [N, K]
    counts = np.bincount(labels, minlength=num_classes)  # [K]
    sums = one_hot.T @ probs  # [K, K]: sums[j, k] = Σ_{i: y_i = j} p_k(x_i)
    own = np.diag(sums)  # Σ_{i∈S_k} p_k(x_i)
    lhs = class_weights * (counts - own)
    rhs = class_weights @ sums - class_weights * own
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_probs = np.where(counts[:, None] > 0, sums / counts[:, None], np.nan)
    return ProbabilityEquations(lhs=lhs, rhs=rhs, counts=counts, mean_probs=mean_probs, class_weights=class_weights)


def eq10_lhs(probs_or_p0: Any, labels: Any) -> float:
    """The left-hand side of the binary probability equation, Eq. (10).

    Formula: `(1 − p̄_{0→0}) / p̄_{1→0}`, where p̄_{i→0} is the mean predicted probability of
    class 0 over the examples of class i.

    Args:
        probs_or_p0: `[N, 2]` class probabilities, or `[N]` probabilities of **class 0** (note:
            not of class 1, which many binary models output; pass `1 − p1` in that case).
        labels: `[N]` labels in `{0, 1}`; both classes must occur.

    Returns:
        The ratio as a Python float. It is `inf` if no class-1 example gets any probability of
        class 0 (p̄_{1→0} = 0) while p̄_{0→0} < 1, and NaN if both are degenerate (0 / 0).

    Raises:
        ValueError: on invalid probabilities or labels (see `probability_equations`), or if a
            class has no examples (the ratio is then undefined).

    Example:

    >>> round(eq10_lhs(np.array([0.9, 0.7, 0.1, 0.3]), np.array([0, 0, 1, 1])), 6)
    1.0
    """
    p = np.asarray(probs_or_p0, dtype=np.float64)
    if p.ndim == 1:
        p = np.stack([p, 1.0 - p], axis=1)
    elif p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(
            "Invalid value for argument `probs_or_p0`. Expected shape [N] (probability of class 0) "
            f"or [N, 2]. Received: probs_or_p0 with shape {p.shape}"
        )
    result = probability_equations(p, labels)
    if np.any(result.counts == 0):
        raise ValueError(
            "Invalid value for argument `labels`. Eq. (10) needs examples of both classes. "
            f"Received: class counts {result.counts.tolist()}"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        return float((1.0 - result.mean_probs[0, 0]) / result.mean_probs[1, 0])


def eq10_rhs(lambda0: float, n0: int, n1: int) -> float:
    """The right-hand side of the binary probability equation, Eq. (10).

    Formula: `λ_1 N_1 / (λ_0 N_0)` with `λ_1 = 1 − λ_0`.

    Args:
        lambda0: weight λ_0 of the class-0 examples, in `(0, 1)`; class 1 gets `1 − lambda0`.
        n0: number N_0 of class-0 (training) examples, positive.
        n1: number N_1 of class-1 (training) examples, positive.

    Returns:
        The ratio as a Python float.

    Raises:
        ValueError: if `lambda0` is not in `(0, 1)` or a count is not positive.

    Example:

    >>> eq10_rhs(0.5, n0=1000, n1=10000)
    10.0
    """
    if not 0.0 < lambda0 < 1.0:
        raise ValueError(
            f"Invalid value for argument `lambda0`. Expected a float in (0, 1). Received: lambda0={lambda0}"
        )
    for name, value in (("n0", n0), ("n1", n1)):
        if not value > 0:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected a positive count. Received: {name}={value}"
            )
    return float((1.0 - lambda0) * n1 / (lambda0 * n0))


def _validate_probs(probs: Any) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] < 2:
        raise ValueError(
            f"Invalid value for argument `probs`. Expected shape [N, K] with N >= 1 and K >= 2. "
            f"Received: probs with shape {probs.shape}"
        )
    valid = np.isfinite(probs) & (probs >= 0.0) & (probs <= 1.0)
    if not valid.all():
        bad = int(np.flatnonzero(~valid.all(axis=1))[0])
        raise ValueError(
            "Invalid value for argument `probs`. Expected finite probabilities in [0, 1]. "
            f"Received: probs[{bad}]={probs[bad].tolist()}"
        )
    row_sums = probs.sum(axis=1)
    if not np.allclose(row_sums, 1.0, rtol=0.0, atol=_ROW_SUM_ATOL):
        bad = int(np.argmax(np.abs(row_sums - 1.0)))
        raise ValueError(
            "Invalid value for argument `probs`. Expected rows that sum to 1 (class probabilities, "
            f"e.g. softmax outputs, not logits). Received: probs[{bad}] sums to {row_sums[bad]}"
        )
    return probs


def _validate_labels(labels: Any, num_examples: int, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (num_examples,):
        raise ValueError(
            f"Invalid value for argument `labels`. Expected shape [{num_examples}] to match `probs`. "
            f"Received: labels with shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"Invalid value for argument `labels`. Expected integer labels. Received: dtype={labels.dtype}"
        )
    if np.any(labels < 0) or np.any(labels >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(
            f"Invalid value for argument `labels`. Expected labels in [0, {num_classes}). Received: label {bad}"
        )
    return labels.astype(np.int64)


def _validate_class_weights(class_weights: Any, num_classes: int) -> np.ndarray:
    if class_weights is None:
        return np.ones(num_classes)
    weights = np.asarray(class_weights, dtype=np.float64)
    if weights.shape != (num_classes,) or not np.all(np.isfinite(weights)) or np.any(weights < 0.0):
        raise ValueError(
            f"Invalid value for argument `class_weights`. Expected {num_classes} finite non-negative "
            f"weights. Received: class_weights={weights.tolist()}"
        )
    return weights

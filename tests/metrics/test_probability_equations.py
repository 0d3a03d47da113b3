"""Probability equations, Eq. (8)-(10) of the LGL paper: hand values, the identity at a stationary
point of a weighted softmax regression, and the errors users see."""

import re
import warnings

import numpy as np
import pytest
import tensorflow as tf
from sklearn.linear_model import LogisticRegression

from tfxai.metrics.probability_equations import ProbabilityEquations, eq10_lhs, eq10_rhs, probability_equations

# Four examples, three classes, weights λ = (1, 2, 3).
PROBS = np.array([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
LABELS = np.array([0, 0, 1, 2])
WEIGHTS = np.array([1.0, 2.0, 3.0])


class TestProbabilityEquations:
    def test_hand_computed(self):
        result = probability_equations(PROBS, LABELS, WEIGHTS)
        assert isinstance(result, ProbabilityEquations)
        np.testing.assert_array_equal(result.counts, [2, 1, 1])
        np.testing.assert_allclose(result.mean_probs, [[0.6, 0.25, 0.15], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
        # lhs_k = λ_k N_k (1 − p̄_{k→k}): 1·2·0.4, 2·1·0.2, 3·1·0.4.
        np.testing.assert_allclose(result.lhs, [0.8, 0.4, 1.2])
        # rhs_0 = 2·0.1 + 3·0.2; rhs_1 = 1·(0.2 + 0.3) + 3·0.2; rhs_2 = 1·(0.1 + 0.2) + 2·0.1.
        np.testing.assert_allclose(result.rhs, [0.8, 1.1, 0.5])
        np.testing.assert_array_equal(result.class_weights, WEIGHTS)

    def test_default_weights_are_ones(self):
        result = probability_equations(PROBS, LABELS)
        np.testing.assert_allclose(result.lhs, [0.8, 0.2, 0.4])
        np.testing.assert_allclose(result.rhs, [0.3, 0.7, 0.4])

    def test_sides_have_equal_totals(self, rng):
        # Σ_k lhs_k = Σ_k rhs_k = Σ_i λ_{y_i} (1 − p_{y_i}(x_i)) for any probabilities.
        probs = rng.dirichlet(np.ones(4), size=50)
        result = probability_equations(probs, rng.integers(0, 4, 50), rng.uniform(0.1, 3.0, 4))
        assert result.lhs.sum() == pytest.approx(result.rhs.sum(), rel=1e-12)

    def test_absent_class_contributes_zero_and_has_nan_means(self):
        result = probability_equations(PROBS[:3], LABELS[:3], WEIGHTS)
        assert result.counts[2] == 0 and result.lhs[2] == 0.0
        assert result.rhs[2] == pytest.approx(1.0 * (0.1 + 0.2) + 2.0 * 0.1)
        assert np.all(np.isnan(result.mean_probs[2])) and np.all(np.isfinite(result.mean_probs[:2]))

    def test_tensors_in_numpy_out(self):
        probs = tf.nn.softmax(tf.random.stateless_normal([20, 3], seed=[1, 2]))
        labels = tf.constant(np.arange(20) % 3, dtype=tf.int32)
        result = probability_equations(probs, labels, tf.constant([1.0, 2.0, 0.5]))
        expected = probability_equations(probs.numpy(), labels.numpy(), np.array([1.0, 2.0, 0.5]))
        for field in ("lhs", "rhs", "mean_probs"):
            assert isinstance(getattr(result, field), np.ndarray)
            np.testing.assert_allclose(getattr(result, field), getattr(expected, field))

    def test_eq9_identity_at_stationary_point_of_weighted_softmax_regression(self, rng):
        # Three overlapping Gaussian classes of unequal size, fitted by unpenalised weighted softmax
        # regression; its intercepts make Eq. (8) exact on the training data.
        counts, weights = (600, 200, 80), np.array([1.0, 2.5, 6.0])
        means = np.array([[0.0, 0.0], [1.5, 0.5], [0.5, 1.5]])
        x = np.concatenate([rng.normal(m, 1.0, (n, 2)) for m, n in zip(means, counts)])
        y = np.repeat(np.arange(3), counts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # `penalty=None` is spelled `C=inf` from 1.8 on.
            model = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(x, y, sample_weight=weights[y])
        probs = model.predict_proba(x)
        result = probability_equations(probs, y, weights)
        np.testing.assert_allclose(result.lhs, result.rhs, rtol=1e-3)
        # The identity is specific to the weights the model was trained with.
        unweighted = probability_equations(probs, y)
        assert np.max(np.abs(unweighted.lhs / unweighted.rhs - 1.0)) > 0.2

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            (dict(probs=np.array([0.5, 0.5]), labels=np.array([0])), "Expected shape [N, K]"),
            (dict(probs=np.array([[2.0, -1.0]]), labels=np.array([0])), "in [0, 1]. Received: probs[0]=[2.0, -1.0]"),
            (dict(probs=np.array([[0.5, np.nan]]), labels=np.array([0])), "Expected finite probabilities"),
            (dict(probs=np.array([[0.5, 0.4], [0.3, 0.3]]), labels=np.array([0, 1])), "probs[1] sums to 0.6"),
            (dict(probs=PROBS, labels=LABELS[:3]), "Expected shape [4] to match `probs`"),
            (dict(probs=PROBS, labels=LABELS.astype(float)), "Expected integer labels"),
            (dict(probs=PROBS, labels=np.array([0, 1, 2, 3])), "Expected labels in [0, 3). Received: label 3"),
            (dict(probs=PROBS, labels=LABELS, class_weights=[1.0, 2.0]), "class_weights=[1.0, 2.0]"),
            (dict(probs=PROBS, labels=LABELS, class_weights=[1.0, -2.0, 1.0]), "finite non-negative"),
        ],
    )
    def test_invalid_inputs(self, kwargs, message):
        with pytest.raises(ValueError, match=re.escape(message)):
            probability_equations(**kwargs)


class TestEq10:
    def test_lhs_hand_computed(self):
        # p̄_{0→0} = 0.8, p̄_{1→0} = 0.25: (1 − 0.8) / 0.25.
        p0 = np.array([0.9, 0.7, 0.2, 0.3])
        labels = np.array([0, 0, 1, 1])
        assert eq10_lhs(p0, labels) == pytest.approx(0.8)
        assert eq10_lhs(np.stack([p0, 1.0 - p0], axis=1), labels) == pytest.approx(0.8)

    def test_lhs_is_inf_when_no_class1_probability_on_class0(self):
        assert eq10_lhs(np.array([0.5, 0.0]), np.array([0, 1])) == np.inf

    def test_lhs_needs_both_classes(self):
        with pytest.raises(
            ValueError, match=re.escape("needs examples of both classes. Received: class counts [2, 0]")
        ):
            eq10_lhs(np.array([0.9, 0.7]), np.array([0, 0]))

    def test_lhs_rejects_more_than_two_classes(self):
        with pytest.raises(ValueError, match=re.escape("Received: probs_or_p0 with shape (4, 3)")):
            eq10_lhs(PROBS, LABELS)

    def test_rhs_table1_values(self):
        n0, n1 = 1000, 10000
        assert eq10_rhs(0.5, n0, n1) == pytest.approx(10.0)
        assert eq10_rhs(n1 / (n0 + n1), n0, n1) == pytest.approx(1.0)
        assert eq10_rhs(2 * n1 / (2 * n1 + n0), n0, n1) == pytest.approx(0.5)

    @pytest.mark.parametrize(
        "args, message",
        [
            ((0.0, 10, 10), "lambda0=0.0"),
            ((1.0, 10, 10), "lambda0=1.0"),
            ((0.5, 0, 10), "n0=0"),
            ((0.5, 10, -1), "n1=-1"),
        ],
    )
    def test_rhs_invalid(self, args, message):
        with pytest.raises(ValueError, match=re.escape(message)):
            eq10_rhs(*args)

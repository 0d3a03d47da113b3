"""Saliency: closed forms on linear and quadratic models, logits and probabilities."""

from __future__ import annotations

import numpy as np

from tfxai.attribution import Saliency


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class TestSaliency:
    def test_linear_logits_is_weight_column(self, linear):
        targets = np.array([0, 1, 2, 1])
        attributions = Saliency(linear.model)(linear.x, targets).numpy()
        np.testing.assert_allclose(attributions, linear.weights[:, targets].T, rtol=1e-6)

    def test_linear_probabilities_is_softmax_jacobian_row(self, linear):
        targets = np.array([2, 0, 1, 1])
        p = _softmax(linear.model.predict(linear.x, verbose=0).astype(np.float64))
        w = linear.weights.astype(np.float64)
        # d p_t / dx = p_t (w_t - sum_k p_k w_k)
        expected = p[np.arange(4), targets][:, None] * (w[:, targets].T - p @ w.T)
        attributions = Saliency(linear.model, output="probabilities")(linear.x, targets).numpy()
        np.testing.assert_allclose(attributions, expected, rtol=1e-5, atol=1e-7)

    def test_quadratic_is_two_a_x(self, quadratic):
        attributions = Saliency(quadratic.model)(quadratic.x, 0).numpy()
        np.testing.assert_allclose(attributions, 2 * quadratic.a * quadratic.x, rtol=1e-6)

    def test_predicted_class_by_default(self, linear):
        predicted = np.argmax(linear.model.predict(linear.x, verbose=0), axis=1)
        np.testing.assert_allclose(Saliency(linear.model)(linear.x).numpy(), linear.weights[:, predicted].T, rtol=1e-6)

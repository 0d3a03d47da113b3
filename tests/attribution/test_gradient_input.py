"""Gradient x Input: closed forms on linear and quadratic models."""

from __future__ import annotations

import numpy as np

from tfxai.attribution import GradientInput, IntegratedGradients


class TestGradientInput:
    def test_linear_is_input_times_weights(self, linear):
        targets = np.array([1, 1, 0, 2])
        attributions = GradientInput(linear.model)(linear.x, targets).numpy()
        np.testing.assert_allclose(attributions, linear.x * linear.weights[:, targets].T, rtol=1e-6)

    def test_linear_equals_ig_with_zero_baseline(self, linear):
        ig = IntegratedGradients(linear.model, steps=3, baselines="black")(linear.x, 2).numpy()
        np.testing.assert_allclose(GradientInput(linear.model)(linear.x, 2).numpy(), ig, rtol=1e-5)

    def test_quadratic_is_two_a_x_squared(self, quadratic):
        attributions = GradientInput(quadratic.model)(quadratic.x, 0).numpy()
        np.testing.assert_allclose(attributions, 2 * quadratic.a * quadratic.x**2, rtol=1e-6)

"""Integrated Gradients: closed forms, completeness, baselines, PAIR cross-check, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.attribution.conftest import output_gradients, pair_call_model_function
from tfxai.attribution import IntegratedGradients, Saliency, gaussian_blur
from tfxai.attribution.base import _quadrature

METHODS = ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]


def _start(explainer: IntegratedGradients, x: np.ndarray) -> np.ndarray:
    """The baseline x' the explainer integrates from."""
    return explainer._path(tf.constant(x))[2].numpy()


class TestClosedForms:
    @pytest.mark.parametrize("method", METHODS)
    @pytest.mark.parametrize("baselines", ["black", "white", "uniform", [0.5, -1.0, 0.0, 2.0, 0.3, 0.1]])
    def test_linear_is_difference_times_weights(self, linear, method, baselines):
        explainer = IntegratedGradients(linear.model, steps=5, method=method, baselines=baselines)
        targets = np.array([0, 2, 1, 0])
        expected = (linear.x - _start(explainer, linear.x)) * linear.weights[:, targets].T
        np.testing.assert_allclose(explainer(linear.x, targets).numpy(), expected, rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize("method", METHODS)
    def test_quadratic_matches_rule(self, quadratic, method):
        # grad f = 2 a x is affine along the path, so the rule only sees the mean node:
        # IG = (x - x') * 2a * (x' + mean_alpha (x - x')), mean_alpha = sum_k w_k alpha_k.
        steps, x, a = 6, quadratic.x, quadratic.a
        baseline = np.linspace(-0.5, 0.5, x.shape[1]).astype("float32")
        alphas, weights = _quadrature(method, steps)
        mean_alpha = float(np.dot(alphas, weights))
        expected = (x - baseline) * 2 * a * (baseline + mean_alpha * (x - baseline))
        attributions = IntegratedGradients(quadratic.model, steps=steps, method=method, baselines=baseline)(x, 0)
        np.testing.assert_allclose(attributions.numpy(), expected, rtol=1e-5, atol=1e-6)
        if method in ("riemann_middle", "riemann_trapezoid"):  # exact: a (x^2 - x'^2)
            np.testing.assert_allclose(attributions.numpy(), a * (x**2 - baseline**2), rtol=1e-5, atol=1e-6)


class TestCompleteness:
    @pytest.mark.parametrize("method", ["riemann_middle", "riemann_trapezoid"])
    def test_delta_shrinks_with_steps(self, cnn, images, method):
        errors = []
        for steps in (4, 16, 64):
            explainer = IntegratedGradients(cnn, steps=steps, method=method, return_convergence_delta=True)
            attributions, delta = explainer(images)
            assert delta.shape == (len(images),)
            errors.append(np.abs(delta.numpy()).max())
        # second-order rules: 4x the steps should cut the error about 16x; ask for 4x
        assert errors[1] < errors[0] / 4 and errors[2] < errors[1] / 4, errors

    def test_delta_is_output_gap_minus_sum(self, cnn, images):
        attributions, delta = IntegratedGradients(cnn, steps=8, return_convergence_delta=True)(images, 4)
        logits_x, logits_0 = cnn.predict(images, verbose=0), cnn.predict(np.zeros_like(images), verbose=0)
        expected = logits_x[:, 4] - logits_0[:, 4] - attributions.numpy().reshape(len(images), -1).sum(axis=1)
        np.testing.assert_allclose(delta.numpy(), expected, rtol=1e-4, atol=1e-5)

    def test_probabilities_complete(self, cnn, images):
        _, delta = IntegratedGradients(cnn, steps=64, output="probabilities", return_convergence_delta=True)(images)
        assert np.abs(delta.numpy()).max() < 1e-4


class TestPath:
    def test_interpolation_endpoints_and_shape(self):
        baseline = tf.zeros([2, 3, 3, 1]) - 1.0
        x = tf.random.stateless_uniform([2, 3, 3, 1], seed=[0, 1])
        points = IntegratedGradients._interpolate(baseline, x, tf.constant([0.0, 0.25, 1.0])).numpy()
        assert points.shape == (3, 2, 3, 3, 1)
        np.testing.assert_allclose(points[0], baseline.numpy())
        np.testing.assert_allclose(points[2], x.numpy(), rtol=1e-6)
        np.testing.assert_allclose(points[1], -1.0 + 0.25 * (x.numpy() + 1.0), rtol=1e-6)

    def test_named_baselines(self, cnn, images):
        def start(**kwargs):
            return _start(IntegratedGradients(cnn, steps=2, input_range=(-1.0, 2.0), **kwargs), images)

        np.testing.assert_array_equal(start(baselines="black"), np.full_like(images, -1.0))
        np.testing.assert_array_equal(start(baselines="white"), np.full_like(images, 2.0))
        uniform = start(baselines="uniform", seed=4)
        assert uniform.min() >= -1.0 and uniform.max() <= 2.0 and uniform.std() > 0.5
        np.testing.assert_array_equal(uniform, np.broadcast_to(uniform[:1], uniform.shape))  # shared by examples
        np.testing.assert_array_equal(uniform, start(baselines="uniform", seed=4))
        assert not np.allclose(uniform, start(baselines="uniform", seed=5))
        blurred = start(baselines="blurred", blur_sigma=1.5)
        np.testing.assert_allclose(blurred, gaussian_blur(images, 1.5).numpy(), rtol=1e-6)
        tensor = start(baselines=np.linspace(0, 1, 8)[:, None, None])  # broadcast over columns and channels
        np.testing.assert_allclose(tensor[3, :, 5, 0], np.linspace(0, 1, 8), rtol=1e-6)


class TestAgainstPair:
    def test_matches_pair_integrated_gradients(self, cnn, images, pair):
        # PAIR averages gradients at linspace(0, 1, n) with equal weights 1/n; on the same
        # nodes our trapezoid T_n gives PAIR = (n-1)/n T_n + (x - x') (g(x') + g(x)) / (2n).
        n, target = 9, 3
        ours = IntegratedGradients(cnn, steps=n, baselines="black")(images, target).numpy()
        ends = Saliency(cnn).explain(np.concatenate([np.zeros_like(images), images]), target).numpy()
        corrected = (n - 1) / n * ours + images * (ends[: len(images)] + ends[len(images) :]) / (2 * n)
        call = pair_call_model_function(cnn, target, pair)
        for x, expected in zip(images, corrected, strict=True):
            reference = pair.integrated_gradients.IntegratedGradients().GetMask(
                x, call, x_baseline=np.zeros_like(x), x_steps=n, batch_size=n
            )
            np.testing.assert_allclose(expected, reference, rtol=1e-4, atol=1e-6)

    def test_oracle_gradients_are_ours(self, cnn, images):
        np.testing.assert_allclose(
            Saliency(cnn)(images, 7).numpy(), output_gradients(cnn, images, 7), rtol=1e-6, atol=1e-7
        )


class TestValidation:
    def test_steps_message(self, cnn):
        with pytest.raises(
            ValueError, match=r"^Invalid value for argument `steps`. Expected a positive int. Received: steps=0$"
        ):
            IntegratedGradients(cnn, steps=0)
        with pytest.raises(
            ValueError, match=r"Expected an int >= 2 with method='riemann_trapezoid'. Received: steps=1"
        ):
            IntegratedGradients(cnn, steps=1, method="riemann_trapezoid")
        with pytest.raises(TypeError, match="Received: steps=2.0"):
            IntegratedGradients(cnn, steps=2.0)

    def test_method_and_baselines(self, cnn, linear):
        with pytest.raises(ValueError, match="argument `method`.*Received: method='simpson'"):
            IntegratedGradients(cnn, method="simpson")
        with pytest.raises(ValueError, match="argument `baselines`.*Received: baselines='grey'"):
            IntegratedGradients(cnn, baselines="grey")
        with pytest.raises(ValueError, match=r"broadcastable to \(8, 8, 1\)"):
            IntegratedGradients(cnn, baselines=np.zeros((3, 3)))
        with pytest.raises(ValueError, match="finite values"):
            IntegratedGradients(cnn, baselines=np.full((8, 8, 1), np.inf))
        with pytest.raises(ValueError, match=r"'blurred' needs image inputs"):
            IntegratedGradients(linear.model, baselines="blurred")
        with pytest.raises(ValueError, match="argument `input_range`.*low < high"):
            IntegratedGradients(cnn, input_range=(1.0, 0.0))
        with pytest.raises(ValueError, match="argument `blur_sigma`"):
            IntegratedGradients(cnn, blur_sigma=-1.0)
        with pytest.raises(TypeError, match="return_convergence_delta"):
            IntegratedGradients(cnn, return_convergence_delta="yes")

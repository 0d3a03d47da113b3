"""SmoothGrad: closed forms, the noise level convention, seeding, wrapper mode, PAIR cross-check."""

from __future__ import annotations

import numpy as np
import pytest

from tests.attribution.conftest import pair_call_model_function, polynomial_model, tiny_cnn
from tfxai.attribution import GradientInput, IntegratedGradients, Saliency, SmoothGrad


class TestClosedForms:
    def test_linear_is_weight_column_whatever_the_noise(self, linear):
        targets = np.array([2, 0, 1, 2])
        attributions = SmoothGrad(linear.model, num_samples=7)(linear.x, targets).numpy()
        np.testing.assert_allclose(attributions, linear.weights[:, targets].T, rtol=1e-5)

    def test_noise_level_sets_sigma(self):
        # f = sum_j x_j^3: E[3 (x + eps)^2] = 3 x^2 + 3 sigma^2, sigma = 0.15 (max(x) - min(x)).
        x = np.array([[0.0, 0.2, 0.5, 1.0, 0.7], [0.1, 0.2, 0.3, 0.4, 0.5]], "float32")
        model = polynomial_model(np.ones(5, "float32"), 3)
        attributions = SmoothGrad(model, num_samples=4000, noise_level=0.15)(x, 0).numpy()
        sigma = 0.15 * (x.max(axis=1) - x.min(axis=1))
        estimated = (attributions / 3 - x**2).mean(axis=1)
        np.testing.assert_allclose(estimated, sigma**2, rtol=0.1)

    def test_converges_to_gradient_of_quadratic(self, quadratic):
        attributions = SmoothGrad(quadratic.model, num_samples=4000)(quadratic.x, 0).numpy()
        np.testing.assert_allclose(attributions, 2 * quadratic.a * quadratic.x, atol=0.02)


class TestSeeding:
    def test_same_seed_same_result_other_seed_differs(self, cnn, images):
        first = SmoothGrad(cnn, num_samples=5, seed=3)(images).numpy()
        np.testing.assert_array_equal(SmoothGrad(cnn, num_samples=5, seed=3)(images).numpy(), first)
        assert not np.allclose(SmoothGrad(cnn, num_samples=5, seed=4)(images).numpy(), first)

    def test_none_seed_is_recorded(self, cnn):
        explainer = SmoothGrad(cnn, seed=None)
        assert isinstance(explainer.get_config()["seed"], int)


class TestWrapper:
    def test_wrapping_saliency_is_smoothgrad(self, cnn, images):
        wrapped = SmoothGrad.wrap(Saliency(cnn), num_samples=6, seed=2)(images).numpy()
        np.testing.assert_allclose(wrapped, SmoothGrad(cnn, num_samples=6, seed=2)(images).numpy(), rtol=1e-6)

    def test_smoothed_ig_on_linear_is_smoothed_gradient_times_input(self, linear):
        # IG(x + eps) = (x + eps) w_t with a zero baseline: the same as Gradient x Input.
        ig = SmoothGrad.wrap(IntegratedGradients(linear.model, steps=3), num_samples=5)(linear.x, 1).numpy()
        gxi = SmoothGrad.wrap(GradientInput(linear.model), num_samples=5)(linear.x, 1).numpy()
        np.testing.assert_allclose(ig, gxi, rtol=1e-5, atol=1e-6)
        assert not np.allclose(gxi, linear.x * linear.weights[:, 1])  # the noise is there

    def test_rejects_mismatched_explainer(self, cnn):
        with pytest.raises(ValueError, match="this SmoothGrad's model, output and internal_batch_size"):
            SmoothGrad(cnn, explainer=Saliency(tiny_cnn(5)))
        with pytest.raises(ValueError, match="Received: .*'probabilities'"):
            SmoothGrad(cnn, explainer=Saliency(cnn, output="probabilities"))
        with pytest.raises(TypeError, match="argument `explainer`"):
            SmoothGrad(cnn, explainer="ig")


class TestValidation:
    def test_bad_arguments(self, cnn):
        with pytest.raises(
            ValueError, match=r"argument `num_samples`. Expected a positive int. Received: num_samples=0"
        ):
            SmoothGrad(cnn, num_samples=0)
        with pytest.raises(ValueError, match="argument `noise_level`. Expected a finite float > 0"):
            SmoothGrad(cnn, noise_level=0.0)
        with pytest.raises(ValueError, match="argument `seed`"):
            SmoothGrad(cnn, seed=-1)


class TestAgainstPair:
    def test_matches_pair_smoothgrad_in_expectation(self, cnn, images, pair):
        # Different random streams: compare two Monte-Carlo means of the same expectation,
        # with enough noise that the smoothing itself is much larger than their gap.
        np.random.seed(0)
        x, target, n, level = images[0], 5, 2000, 0.5
        ours = SmoothGrad(cnn, num_samples=n, noise_level=level)(x[None], target).numpy()[0]
        reference = pair.gradients.GradientSaliency().GetSmoothedMask(
            x, pair_call_model_function(cnn, target, pair), stdev_spread=level, nsamples=n, magnitude=False
        )
        gap = np.linalg.norm(ours - reference)
        assert gap < 0.03 * np.linalg.norm(reference)
        assert gap < 0.25 * np.linalg.norm(ours - Saliency(cnn)(x[None], target).numpy()[0])

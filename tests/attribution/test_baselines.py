"""The Gaussian blur in core TensorFlow: kernels, identity at sigma 0, scipy agreement, sigma-derivative."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from tfxai.attribution import gaussian_blur
from tfxai.attribution.baselines import _blur, _gaussian_taps


@pytest.fixture(scope="module")
def colour_images() -> np.ndarray:
    return np.random.default_rng(4).uniform(size=(3, 9, 7, 2)).astype("float32")


class TestKernel:
    @pytest.mark.parametrize("sigma", [0.0, 0.3, 1.0, 2.5, 12.0])
    def test_kernel_sums_to_one_and_is_symmetric(self, sigma):
        support = int(4 * max(sigma, 1.0) + 0.5)
        taps, d_taps = _gaussian_taps(tf.constant([sigma]), support, support)
        np.testing.assert_allclose(taps.numpy().sum(), 1.0, rtol=1e-6)
        np.testing.assert_allclose(taps.numpy()[0], taps.numpy()[0, ::-1], rtol=1e-6)
        np.testing.assert_allclose(d_taps.numpy().sum(), 0.0, atol=1e-6)  # the mass stays 1


class TestBlur:
    def test_zero_sigma_is_identity(self, colour_images):
        np.testing.assert_array_equal(gaussian_blur(colour_images, 0.0).numpy(), colour_images)
        np.testing.assert_allclose(gaussian_blur(colour_images, 1e-4).numpy(), colour_images, rtol=1e-6)

    @pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5, 20.0])
    def test_matches_scipy_gaussian_filter(self, colour_images, sigma):
        def scipy_blur(truncate: float) -> np.ndarray:
            return np.stack(
                [
                    ndimage.gaussian_filter(
                        image.astype(np.float64), (sigma, sigma, 0), mode="constant", truncate=truncate
                    )
                    for image in colour_images
                ]
            )

        blurred = gaussian_blur(colour_images, sigma).numpy()
        np.testing.assert_allclose(blurred, scipy_blur(6.0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(blurred, scipy_blur(4.0), rtol=1e-4, atol=1e-6)  # scipy's default

    def test_each_row_has_its_own_sigma(self, colour_images):
        sigmas = [0.0, 1.5, 6.0]
        blurred = _blur(tf.constant(colour_images), tf.constant(sigmas), max_sigma=6.0).numpy()
        for image, sigma, result in zip(colour_images, sigmas, blurred, strict=True):
            np.testing.assert_allclose(result, gaussian_blur(image[None], sigma).numpy()[0], rtol=1e-5, atol=1e-6)

    def test_sigma_derivative_matches_finite_differences(self, colour_images):
        sigmas, h = tf.constant([0.6, 1.7, 4.0]), 1e-2
        x = tf.constant(colour_images)
        _, derivative = _blur(x, sigmas, max_sigma=5.0, derivative=True)

        def blur(shift: float) -> np.ndarray:
            return _blur(x, sigmas + shift, max_sigma=5.0).numpy().astype(np.float64)

        # five-point stencil, error O(h^4)
        finite_difference = (8 * (blur(h) - blur(-h)) - (blur(2 * h) - blur(-2 * h))) / (12 * h)
        np.testing.assert_allclose(derivative.numpy(), finite_difference, atol=5e-5)

    def test_rejects_negative_sigma(self, colour_images):
        with pytest.raises(ValueError, match=r"argument `sigma`. Expected a float >= 0. Received: sigma=-1.0"):
            gaussian_blur(colour_images, -1.0)

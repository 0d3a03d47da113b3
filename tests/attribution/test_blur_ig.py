"""BlurIG: path endpoints, completeness against the blurred start, PAIR cross-check, bad arguments."""

from __future__ import annotations

import functools
import types

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from tests.attribution.conftest import pair_call_model_function
from tfxai.attribution import BlurIG, gaussian_blur


class TestPath:
    def test_endpoints_are_blurred_start_and_input(self, cnn, images):
        explainer = BlurIG(cnn, steps=5, max_sigma=3.0)
        points, velocities, start = (t.numpy() for t in explainer._path(tf.constant(images)))
        assert points.shape == velocities.shape == (5, *images.shape)
        np.testing.assert_allclose(start, gaussian_blur(images, 3.0).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(points[0], start, rtol=1e-5, atol=1e-6)  # alpha = 0: sigma = max_sigma
        np.testing.assert_allclose(points[-1], images, rtol=1e-6)  # alpha = 1: sigma = 0
        np.testing.assert_allclose(velocities[-1], 0.0, atol=1e-6)  # the blur is flat in sigma at 0


class TestCompleteness:
    def test_sum_approaches_output_gap_to_blurred_input(self, cnn, images):
        errors = []
        for steps in (8, 32, 128):
            explainer = BlurIG(cnn, steps=steps, max_sigma=4.0, return_convergence_delta=True)
            attributions, delta = explainer(images, 2)
            errors.append(np.abs(delta.numpy()).max())
        logits = cnn.predict(np.concatenate([images, gaussian_blur(images, 4.0).numpy()]), verbose=0)[:, 2]
        gap = logits[: len(images)] - logits[len(images) :]
        np.testing.assert_allclose(
            attributions.numpy().reshape(len(images), -1).sum(1), gap - delta.numpy(), rtol=1e-4, atol=1e-5
        )
        assert errors[1] < errors[0] / 4 and errors[2] < errors[1] / 4, errors
        assert errors[2] < 1e-3 * np.abs(gap).max()


class TestAgainstPair:
    def test_matches_pair_blur_ig(self, cnn, images, pair, monkeypatch):
        # PAIR: left sum in sigma from 0 with a forward difference of step grad_step, which is
        # our right sum in alpha; a small grad_step on float64 images makes the derivatives
        # agree, and PAIR's scipy blur gets our kernel reach (6 sigma, see gaussian_blur).
        monkeypatch.setattr(
            pair.blur_ig,
            "ndimage",
            types.SimpleNamespace(gaussian_filter=functools.partial(ndimage.gaussian_filter, truncate=6.0)),
        )
        steps, max_sigma, target = 20, 3.0, 6
        ours = BlurIG(cnn, steps=steps, max_sigma=max_sigma, method="riemann_right")(images, target).numpy()
        call = pair_call_model_function(cnn, target, pair)
        for x, expected in zip(images, ours, strict=True):
            reference = pair.blur_ig.BlurIG().GetMask(
                x.astype(np.float64), call, max_sigma=max_sigma, steps=steps, grad_step=1e-4, batch_size=steps
            )
            np.testing.assert_allclose(expected, reference, rtol=1e-3, atol=1e-4 * np.abs(reference).max())


class TestValidation:
    def test_bad_arguments(self, cnn, linear):
        with pytest.raises(ValueError, match=r"argument `model`. Expected a model of images \[H, W, C\]"):
            BlurIG(linear.model)
        with pytest.raises(
            ValueError, match="argument `max_sigma`. Expected a finite float > 0. Received: max_sigma=0"
        ):
            BlurIG(cnn, max_sigma=0)
        with pytest.raises(ValueError, match="argument `steps`. Expected a positive int. Received: steps=-3"):
            BlurIG(cnn, steps=-3)

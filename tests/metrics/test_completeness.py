"""Completeness gap of path explainers: value, convergence in steps, relative form, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from tests.attribution.conftest import tiny_cnn
from tfxai.attribution import BlurIG, IntegratedGradients, Saliency
from tfxai.metrics.completeness import completeness


@pytest.fixture(scope="module")
def cnn():
    return tiny_cnn(0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(3).uniform(size=(4, 8, 8, 1)).astype("float32")


def test_value_is_output_gap_minus_sum(cnn, images):
    explainer = IntegratedGradients(cnn, steps=6)
    delta = completeness(explainer, images, 3)
    attributions = explainer(images, 3).numpy()
    logits_x, logits_0 = cnn.predict(images, verbose=0), cnn.predict(np.zeros_like(images), verbose=0)
    expected = logits_x[:, 3] - logits_0[:, 3] - attributions.reshape(4, -1).sum(axis=1)
    assert delta.shape == (4,) and delta.dtype == np.float32
    np.testing.assert_allclose(delta, expected, rtol=1e-4, atol=1e-5)
    assert explainer.return_convergence_delta is False  # the explainer itself is left as it was
    assert explainer(images).shape == images.shape  # still returns attributions only


@pytest.mark.parametrize("explainer_class", [IntegratedGradients, BlurIG])
def test_gap_shrinks_with_steps(cnn, images, explainer_class):
    gaps = [np.abs(completeness(explainer_class(cnn, steps=steps), images)).max() for steps in (4, 16, 64)]
    # BlurIG's path through blurs of an 8x8 image is too curved for 4 steps: ask only the finest to be best.
    assert gaps[2] < min(gaps[:2]) and (explainer_class is BlurIG or gaps[1] < gaps[0]), gaps


def test_relative_below_one_percent(cnn, images):
    relative = completeness(IntegratedGradients(cnn, steps=64), images, relative=True, batch_size=3)
    assert relative.shape == (4,) and np.all(relative < 0.01), relative


def test_rejects_non_path_explainers(cnn, images):
    with pytest.raises(TypeError, match="PathExplainer"):
        completeness(Saliency(cnn), images)
    with pytest.raises(TypeError, match="relative"):
        completeness(IntegratedGradients(cnn, steps=4), images, relative=1)
    with pytest.raises(ValueError, match="x"):
        completeness(IntegratedGradients(cnn, steps=4), images[..., 0])

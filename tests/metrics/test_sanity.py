"""Sanity checks: rank correlation / SSIM by hand, model and label randomization on a trained digits CNN."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_digits

from tfxai.attribution import GradientInput, Saliency
from tfxai.metrics.sanity import (
    label_randomization,
    model_randomization,
    spearman_correlation,
    structural_similarity,
)


@pytest.fixture(scope="module")
def digits():
    """A CNN trained for a few seconds on scikit-learn's 8x8 digits (about 95 % test accuracy)."""
    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., np.newaxis]
    y = data.target.astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:-200], y[:-200], epochs=8, batch_size=64, verbose=0)
    return model, x[-48:], x[:-200], y[:-200]


@pytest.fixture(scope="module")
def saliency_cascading(digits):
    model, x, *_ = digits
    return model_randomization(Saliency(model), x, seed=0)


class TestSimilarities:
    def test_spearman_by_hand(self):
        a = np.array([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 5.0]]])
        np.testing.assert_allclose(spearman_correlation(a, a), [1.0, 1.0])
        np.testing.assert_allclose(spearman_correlation(a, a**3 + 7), [1.0, 1.0])  # ranks only
        np.testing.assert_allclose(spearman_correlation(a[:1], -a[:1], absolute=False), [-1.0])
        np.testing.assert_allclose(spearman_correlation(a[:1], -a[:1]), [1.0])  # |-a| = |a|
        b = np.array([[[3.0, 1.0], [1.0, 2.0]], [[2.0, 2.0], [0.0, 4.0]]])  # ties: average ranks
        expected = [stats.spearmanr(a[i].ravel(), b[i].ravel()).statistic for i in range(2)]
        np.testing.assert_allclose(spearman_correlation(a, b), expected)
        assert np.isnan(spearman_correlation(a, np.zeros_like(a))).all()  # constant map: undefined

    def test_channels_are_reduced(self):
        a = np.random.default_rng(0).normal(size=(2, 4, 4, 3))
        np.testing.assert_allclose(spearman_correlation(a, a.sum(axis=-1, keepdims=True)), [1.0, 1.0])
        np.testing.assert_allclose(spearman_correlation(a, a, channel_reduction="max_abs"), [1.0, 1.0])

    def test_ssim(self):
        rng = np.random.default_rng(1)
        a, b = rng.uniform(size=(3, 8, 8)), rng.uniform(size=(3, 8, 8))
        np.testing.assert_allclose(structural_similarity(a, a), 1.0, atol=1e-6)
        np.testing.assert_allclose(structural_similarity(a, 3 * a + 1), 1.0, atol=1e-6)  # min-max normalised
        assert np.all(np.abs(structural_similarity(a, b)) < 0.5)

    def test_bad_maps(self):
        with pytest.raises(ValueError, match="b"):
            spearman_correlation(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))
        with pytest.raises(TypeError, match="absolute"):
            spearman_correlation(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)), absolute="yes")


class TestModelRandomization:
    def test_saliency_fails_to_survive_randomization(self, digits, saliency_cascading):
        model = digits[0]
        result = saliency_cascading
        assert result.steps == ("original", *[layer.name for layer in reversed(model.layers) if layer.weights])
        assert result.spearman.shape == result.ssim.shape == (4, 48)
        summary = result.summary()
        assert summary["original"]["spearman"] == pytest.approx(1.0) and summary["original"]["ssim"] == pytest.approx(
            1.0
        )
        # measured: 0.21 after the logits layer, 0.15 with every layer random; SSIM 0.05
        for step in result.steps[1:]:
            assert summary[step]["spearman"] < 0.5 and summary[step]["ssim"] < 0.5, summary

    def test_gradient_input_stays_correlated(self, digits, saliency_cascading):
        # Adebayo et al.: x * grad keeps the input's structure (zero where the pixel is 0) after
        # randomization, so its maps stay rank-correlated (measured 0.91) far above Saliency's.
        model, x, *_ = digits
        result = model_randomization(GradientInput(model), x, seed=0)
        assert (
            result.summary()[result.steps[-1]]["spearman"]
            > saliency_cascading.summary()[result.steps[-1]]["spearman"] + 0.3
        )

    def test_independent_shares_the_top_layer_and_leaves_the_model_alone(self, digits, saliency_cascading):
        model, x, *_ = digits
        before = [w.copy() for w in model.get_weights()]
        independent = model_randomization(Saliency(model), x, cascading=False, seed=0)
        assert independent.steps == saliency_cascading.steps
        np.testing.assert_allclose(independent.spearman[:2], saliency_cascading.spearman[:2])  # same random top layer
        assert np.all(np.nanmean(independent.spearman[1:], axis=1) < 0.5)
        for w, v in zip(before, model.get_weights()):
            np.testing.assert_array_equal(w, v)

    def test_seeded(self, digits, saliency_cascading):
        model, x, *_ = digits
        np.testing.assert_allclose(
            model_randomization(Saliency(model), x, seed=0).spearman, saliency_cascading.spearman
        )
        assert not np.allclose(
            model_randomization(Saliency(model), x, seed=1).spearman[1:], saliency_cascading.spearman[1:]
        )

    def test_bad_arguments(self, digits):
        model, x, *_ = digits
        with pytest.raises(TypeError, match="explainer"):
            model_randomization(model, x)
        with pytest.raises(ValueError, match="channel_reduction"):
            model_randomization(Saliency(model), x, channel_reduction="mean")

        class Subclassed(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(3)

            def call(self, inputs):
                return self.dense(inputs)

        subclassed = Subclassed()
        functional = keras.Model(inputs := keras.Input((4,)), subclassed(inputs))
        with pytest.raises(ValueError, match="explainer"):
            model_randomization(Saliency(functional), np.zeros((2, 4), "float32"))


def test_label_randomization(digits):
    model, x, x_train, y_train = digits
    result = label_randomization(Saliency(model), x, x_train=x_train, y_train=y_train, epochs=2, seed=0)
    assert result.steps == ("labels",) and result.spearman.shape == (1, 48)
    assert result.summary()["labels"]["spearman"] < 0.5  # measured 0.14
    assert result.extras["train_accuracy_true_labels"] < 0.5  # the copy learned no digits
    with pytest.raises(ValueError, match="y_train"):
        label_randomization(Saliency(model), x, x_train=x_train, y_train=y_train[:5])

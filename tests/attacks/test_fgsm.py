"""FGSM: closed forms on linear models, behaviour on a digits CNN, cleverhans cross-check."""

from __future__ import annotations

import numpy as np
import pytest

from tests.attacks.conftest import accuracy, linear_model, tiny_cnn
from tfxai import attacks


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def linear():
    """Multinomial logistic regression with 5 classes on 20 features, inputs inside (0, 1)."""
    rng = np.random.default_rng(0)
    weights, bias = rng.normal(size=(20, 5)), rng.normal(size=5)
    x = rng.uniform(0.2, 0.8, size=(16, 20)).astype("float32")
    return linear_model(weights, bias), weights, bias, x, rng.integers(0, 5, size=16)


def _ce_gradient(weights, bias, x, y):
    """d CE(softmax(x W + b), y) / dx = (p - onehot(y)) W^T, worked out in numpy."""
    p = _softmax(x.astype(np.float64) @ weights + bias)
    return (p - np.eye(weights.shape[1])[y]) @ weights.T


@pytest.mark.parametrize("targeted", [False, True])
def test_linear_closed_form_inf(linear, targeted):
    model, weights, bias, x, y = linear
    sign = -1.0 if targeted else 1.0
    expected = np.clip(x + 0.1 * np.sign(sign * _ce_gradient(weights, bias, x, y)), 0.0, 1.0)
    np.testing.assert_allclose(attacks.fgsm(model, x, y, epsilon=0.1, targeted=targeted), expected, atol=1e-6)


def test_linear_closed_form_l2(linear):
    model, weights, bias, x, y = linear
    grad = _ce_gradient(weights, bias, x, y)
    expected = x + 0.3 * grad / np.linalg.norm(grad, axis=1, keepdims=True)  # stays inside (0, 1)
    np.testing.assert_allclose(attacks.fgsm(model, x, y, epsilon=0.3, norm="2"), expected, atol=1e-5)


def test_linear_binary_direction():
    # Two classes: the CE gradient for label y is p_wrong * (w_wrong - w_y), so FGSM steps along
    # sign(w_wrong - w_y) whatever the input.
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(10, 2))
    x = np.full((2, 10), 0.5, "float32")
    y = np.array([0, 1])
    x_adv = np.asarray(attacks.fgsm(linear_model(weights, np.zeros(2)), x, y, epsilon=0.25))
    np.testing.assert_allclose(x_adv[0], 0.5 + 0.25 * np.sign(weights[:, 1] - weights[:, 0]), atol=1e-7)
    np.testing.assert_allclose(x_adv[1], 0.5 + 0.25 * np.sign(weights[:, 0] - weights[:, 1]), atol=1e-7)


def test_margin_loss_on_linear_model(linear):
    # The margin's gradient is w_j* - w_y with j* the top false class.
    model, weights, bias, x, y = linear
    z = x @ weights + bias
    z[np.arange(len(y)), y] = -np.inf
    direction = weights[:, z.argmax(axis=1)].T - weights[:, y].T
    expected = np.clip(x + 0.05 * np.sign(direction), 0.0, 1.0)
    np.testing.assert_allclose(attacks.fgsm(model, x, y, epsilon=0.05, loss="margin"), expected, atol=1e-6)


def test_accuracy_decreases_with_epsilon(digits):
    accuracies = [
        accuracy(digits.model, attacks.fgsm(digits.model, digits.x, digits.y, epsilon=e), digits.y)
        for e in (0.0, 0.05, 0.1, 0.2, 0.3)
    ]
    assert accuracies[0] > 0.9
    assert all(a >= b for a, b in zip(accuracies, accuracies[1:])), accuracies
    assert accuracies[-1] < 0.2


def test_zero_epsilon_is_identity(digits):
    np.testing.assert_array_equal(attacks.fgsm(digits.model, digits.x, digits.y, epsilon=0.0), digits.x)


@pytest.mark.parametrize("norm, epsilon", [("inf", 0.1), ("2", 0.5)])
@pytest.mark.parametrize("targeted", [False, True])
def test_matches_cleverhans(norm, epsilon, targeted):
    fgm = pytest.importorskip(
        "cleverhans.tf2.attacks.fast_gradient_method",
        reason="cleverhans not installed (pip install --no-deps cleverhans)",
    )
    model = tiny_cnn()
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(32, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, size=32)
    expected = fgm.fast_gradient_method(
        lambda t: model(t, training=False),
        x,
        epsilon,
        {"inf": np.inf, "2": 2}[norm],
        clip_min=0.0,
        clip_max=1.0,
        y=y,
        targeted=targeted,
    )
    actual = attacks.fgsm(model, x, y, epsilon=epsilon, norm=norm, targeted=targeted)
    # L-inf: bit-identical. L2: we normalise by the L1 norm first (shared with MIM), a rounding difference.
    np.testing.assert_allclose(actual, expected, rtol=0, atol=0 if norm == "inf" else 2e-7)

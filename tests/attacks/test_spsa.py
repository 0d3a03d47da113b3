"""SPSA: the gradient estimate, attack strength without gradients, seeding, batching, early stop."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import tensorflow as tf

from tests.attacks.conftest import accuracy, linear_model
from tfxai import attacks

# `tfxai.attacks.spsa` is the function (re-exported over its module's name); the module itself:
spsa_module = importlib.import_module("tfxai.attacks.spsa")

FAST = {"epsilon": 0.2, "steps": 10, "num_samples": 32}


def _estimate(model, x, y, num_samples, samples_per_call, seed=0):
    return np.asarray(
        spsa_module._estimate_gradient(
            model,
            tf.constant(x),
            tf.constant(y),
            tf.constant(False),
            tf.constant(0.01),
            tf.constant(num_samples),
            tf.constant(samples_per_call),
            tf.constant([seed, 0], tf.int64),
            "margin",
        )
    )


@pytest.fixture(scope="module")
def binary():
    """A linear binary model: the margin objective is exactly v.x + c, with gradient v."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(10, 2))
    x = rng.uniform(size=(3, 10)).astype("float32")
    y = np.array([0, 1, 0], "int32")
    v = np.where(y[:, None] == 0, weights[:, 1] - weights[:, 0], weights[:, 0] - weights[:, 1])
    return linear_model(weights, np.zeros(2)), x, y, v


def test_single_direction_is_the_directional_derivative(binary):
    # One Rademacher direction u: the central difference of a linear function is exact, so the
    # estimate is (v . u) u.
    model, x, y, v = binary
    estimate = _estimate(model, x, y, num_samples=1, samples_per_call=1)
    u = np.sign(estimate)
    assert set(np.unique(np.abs(u))) == {1.0}
    np.testing.assert_allclose(estimate, (v * u).sum(axis=1, keepdims=True) * u, rtol=1e-3, atol=1e-3)


def test_estimate_converges_to_the_gradient(binary):
    model, x, y, v = binary
    for samples_per_call in (4000, 300):  # one model call, or chunks with a smaller last one
        estimate = _estimate(model, x, y, num_samples=4000, samples_per_call=samples_per_call)
        cosine = (estimate * v).sum(axis=1) / np.linalg.norm(estimate, axis=1) / np.linalg.norm(v, axis=1)
        assert np.all(cosine > 0.97), cosine


def test_lowers_accuracy_without_gradients(digits):
    x, y = digits.x[:100], digits.y[:100]
    x_adv = np.asarray(attacks.spsa(digits.model, x, y, **FAST))
    assert np.abs(x_adv - x).max() <= 0.2 + 1e-6 and x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert accuracy(digits.model, x_adv, y) < accuracy(digits.model, x, y) - 0.15
    x_ce = attacks.spsa(digits.model, x, y, loss="ce", **FAST)
    assert accuracy(digits.model, x_ce, y) < accuracy(digits.model, x, y) - 0.1


def test_targeted(digits):
    x, y = digits.x[:50], digits.y[:50]
    target = (y + 1) % 10
    x_adv = attacks.spsa(digits.model, x, target, targeted=True, **{**FAST, "epsilon": 0.3, "steps": 30})
    untargeted = np.argmax(digits.model(attacks.spsa(digits.model, x, y, **FAST)), axis=-1)
    reached = np.argmax(digits.model(x_adv), axis=-1) == target
    assert reached.mean() > (untargeted == target).mean() + 0.1


def test_seeded_and_batched(digits):
    x, y = digits.x[:20], digits.y[:20]
    first = attacks.spsa(digits.model, x, y, seed=3, **FAST)
    np.testing.assert_array_equal(first, attacks.spsa(digits.model, x, y, seed=3, **FAST))
    assert np.any(np.asarray(first) != np.asarray(attacks.spsa(digits.model, x, y, seed=4, **FAST)))
    # 2 directions x 20 examples x 2 signs = 80 rows per model call instead of all 1280 at once.
    chunked = attacks.spsa(digits.model, x, y, seed=3, internal_batch_size=80, **FAST)
    np.testing.assert_array_equal(chunked, attacks.spsa(digits.model, x, y, seed=3, internal_batch_size=80, **FAST))
    assert abs(accuracy(digits.model, chunked, y) - accuracy(digits.model, first, y)) <= 0.15


def test_early_stop(digits):
    x, y = digits.x[:50], digits.y[:50]
    short, done = attacks.spsa(digits.model, x, y, early_stop=True, return_success=True, **{**FAST, "steps": 5})
    long = attacks.spsa(digits.model, x, y, early_stop=True, **{**FAST, "steps": 15})
    done = np.asarray(done)
    assert 0.0 < done.mean() < 1.0
    np.testing.assert_array_equal(np.asarray(long)[done], np.asarray(short)[done])


def test_bad_arguments(digits):
    x, y = digits.x[:4], digits.y[:4]
    for name, value, error in (
        ("delta", 0.0, ValueError),
        ("num_samples", 0, ValueError),
        ("internal_batch_size", 0, ValueError),
        ("learning_rate", -1.0, ValueError),
        ("num_samples", 2.5, TypeError),
    ):
        with pytest.raises(error, match=rf"argument `{name}`. Expected .*Received: {name}={value}"):
            attacks.spsa(digits.model, x, y, **{name: value})

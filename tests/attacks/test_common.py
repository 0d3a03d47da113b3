"""Shared behaviour of every attack: the eps-ball and box, dtypes, and boundary validation."""

from __future__ import annotations

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.attacks.conftest import tiny_cnn
from tfxai import attacks
from tfxai.attacks import _common

# Fast settings; norm-aware attacks are listed per norm.
GRADIENT_ATTACKS = {
    "fgsm": attacks.fgsm,
    "bim": attacks.bim,
    "pgd": functools.partial(attacks.pgd, steps=10),
    "mim": functools.partial(attacks.mim, steps=10),
}
ALL_ATTACKS = {
    **GRADIENT_ATTACKS,
    "spsa": functools.partial(attacks.spsa, steps=3, num_samples=8),
    "cw_l2": functools.partial(attacks.cw_l2, steps=5, binary_search_steps=2),
}
EPSILON_ATTACKS = {name: fn for name, fn in ALL_ATTACKS.items() if name != "cw_l2"}


@pytest.fixture(scope="module")
def model():
    return tiny_cnn()


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(12, 8, 8, 1)).astype("float32")
    x[:3] = np.round(x[:3])  # pixels on the box boundary
    return x, rng.integers(0, 10, size=12).astype("int32")


def _l2(delta: np.ndarray) -> np.ndarray:
    return np.sqrt((delta.reshape(len(delta), -1) ** 2).sum(axis=1))


@pytest.mark.parametrize("norm", ["inf", "2"])
@pytest.mark.parametrize("name", sorted(GRADIENT_ATTACKS))
@pytest.mark.parametrize("targeted", [False, True])
def test_gradient_attacks_stay_in_ball_and_box(model, batch, name, norm, targeted):
    x, y = batch
    epsilon = 0.2 if norm == "inf" else 0.8
    x_adv = np.asarray(GRADIENT_ATTACKS[name](model, x, y, epsilon=epsilon, norm=norm, targeted=targeted))
    delta = x_adv - x
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    if norm == "inf":
        assert np.abs(delta).max() <= epsilon + 1e-6
    else:
        assert _l2(delta).max() <= epsilon * (1 + 1e-5)
    assert np.abs(delta).max() > 0.01  # the attack moved


@pytest.mark.parametrize("name", ["spsa", "pgd"])
def test_per_example_epsilon_and_unbounded_inputs(model, batch, name):
    x, y = batch
    epsilon = np.linspace(0.0, 0.3, len(x))
    x_adv = np.asarray(EPSILON_ATTACKS[name](model, x - 0.5, y, epsilon=epsilon, clip=None))
    delta = np.abs(x_adv - (x - 0.5)).reshape(len(x), -1).max(axis=1)
    assert np.all(delta <= epsilon + 1e-6)
    assert delta[0] == 0.0 and delta[-1] > 0.02


def test_cw_stays_in_box(model, batch):
    x, y = batch
    x_adv = np.asarray(ALL_ATTACKS["cw_l2"](model, x, y, clip=(0.0, 1.0)))
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0


@pytest.mark.parametrize("name", sorted(ALL_ATTACKS))
def test_dtype_and_tensor_inputs_kept(model, batch, name):
    x, y = batch
    x_adv, success = ALL_ATTACKS[name](model, tf.constant(x, tf.float64), tf.constant(y), return_success=True)
    assert x_adv.dtype == tf.float64 and x_adv.shape == x.shape
    assert success.dtype == tf.bool and success.shape == (len(x),)
    np.testing.assert_array_equal(success, np.argmax(model(x_adv), axis=-1) != y)


@pytest.mark.parametrize("name", sorted(ALL_ATTACKS))
def test_one_hot_and_predicted_labels(model, batch, name):
    x, y = batch
    attack = ALL_ATTACKS[name]
    np.testing.assert_allclose(attack(model, x, y), attack(model, x, np.eye(10)[y]), atol=1e-6)
    predicted = np.argmax(model(x), axis=-1)
    np.testing.assert_allclose(attack(model, x), attack(model, x, predicted), atol=1e-6)


BAD_TENSORS = [
    (lambda x, y: (x.astype("int32"), y), TypeError, r"Expected a floating dtype.*Received: x.dtype=int32"),
    (lambda x, y: (x.reshape(-1), y), ValueError, r"argument `x`. Expected a non-empty batch.*Received: x.shape"),
    (lambda x, y: (x[:0], y[:0]), ValueError, r"argument `x`. Expected a non-empty batch"),
    (lambda x, y: (np.where(x > 0.5, np.nan, x), y), ValueError, r"argument `x`. Expected finite values"),
    (lambda x, y: (x + 0.5, y), ValueError, r"argument `x`. Expected values within clip=\(0.0, 1.0\). Received"),
    (lambda x, y: (x, y[:-1]), ValueError, r"argument `y`. Expected integer labels \[12\].*Received: y.shape=\(11,\)"),
    (lambda x, y: (x, y + 10), ValueError, r"argument `y`. Expected class ids in \[0, 9\]. Received"),
    (lambda x, y: (x, y - 0.5), TypeError, r"argument `y`. Expected integer class ids"),
    (lambda x, y: (x[..., 0], y), ValueError, r"argument `x`. Expected the model's input shape \(None, 8, 8, 1\)"),
]


@pytest.mark.parametrize("name", sorted(ALL_ATTACKS))
@pytest.mark.parametrize("make, error, message", BAD_TENSORS)
def test_bad_tensors(model, batch, name, make, error, message):
    x, y = make(*batch)
    with pytest.raises(error, match=message):
        ALL_ATTACKS[name](model, x, y)


BAD_ARGUMENTS = [
    ({"epsilon": -0.1}, ValueError, r"argument `epsilon`. Expected a finite float >= 0. Received: epsilon=-0.1"),
    ({"epsilon": np.inf}, ValueError, r"argument `epsilon`. Expected a finite float >= 0. Received: epsilon=inf"),
    ({"epsilon": [0.1, 0.2]}, ValueError, r"argument `epsilon`. Expected a float >= 0 or a 1-D array of 12"),
    ({"epsilon": "big"}, ValueError, r"argument `epsilon`"),
    ({"clip": (1.0, 0.0)}, ValueError, r"argument `clip`. Expected finite bounds with min < max"),
    ({"clip": 1.0}, ValueError, r"argument `clip`. Expected a \(min, max\) pair"),
    ({"targeted": "yes"}, TypeError, r"argument `targeted`. Expected a bool. Received: targeted='yes'"),
    ({"return_success": 1}, TypeError, r"argument `return_success`. Expected a bool"),
    ({"loss": "hinge"}, ValueError, r"argument `loss`. Expected one of \('ce', 'margin'\). Received: loss='hinge'"),
]


@pytest.mark.parametrize("name", sorted(EPSILON_ATTACKS))
@pytest.mark.parametrize("kwargs, error, message", BAD_ARGUMENTS)
def test_bad_arguments(model, batch, name, kwargs, error, message):
    with pytest.raises(error, match=message):
        EPSILON_ATTACKS[name](model, *batch, **kwargs)


@pytest.mark.parametrize("name", ["bim", "pgd", "mim", "spsa"])
def test_bad_steps(model, batch, name):
    with pytest.raises(ValueError, match=r"argument `steps`. Expected a positive int. Received: steps=0"):
        ALL_ATTACKS[name](model, *batch, steps=0)
    with pytest.raises(TypeError, match=r"argument `steps`. Expected a positive int. Received: steps=2.5"):
        ALL_ATTACKS[name](model, *batch, steps=2.5)


@pytest.mark.parametrize("name", sorted(GRADIENT_ATTACKS))
def test_bad_norm(model, batch, name):
    with pytest.raises(ValueError, match=r"argument `norm`. Expected one of \('inf', '2'\). Received: norm='1'"):
        GRADIENT_ATTACKS[name](model, *batch, norm="1")


def test_numpy_norm_spellings(model, batch):
    for spelling, canonical in ((np.inf, "inf"), (2, "2"), (2.0, "2")):
        np.testing.assert_array_equal(
            attacks.fgsm(model, *batch, epsilon=0.5, norm=spelling),
            attacks.fgsm(model, *batch, epsilon=0.5, norm=canonical),
        )


def test_targeted_needs_labels(model, batch):
    with pytest.raises(ValueError, match=r"argument `y`. Expected the target classes for a targeted attack"):
        attacks.pgd(model, batch[0], None, targeted=True)


def test_callable_that_rejects_x(batch):
    def model(x, training=False):
        return tf.reshape(x, [-1, 7])  # 64 features per example do not reshape into rows of 7

    with pytest.raises(ValueError, match=r"argument `x`: `model` could not be called on it.*Received: x.shape"):
        attacks.pgd(model, *batch)


def test_model_must_output_logits(batch):
    flat = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"`model` must output logits of shape \[B, K\].*Received: output shape"):
        attacks.fgsm(flat, *batch)
    with pytest.raises(ValueError, match=r"one row per example.*Received: output shape \(2, 32\)"):
        attacks.fgsm(lambda x, training=False: tf.reshape(x, [-1, 32]), *batch)
    with pytest.raises(TypeError, match=r"argument `model`. Expected a callable"):
        attacks.fgsm("model", *batch)


def test_logit_margin_and_objective():
    logits = tf.constant([[2.0, 1.0, -1.0], [0.0, 3.0, 1.0]])
    labels = tf.constant([0, 2])
    np.testing.assert_allclose(_common.logit_margin(logits, labels), [-1.0, 2.0])
    ce = -np.log(np.exp([2.0, 1.0]) / np.exp(np.asarray(logits)).sum(axis=1))
    for targeted, sign in ((False, 1.0), (True, -1.0)):
        np.testing.assert_allclose(_common.objective(logits, labels, "ce", tf.constant(targeted)), sign * ce, rtol=1e-6)
        np.testing.assert_allclose(
            _common.objective(logits, labels, "margin", tf.constant(targeted)), sign * np.array([-1.0, 2.0])
        )
    np.testing.assert_array_equal(_common.is_success(logits, labels, tf.constant(False)), [False, True])
    np.testing.assert_array_equal(_common.is_success(logits, labels, tf.constant(True)), [True, False])


def test_adam_step_matches_hand_computation():
    param, grad = tf.constant([1.0, -2.0]), tf.constant([0.5, -4.0])
    m, v = tf.zeros(2), tf.zeros(2)
    for t in (1, 2):
        param, m, v = _common.adam_step(param, grad, m, v, tf.constant(float(t)), tf.constant(0.1))
    # With a constant gradient, m_hat = g and v_hat = g^2 at every step: each step moves lr * sign(g).
    np.testing.assert_allclose(param, [1.0 - 0.2, -2.0 + 0.2], rtol=1e-5)


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_project(norm):
    x = tf.constant([[0.5, 0.5], [0.0, 1.0]])
    x_new = tf.constant([[1.5, 0.5], [-0.3, 1.0]])
    eps = tf.constant([[0.25], [0.1]])
    projected = np.asarray(_common.project(x, x_new, eps, tf.constant(0.0), tf.constant(1.0), norm))
    np.testing.assert_allclose(projected, [[0.75, 0.5], [0.0, 1.0]], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(ALL_ATTACKS))
def test_mixed_precision_model(batch, name):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, dtype="mixed_float16")]
    )
    x, y = batch
    assert model(x).dtype == "float16"
    x_adv = np.asarray(ALL_ATTACKS[name](model, x, y))
    assert x_adv.dtype == np.float32 and np.all(np.isfinite(x_adv)) and np.abs(x_adv - x).max() > 0

"""Fixtures of the attribution tests: closed-form models, a tiny CNN, PAIR `saliency` as an oracle."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

NUM_CLASSES = 10


def linear_model(weights: np.ndarray, bias: np.ndarray) -> keras.Model:
    """`z = x W + b` on vectors, logits of `W.shape[1]` classes."""
    model = keras.Sequential([keras.Input((weights.shape[0],)), keras.layers.Dense(weights.shape[1])])
    model.layers[0].set_weights([weights.astype("float32"), bias.astype("float32")])
    return model


def polynomial_model(coefficients: np.ndarray, power: int) -> keras.Model:
    """Two logits on vectors: `z_0 = sum_j a_j x_j^power`, `z_1 = sum_j x_j`."""
    a = tf.constant(coefficients, tf.float32)
    return keras.Sequential(
        [
            keras.Input((len(coefficients),)),
            keras.layers.Lambda(
                lambda x: tf.stack([tf.reduce_sum(a * x**power, axis=1), tf.reduce_sum(x, axis=1)], axis=1),
                output_shape=(2,),
            ),
        ]
    )


def tiny_cnn(seed: int = 0, channels: int = 1) -> keras.Model:
    """An untrained smooth (tanh) CNN on 8x8 images with 10 logits."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, channels)),
            keras.layers.Conv2D(6, 3, activation="tanh"),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(NUM_CLASSES),
        ]
    )


@pytest.fixture(scope="session")
def linear() -> types.SimpleNamespace:
    rng = np.random.default_rng(1)
    weights, bias = rng.normal(size=(6, 3)), rng.normal(size=3)
    x = rng.uniform(size=(4, 6)).astype("float32")
    return types.SimpleNamespace(model=linear_model(weights, bias), weights=weights.astype("float32"), x=x)


@pytest.fixture(scope="session")
def quadratic() -> types.SimpleNamespace:
    rng = np.random.default_rng(2)
    a = rng.normal(size=5).astype("float32")
    x = rng.uniform(size=(3, 5)).astype("float32")
    return types.SimpleNamespace(model=polynomial_model(a, 2), a=a, x=x)


@pytest.fixture(scope="session")
def cnn() -> keras.Model:
    return tiny_cnn(0)


@pytest.fixture(scope="session")
def images() -> np.ndarray:
    return np.random.default_rng(3).uniform(size=(5, 8, 8, 1)).astype("float32")


def output_gradients(model: keras.Model, x: np.ndarray, target: int) -> np.ndarray:
    """`grad_x z_target(x)` for a batch, computed independently of tfxai."""
    x = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = model(x, training=False)[:, target]
    return tape.gradient(value, x).numpy()


@pytest.fixture(scope="session")
def pair() -> types.SimpleNamespace:
    """PAIR `saliency.core` modules (numpy-only), imported without the package `__init__`.

    `saliency/core/__init__.py` imports Grad-CAM, which needs scikit-image; the modules
    used here only need numpy and scipy, so they are loaded from a stand-in package.
    """
    spec = importlib.util.find_spec("saliency")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("PAIR saliency is not installed (pip install --no-deps saliency)")
    name = "_pair_saliency_core"
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [f"{spec.submodule_search_locations[0]}/core"]
        sys.modules[name] = package
    modules = {
        m: importlib.import_module(f"{name}.{m}") for m in ("base", "integrated_gradients", "gradients", "blur_ig")
    }
    return types.SimpleNamespace(**modules)


def pair_call_model_function(model: keras.Model, target: int, pair: types.SimpleNamespace):
    """PAIR's `call_model_function` returning input gradients of logit `target` (one traced graph)."""
    key = pair.base.INPUT_OUTPUT_GRADIENTS

    @tf.function(reduce_retracing=True)
    def gradients(x: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = model(x, training=False)[:, target]
        return tape.gradient(value, x)

    def call_model_function(x_value_batch, call_model_args=None, expected_keys=None):
        return {key: gradients(tf.constant(np.asarray(x_value_batch), tf.float32)).numpy()}

    return call_model_function

"""Fixtures of the attack tests: small CNNs trained for a few seconds on scikit-learn's digits."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

NUM_TEST = 200


def _train(model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int) -> keras.Model:
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="session")
def digits() -> types.SimpleNamespace:
    """A CNN on 8x8 digits in [0, 1] (about 96% test accuracy), a substitute and test data.

    The substitute (a different architecture, trained on the other half of the training
    split with another seed) plays the black-box adversary's model.
    """
    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., np.newaxis]
    y = data.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:-NUM_TEST], order[-NUM_TEST:]
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
    _train(model, x[train], y[train], epochs=8)
    keras.utils.set_random_seed(1)
    substitute = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    half = train[: len(train) // 2]
    _train(substitute, x[half], y[half], epochs=10)
    return types.SimpleNamespace(model=model, substitute=substitute, x=x[test], y=y[test])


def accuracy(model: keras.Model, x, y) -> float:
    """Top-1 accuracy of logits `model(x)` against integer labels `y`."""
    return float(np.mean(np.argmax(np.asarray(model(np.asarray(x), training=False)), axis=-1) == y))


def linear_model(weights: np.ndarray, bias: np.ndarray) -> keras.Model:
    """Multinomial logistic regression `z = x W + b` as a Keras model (logits)."""
    model = keras.Sequential([keras.Input((weights.shape[0],)), keras.layers.Dense(weights.shape[1])])
    model.layers[0].set_weights([weights.astype("float32"), bias.astype("float32")])
    return model


def tiny_cnn(seed: int = 0) -> keras.Model:
    """An untrained CNN on 8x8x1 inputs, for bound and cross-check tests."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )

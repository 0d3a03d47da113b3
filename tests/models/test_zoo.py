"""The model zoo: every model builds, outputs logits of the right shape, and round-trips."""

import keras
import numpy as np
import pytest

from tfxai import models

SHAPES = {
    "cnn2c": (28, 28, 1), "cnn5c": (28, 28, 1), "lenet5": (28, 28, 1), "substitute": (28, 28, 1),
    "madry_cnn": (28, 28, 1), "vgg13": (32, 32, 3), "vgg16": (32, 32, 3), "resnet18": (32, 32, 3),
    "resnet56": (32, 32, 3),
}


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_builds_and_outputs_logits(name):
    model = models.build(name, SHAPES[name], 7)
    x = np.random.default_rng(0).uniform(size=(2, *SHAPES[name])).astype("float32")
    logits = model(x, training=False).numpy()
    assert logits.shape == (2, 7) and np.all(np.isfinite(logits))
    assert model.layers[-1].get_config().get("activation") in (None, "linear")
    assert not np.allclose(logits.sum(-1), 1.0)


def test_paper_shapes():
    # CNN2C: 28x28 -> 800 features before the logits (LGL-INR Table 2); Madry: 1024 hidden units.
    assert models.build("cnn2c", (28, 28, 1), 10).get_layer("flatten").output.shape[-1] == 800
    assert models.build("madry_cnn", (28, 28, 1), 10).get_layer("dense_1").output.shape[-1] == 1024
    assert models.build("lenet5", (28, 28, 1), 10).get_layer("flatten").output.shape[-1] == 400


def test_small_inputs():
    assert models.build("cnn2c", (8, 8, 1), 10, padding="same").output_shape == (None, 10)
    assert models.build("lenet5", (8, 8, 1), 10).output_shape == (None, 10)
    with pytest.raises(ValueError, match="padding='same'"):
        models.build("cnn2c", (8, 8, 1), 10)
    with pytest.raises(ValueError, match="at least 32x32"):
        models.build("vgg13", (28, 28, 1), 10)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown model name.*'lenet'"):
        models.build("lenet", (28, 28, 1), 10)
    with pytest.raises(ValueError, match="input_shape"):
        models.build("cnn2c", (28, 28), 10)
    with pytest.raises(ValueError, match="num_classes"):
        models.build("cnn2c", (28, 28, 1), 1)
    with pytest.raises(TypeError, match="Invalid options for model `lenet5`"):
        models.build("lenet5", (28, 28, 1), 10, width=2)


def test_keras_round_trip(tmp_path):
    model = models.build("cnn5c", (28, 28, 1), 10)
    x = np.random.default_rng(1).uniform(size=(3, 28, 28, 1)).astype("float32")
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(restored(x), model(x), rtol=1e-5, atol=1e-5)

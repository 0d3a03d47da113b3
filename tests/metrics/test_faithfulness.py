"""Insertion and deletion: hand-computed curves, batching, substrates, ties and argument checks."""

import keras
import numpy as np
import pytest

from tfxai.attribution import gaussian_blur
from tfxai.metrics import faithfulness


def _sum_model(channels: int = 1) -> keras.Model:
    """Logits `[sum of all inputs, 0]` on 2x2 images."""
    model = keras.Sequential([keras.Input((2, 2, channels)), keras.layers.Flatten(), keras.layers.Dense(2)])
    weights = np.zeros((4 * channels, 2), np.float32)
    weights[:, 0] = 1.0
    model.layers[-1].set_weights([weights, np.zeros(2, np.float32)])
    return model


IMAGE = np.array([[[[1.0], [2.0]], [[3.0], [4.0]]]], np.float32)  # [1, 2, 2, 1], sum 10


def test_hand_computed_curves():
    model = _sum_model()
    common = {"output": "logits", "pixels_per_step": 1, "targets": 0, "return_curves": True}
    scores, curves = faithfulness.deletion(model, IMAGE, IMAGE, **common)  # delete 4, 3, 2, 1
    np.testing.assert_allclose(curves, [[10, 6, 3, 1, 0]])
    np.testing.assert_allclose(scores, [4.0])
    scores, curves = faithfulness.insertion(model, IMAGE, IMAGE, **common)
    np.testing.assert_allclose(curves, [[0, 4, 7, 9, 10]])
    np.testing.assert_allclose(scores, [6.0])
    trapezoid = faithfulness.insertion(model, IMAGE, IMAGE, output="logits", pixels_per_step=1, targets=0,
                                       score="trapezoid")
    np.testing.assert_allclose(trapezoid, [0.25 * (2 + 5.5 + 8 + 9.5)])
    # default step: the image width (2 pixels), and a last partial step with 3 pixels per step
    _, curves = faithfulness.deletion(model, IMAGE, IMAGE, output="logits", targets=0, return_curves=True)
    np.testing.assert_allclose(curves, [[10, 3, 0]])
    _, curves = faithfulness.deletion(model, IMAGE, IMAGE, output="logits", targets=0, pixels_per_step=3,
                                      return_curves=True)
    np.testing.assert_allclose(curves, [[10, 1, 0]])


def test_probabilities_of_the_predicted_class_and_channel_reduction():
    model = _sum_model(channels=2)
    image = np.concatenate([IMAGE, -IMAGE], axis=-1) * 0.1  # sum 0: class 0 and 1 tie at logit 0
    image[..., 0, 0, 0] += 1.0  # logit_0 = 1 > 0: class 0 predicted
    attributions = np.concatenate([IMAGE, IMAGE], axis=-1)
    _, curves = faithfulness.deletion(model, image, attributions, pixels_per_step=4, return_curves=True)
    assert curves[0, 0] == pytest.approx(1 / (1 + np.exp(-1.0)), rel=1e-5)  # softmax([1, 0])[0]
    assert curves[0, -1] == pytest.approx(0.5)  # all black: logits [0, 0]
    with pytest.raises(ValueError, match="channel_reduction"):
        faithfulness.pixel_ranks(attributions, channel_reduction="max")
    signed = faithfulness.pixel_ranks(np.concatenate([IMAGE, -2 * IMAGE], axis=-1))
    absolute = faithfulness.pixel_ranks(np.concatenate([IMAGE, -2 * IMAGE], axis=-1), channel_reduction="abs_sum")
    np.testing.assert_array_equal(signed[0], [[0, 1], [2, 3]])  # sums -1, -2, -3, -4
    np.testing.assert_array_equal(absolute[0], [[3, 2], [1, 0]])


def test_batched_equals_one_at_a_time_and_does_not_depend_on_batch_size(rng):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 5, 3)), keras.layers.Conv2D(4, 3, activation="tanh"),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    images = rng.uniform(size=(7, 6, 5, 3)).astype("float32")
    maps = rng.normal(size=(7, 6, 5, 3)).astype("float32")
    for function in (faithfulness.insertion, faithfulness.deletion):
        batched = function(model, images, maps, substrate="blurred", blur_sigma=1.0)
        small = function(model, images, maps, substrate="blurred", blur_sigma=1.0, batch_size=3)
        single = [function(model, images[i:i + 1], maps[i:i + 1], substrate="blurred", blur_sigma=1.0)[0]
                  for i in range(7)]
        np.testing.assert_allclose(batched, small, atol=1e-6)
        np.testing.assert_allclose(batched, single, atol=1e-6)


def test_substrates_are_the_ends_of_the_curves(rng):
    model = _sum_model()
    images = rng.uniform(size=(3, 2, 2, 1)).astype("float32")
    blurred = gaussian_blur(images, 1.0).numpy().reshape(3, -1).sum(1)
    maps = rng.normal(size=(3, 2, 2)).astype("float32")
    _, inserted = faithfulness.insertion(model, images, maps, targets=0, output="logits", substrate="blurred",
                                         blur_sigma=1.0, return_curves=True)
    _, deleted = faithfulness.deletion(model, images, maps, targets=0, output="logits", substrate=0.5,
                                       return_curves=True)
    np.testing.assert_allclose(inserted[:, 0], blurred, rtol=1e-5)
    np.testing.assert_allclose(inserted[:, -1], images.reshape(3, -1).sum(1), rtol=1e-5)
    np.testing.assert_allclose(deleted[:, -1], 2.0, rtol=1e-5)  # four pixels of 0.5


def test_good_maps_beat_reversed_maps(rng):
    model = _sum_model()
    images = rng.uniform(size=(20, 2, 2, 1)).astype("float32")
    kwargs = {"targets": 0, "output": "logits", "pixels_per_step": 1}
    assert np.all(faithfulness.insertion(model, images, images, **kwargs)
                  >= faithfulness.insertion(model, images, -images, **kwargs))
    assert np.all(faithfulness.deletion(model, images, images, **kwargs)
                  <= faithfulness.deletion(model, images, -images, **kwargs))


def test_ties_broken_by_a_seeded_random_order():
    flat = np.zeros((1, 8, 8), np.float32)
    a = faithfulness.pixel_ranks(flat, seed=0)
    np.testing.assert_array_equal(np.sort(a.ravel()), np.arange(64))
    np.testing.assert_array_equal(a, faithfulness.pixel_ranks(flat, seed=0))
    assert np.any(a != faithfulness.pixel_ranks(flat, seed=1))
    assert np.any(a.ravel() != np.arange(64))  # not raster order


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attributions": np.zeros((1, 3, 3, 1), np.float32)}, "attributions"),
        ({"images": np.zeros((2, 2, 1), np.float32)}, "images"),
        ({"images": np.full((1, 2, 2, 1), np.nan, np.float32)}, "finite"),
        ({"targets": 5}, "targets"),
        ({"substrate": "white"}, "substrate"),
        ({"substrate": np.zeros((3, 3), np.float32)}, "substrate"),
        ({"score": "auc"}, "score"),
        ({"output": "softmax"}, "output"),
        ({"pixels_per_step": 0}, "pixels_per_step"),
    ],
)
def test_bad_arguments(kwargs, message):
    arguments = {"model": _sum_model(), "images": IMAGE, "attributions": IMAGE, **kwargs}
    with pytest.raises(ValueError, match=message):
        faithfulness.insertion(**arguments)
    with pytest.raises(TypeError, match="model"):
        faithfulness.deletion(lambda x: x, IMAGE, IMAGE)

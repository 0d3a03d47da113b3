"""AGI: batched and masked implementation against a per-example, per-class loop of Algorithm 1."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.attribution.conftest import NUM_CLASSES
from tfxai.attribution import AGI


def reference_individual_agi(
    model: keras.Model,
    x: np.ndarray,
    target: int,
    false_class: int,
    *,
    epsilon: float,
    max_steps: int,
    path: str,
    input_range: tuple[float, float] | None,
) -> tuple[np.ndarray, bool, int]:
    """Algorithm 1 for one example and one class, written as plainly as possible (eager)."""
    x0 = tf.constant(x[None], tf.float32)
    point, total, steps = x0, np.zeros_like(x, dtype=np.float64), 0
    for _ in range(max_steps):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(point)
            probabilities = tf.nn.softmax(model(point, training=False))
            f_i, f_t = probabilities[0, false_class], probabilities[0, target]
        if int(tf.argmax(probabilities[0])) == false_class:
            break
        grad_i, grad_t = tape.gradient(f_i, point), tape.gradient(f_t, point)
        origin = point if path == "cumulative" else x0
        proposal = origin + epsilon * tf.sign(grad_i)
        if input_range is not None:
            proposal = tf.clip_by_value(proposal, *input_range)
        total -= (grad_t * (proposal - origin)).numpy()[0]
        point, steps = proposal, steps + 1
    success = int(tf.argmax(model(point, training=False)[0])) == false_class
    return total, success, steps


@pytest.fixture(scope="module")
def batch(images) -> np.ndarray:
    return images[:3]


class TestAgainstReference:
    @pytest.mark.parametrize(
        "path, input_range", [("cumulative", (0.0, 1.0)), ("anchored", (0.0, 1.0)), ("cumulative", None)]
    )
    def test_batched_equals_loop(self, cnn, batch, path, input_range):
        settings = dict(epsilon=0.1, max_steps=6, path=path, input_range=input_range)
        explainer = AGI(cnn, num_false_classes=4, seed=1, return_per_class=True, internal_batch_size=5, **settings)
        targets = np.array([-1, 3, 7])
        attributions, details = explainer(batch, targets)
        predicted = np.argmax(cnn.predict(batch, verbose=0), axis=1)
        resolved = np.where(targets < 0, predicted, targets)
        assert details["per_class_attributions"].shape == (3, 4, 8, 8, 1)
        for b, (x, target) in enumerate(zip(batch, resolved, strict=True)):
            for j, false_class in enumerate(details["false_classes"].numpy()[b]):
                total, success, steps = reference_individual_agi(cnn, x, target, false_class, **settings)
                np.testing.assert_allclose(details["per_class_attributions"][b, j].numpy(), total, rtol=1e-4, atol=1e-7)
                assert bool(details["success"][b, j]) == success
                assert int(details["num_steps"][b, j]) == steps
        summed = details["per_class_attributions"].numpy().sum(axis=1)
        np.testing.assert_allclose(attributions.numpy(), summed, rtol=1e-5, atol=1e-7)
        successes = details["success"].numpy()
        assert successes.any() and (details["num_steps"].numpy() < 6).any()  # the test exercises early stops


class TestMasking:
    def test_rows_that_arrived_stop(self, cnn, batch):
        short = AGI(cnn, epsilon=0.1, max_steps=3, num_false_classes=9, return_per_class=True)
        long = AGI(cnn, epsilon=0.1, max_steps=12, num_false_classes=9, return_per_class=True)
        (_, early), (_, late) = short(batch), long(batch)
        arrived = early["success"].numpy() & (early["num_steps"].numpy() < 3)
        assert arrived.any() and not arrived.all()
        np.testing.assert_array_equal(late["num_steps"].numpy()[arrived], early["num_steps"].numpy()[arrived])
        np.testing.assert_array_equal(
            late["per_class_attributions"].numpy()[arrived], early["per_class_attributions"].numpy()[arrived]
        )
        assert (late["num_steps"].numpy() <= 12).all()

    def test_success_means_final_point_predicts_the_class(self, cnn, batch):
        # With epsilon large enough every path gets there; with tiny steps almost none does.
        _, easy = AGI(cnn, epsilon=0.5, max_steps=10, return_per_class=True, input_range=None)(batch)
        assert easy["success"].numpy().all()
        _, hard = AGI(cnn, epsilon=1e-4, max_steps=2, return_per_class=True)(batch)
        predicted = np.argmax(cnn.predict(batch, verbose=0), axis=1)
        np.testing.assert_array_equal(hard["success"].numpy(), hard["false_classes"].numpy() == predicted[:, None])


class TestSampling:
    def test_false_classes_are_distinct_and_exclude_the_target(self, cnn, batch):
        _, details = AGI(cnn, num_false_classes=9, max_steps=1, return_per_class=True)(batch, [0, 4, 9])
        classes = details["false_classes"].numpy()
        assert classes.shape == (3, 9) and classes.dtype == np.int32
        for row, target in zip(classes, [0, 4, 9], strict=True):
            assert sorted(row) == sorted(set(range(NUM_CLASSES)) - {target})

    def test_uniform_over_false_classes(self):
        targets = tf.constant([2], tf.int32)
        sample = tf.function(lambda seed: AGI._sample_false_classes(targets, NUM_CLASSES, 3, seed))
        counts = np.zeros(NUM_CLASSES)
        draws = 2000
        for seed in range(draws):
            counts[sample(tf.constant(seed)).numpy()[0]] += 1
        assert counts[2] == 0
        expected = draws * 3 / (NUM_CLASSES - 1)
        np.testing.assert_allclose(np.delete(counts, 2), expected, rtol=0.12)

    def test_seeded_and_independent_of_batching(self, cnn, images):
        first = AGI(cnn, num_false_classes=3, max_steps=1, seed=5, return_per_class=True)
        _, whole = first(images)
        _, part = first(images[2:4])
        np.testing.assert_array_equal(part["false_classes"].numpy(), whole["false_classes"].numpy()[2:4])
        _, other = AGI(cnn, num_false_classes=3, max_steps=1, seed=6, return_per_class=True)(images)
        assert not np.array_equal(other["false_classes"].numpy(), whole["false_classes"].numpy())


class TestDefaultsAndValidation:
    def test_defaults(self, cnn):
        config = AGI(cnn).get_config()
        assert config["num_false_classes"] == NUM_CLASSES - 1  # min(20, K - 1)
        assert (config["epsilon"], config["max_steps"], config["path"]) == (0.05, 20, "cumulative")
        assert (config["output"], config["input_range"]) == ("probabilities", (0.0, 1.0))

    def test_attributions_shape_and_dtype(self, cnn, batch):
        attributions = AGI(cnn, max_steps=2, num_false_classes=2)(batch.astype("float64"))
        assert attributions.shape == batch.shape and attributions.dtype == tf.float64

    def test_bad_arguments(self, cnn):
        with pytest.raises(
            ValueError,
            match=r"argument `num_false_classes`. Expected at most K - 1 = 9. Received: num_false_classes=10",
        ):
            AGI(cnn, num_false_classes=10)
        with pytest.raises(ValueError, match=r"argument `epsilon`. Expected a finite float > 0. Received: epsilon=0"):
            AGI(cnn, epsilon=0)
        with pytest.raises(ValueError, match=r"argument `max_steps`. Expected a positive int. Received: max_steps=0"):
            AGI(cnn, max_steps=0)
        with pytest.raises(ValueError, match=r"argument `path`. Expected one of \('cumulative', 'anchored'\)"):
            AGI(cnn, path="straight")
        with pytest.raises(ValueError, match="argument `input_range`"):
            AGI(cnn, input_range=(0.0, np.inf))

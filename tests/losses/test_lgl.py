"""LGL and SML: against NumPy references, Keras' cross-entropy, and the errors users see."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxai.losses import LGLLoss, SMLLoss, lgl_loss, sml_loss


def _reference_lgl(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """-log sigma(z_y) - sum_{k != y} log(1 - sigma(z_k)), in float64, one example at a time."""
    out = []
    for z, y in zip(logits.astype(np.float64), labels):
        sigma = 1.0 / (1.0 + np.exp(-z))
        out.append(-np.log(sigma[y]) - sum(np.log(1.0 - sigma[k]) for k in range(len(z)) if k != y))
    return np.array(out)


def _reference_sml(logits: np.ndarray, labels: np.ndarray, class_weights) -> np.ndarray:
    z = logits.astype(np.float64)
    log_probs = z - z.max(-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
    return -np.asarray(class_weights)[labels] * log_probs[np.arange(len(labels)), labels]


@pytest.fixture
def batch(rng):
    return rng.normal(scale=3.0, size=(16, 5)).astype("float32"), rng.integers(0, 5, size=16)


class TestLGLLoss:
    def test_matches_numpy_reference(self, batch):
        logits, labels = batch
        np.testing.assert_allclose(lgl_loss(labels, logits), _reference_lgl(logits, labels), rtol=1e-5)
        assert float(LGLLoss()(labels, logits)) == pytest.approx(_reference_lgl(logits, labels).mean(), rel=1e-5)

    def test_hand_values(self):
        # z = 0: every sigmoid is 1/2, so each of the K = 3 binary terms is log 2.
        assert float(lgl_loss([2], [[0.0, 0.0, 0.0]])[0]) == pytest.approx(3 * math.log(2), rel=1e-6)
        # z = (log 3, 0): -log(3/4) - log(1/2).
        assert float(lgl_loss([0], [[math.log(3.0), 0.0]])[0]) == pytest.approx(-math.log(0.75) + math.log(2), rel=1e-6)

    def test_gradient_is_sigmoid_minus_one_hot(self, batch):
        logits, labels = batch
        z = tf.constant(logits)
        with tf.GradientTape() as tape:
            tape.watch(z)
            loss = tf.reduce_sum(lgl_loss(labels, z))
        expected = 1.0 / (1.0 + np.exp(-logits)) - np.eye(5)[labels]
        np.testing.assert_allclose(tape.gradient(loss, z), expected, rtol=1e-5, atol=1e-6)

    def test_one_hot_and_column_labels(self, batch):
        logits, labels = batch
        sparse = lgl_loss(labels, logits)
        np.testing.assert_allclose(lgl_loss(np.eye(5)[labels], logits), sparse)
        np.testing.assert_allclose(lgl_loss(labels[:, None].astype("float32"), logits), sparse)

    def test_reduction_and_sample_weight(self, batch):
        logits, labels = batch
        per_example = _reference_lgl(logits, labels)
        weights = np.linspace(0.0, 2.0, 16)
        assert float(LGLLoss(reduction="sum")(labels, logits)) == pytest.approx(per_example.sum(), rel=1e-5)
        np.testing.assert_allclose(LGLLoss(reduction=None)(labels, logits), per_example, rtol=1e-5)
        weighted = LGLLoss()(labels, logits, sample_weight=weights)
        assert float(weighted) == pytest.approx((weights * per_example).mean(), rel=1e-5)

    def test_config(self):
        loss = LGLLoss(reduction="sum", name="my_lgl")
        assert loss.get_config() == {"name": "my_lgl", "reduction": "sum", "dtype": "float32"}
        assert LGLLoss.from_config(loss.get_config()).get_config() == loss.get_config()


class TestSMLLoss:
    def test_equals_keras_sparse_cross_entropy(self, batch):
        logits, labels = batch
        keras_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        assert float(SMLLoss()(labels, logits)) == pytest.approx(float(keras_ce(labels, logits)), rel=1e-6)
        uniform = SMLLoss(class_weights=[1.0] * 5)
        assert float(uniform(labels, logits)) == pytest.approx(float(keras_ce(labels, logits)), rel=1e-6)
        doubled = SMLLoss(class_weights=[2.0] * 5)
        assert float(doubled(labels, logits)) == pytest.approx(2 * float(keras_ce(labels, logits)), rel=1e-6)

    def test_class_weights_match_numpy_reference(self, batch):
        logits, labels = batch
        class_weights = [0.5, 1.0, 2.0, 0.0, 3.0]
        np.testing.assert_allclose(
            sml_loss(labels, logits, class_weights), _reference_sml(logits, labels, class_weights), rtol=1e-5, atol=1e-7
        )

    def test_hand_value(self):
        # Two classes, z = 0: CE = log 2; class 1 weighs 3.
        loss = SMLLoss(class_weights=[1.0, 3.0], reduction=None)
        np.testing.assert_allclose(loss([0, 1], [[0.0, 0.0], [0.0, 0.0]]), [math.log(2), 3 * math.log(2)], rtol=1e-6)

    def test_class_weights_validation(self):
        for bad in ([1.0], [1.0, -1.0], [1.0, float("nan")], [[1.0, 2.0]], ["a", "b"]):
            with pytest.raises(ValueError, match="Invalid value for argument `class_weights`"):
                SMLLoss(class_weights=bad)
        with pytest.raises(ValueError, match="Expected 3 weights"):
            SMLLoss(class_weights=[1.0, 2.0])([0], [[0.0, 0.0, 0.0]])

    def test_config(self):
        loss = SMLLoss(class_weights=(1, 2.5))
        config = loss.get_config()
        assert config == {
            "name": "sml_loss",
            "reduction": "sum_over_batch_size",
            "dtype": "float32",
            "class_weights": [1.0, 2.5],
        }
        assert SMLLoss.from_config(config).class_weights == (1.0, 2.5)


class TestLabelAndLogitChecks:
    """The shared boundary checks (`_standardize`), seen through `lgl_loss`."""

    @pytest.mark.parametrize(
        "y_true, y_pred, error, message",
        [
            ([0], [0.0, 1.0], ValueError, "argument `y_pred`.*Received: y_pred.shape=\\(2,\\)"),
            ([0], [[0.0]], ValueError, "num_classes >= 2"),
            ([0], [[0, 1]], TypeError, "argument `y_pred`.*int32"),
            ([[0, 1, 0]], [[0.0, 1.0]], ValueError, "argument `y_true`.*y_true.shape=\\(1, 3\\)"),
            (["a"], [[0.0, 1.0]], TypeError, "argument `y_true`.*string"),
            ([0, 1], [[0.0, 1.0]], ValueError, "same batch size"),
            ([2], [[0.0, 1.0]], ValueError, "class ids in \\[0, 2\\).*from 2 to 2"),
            ([-1], [[0.0, 1.0]], ValueError, "class ids in \\[0, 2\\)"),
        ],
    )
    def test_errors_name_the_argument(self, y_true, y_pred, error, message):
        with pytest.raises(error, match=message):
            lgl_loss(y_true, y_pred)

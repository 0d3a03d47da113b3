"""LGL-INR (Eq. 11): a loop-by-loop NumPy reference, hand values, gradients and sample weights."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfxai.losses import LGLINRLoss, lgl_inr_loss


def _reference(logits, labels, beta=1.0, epsilon=1e-7, weights=None, fixed_lambdas=None):
    """Eq. (11) summed over the K target classes, written as in the paper (float64, loops).

    Returns the batch loss and the weights lambdas[k][j]. `fixed_lambdas` replaces the weights
    (to differentiate with the weights held constant).
    """
    z = np.asarray(logits, np.float64)
    sigma = 1.0 / (1.0 + np.exp(-z))
    num_classes = z.shape[1]
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)
    members = {j: [i for i in range(len(labels)) if labels[i] == j] for j in range(num_classes)}
    counts = {j: sum(weights[i] for i in members[j]) for j in range(num_classes)}
    total, lambdas = 0.0, {}
    for k in range(num_classes):
        if counts[k] > 0:  # positives of class k
            total -= sum(weights[i] * np.log(sigma[i, k] + epsilon) for i in members[k]) / counts[k]
        negatives = [j for j in range(num_classes) if j != k and counts[j] > 0]
        if not negatives:
            continue
        mean_probs = np.array([sum(weights[i] * sigma[i, k] for i in members[j]) / counts[j] for j in negatives])
        lam = np.exp(beta * (mean_probs - mean_probs.max()))
        lam /= lam.sum()
        lambdas[k] = dict(zip(negatives, lam))
        if fixed_lambdas is not None:
            lambdas[k] = fixed_lambdas[k]
        for j in negatives:
            group = sum(weights[i] * np.log(1.0 - sigma[i, k] + epsilon) for i in members[j]) / counts[j]
            total -= lambdas[k][j] * group
    return total, lambdas


def _numeric_gradient(function, logits, step=1e-6):
    grad = np.zeros_like(logits)
    for index in np.ndindex(*logits.shape):
        up, down = logits.copy(), logits.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (function(up) - function(down)) / (2 * step)
    return grad


def _gradient(logits, labels, **kwargs):
    z = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = tf.reduce_mean(lgl_inr_loss(labels, z, **kwargs))
    return float(loss), tape.gradient(loss, z).numpy()


class TestLGLINRLoss:
    @pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
    def test_matches_numpy_reference(self, rng, beta):
        logits = rng.normal(scale=2.0, size=(24, 6)).astype("float32")
        labels = rng.integers(0, 6, size=24)
        labels[labels == 4] = 5  # class 4 absent from the batch
        values = lgl_inr_loss(labels, logits, beta=beta)
        assert values.shape == (24,) and values.dtype == tf.float32
        expected, _ = _reference(logits, labels, beta=beta)
        assert float(tf.reduce_mean(values)) == pytest.approx(expected, rel=1e-5)
        assert float(LGLINRLoss(beta=beta)(labels, logits)) == pytest.approx(expected, rel=1e-5)

    def test_beta_zero_gives_uniform_weights(self, rng):
        num_classes = 4
        logits = rng.normal(size=(12, num_classes))
        labels = np.arange(12) % num_classes  # every class present
        sigma = 1.0 / (1.0 + np.exp(-logits))
        expected = 0.0
        for k in range(num_classes):
            expected -= np.log(sigma[labels == k, k] + 1e-7).mean()
            for j in set(range(num_classes)) - {k}:
                expected -= np.log(1.0 - sigma[labels == j, k] + 1e-7).mean() / (num_classes - 1)
        assert float(LGLINRLoss(beta=0.0)(labels, logits)) == pytest.approx(expected, rel=1e-5)
        _, lambdas = _reference(logits, labels, beta=0.0)
        assert all(w == pytest.approx(1 / 3) for k in lambdas for w in lambdas[k].values())

    def test_hand_values(self):
        # K = 3, labels (0, 1), class 2 absent; z = 0 so every sigmoid is 1/2:
        # k = 0, 1: log 2 (positive) + log 2 (the one present negative class); k = 2: only the
        # negative term, lambdas (1/2, 1/2) over classes 0 and 1: log 2. Total 5 log 2.
        eps = 1e-7
        zeros = np.zeros((2, 3), np.float32)
        assert float(LGLINRLoss()([0, 1], zeros)) == pytest.approx(-5 * math.log(0.5 + eps), rel=1e-6)
        # z = +-log 3 gives sigmoids 3/4 and 1/4:
        # sigma = [[3/4, 1/4, 1/2], [1/2, 3/4, 1/4]], labels (0, 1).
        # k = 0: -log(3/4) - log(1 - 1/2);   k = 1: -log(3/4) - log(1 - 1/4);
        # k = 2: pbar = (1/2, 1/4) for classes (0, 1), lambda_0 = e^.5 / (e^.5 + e^.25) = sigmoid(1/4),
        #        -lambda_0 log(1 - 1/2) - (1 - lambda_0) log(1 - 1/4).
        l3 = math.log(3.0)
        logits = np.array([[l3, -l3, 0.0], [0.0, l3, -l3]], np.float32)
        lam0 = 1.0 / (1.0 + math.exp(-0.25))
        expected = -3 * math.log(0.75) - math.log(0.5) - lam0 * math.log(0.5) - (1 - lam0) * math.log(0.75)
        assert expected == pytest.approx(2.0718, abs=1e-4)
        assert float(LGLINRLoss(epsilon=1e-12)([0, 1], logits)) == pytest.approx(expected, rel=1e-5)

    def test_uninformed_scale_is_2k_log2(self):
        labels = np.arange(20) % 10
        loss = LGLINRLoss()(labels, np.zeros((20, 10), np.float32))
        assert float(loss) == pytest.approx(20 * math.log(2), rel=1e-5)

    def test_gradient_matches_finite_differences(self, rng):
        logits = rng.normal(size=(7, 4))  # float64 in, float64 out
        labels = np.array([0, 1, 1, 3, 0, 3, 3])  # class 2 absent
        _, grad = _gradient(logits, labels)
        numeric = _numeric_gradient(lambda z: _reference(z, labels)[0], logits)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)

    def test_stop_gradient_changes_gradients_not_values(self, rng):
        logits = rng.normal(size=(7, 4))
        labels = np.array([0, 1, 2, 3, 0, 3, 1])
        value, grad = _gradient(logits, labels)
        detached_value, detached_grad = _gradient(logits, labels, stop_gradient_weights=True)
        assert detached_value == pytest.approx(value, rel=1e-12)
        assert np.abs(grad - detached_grad).max() > 1e-3
        # Detached = the derivative with the weights held at their current values.
        _, lambdas = _reference(logits, labels)
        numeric = _numeric_gradient(lambda z: _reference(z, labels, fixed_lambdas=lambdas)[0], logits)
        np.testing.assert_allclose(detached_grad, numeric, rtol=1e-5, atol=1e-8)

    def test_integer_sample_weights_equal_repeated_examples(self, rng):
        logits = rng.normal(size=(6, 4)).astype("float32")
        labels = np.array([0, 1, 1, 3, 0, 2])
        weights = np.array([2, 1, 0, 3, 1, 1])
        repeated = np.repeat(np.arange(6), weights)
        loss = LGLINRLoss()
        z = tf.constant(logits)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(z)
            weighted = loss(labels, z, sample_weight=weights)
            duplicated = loss(labels[repeated], tf.gather(z, repeated))
        assert float(weighted) == pytest.approx(float(duplicated), rel=1e-6)
        assert float(weighted) == pytest.approx(_reference(logits, labels, weights=weights)[0], rel=1e-5)
        np.testing.assert_allclose(
            tape.gradient(weighted, z), tf.convert_to_tensor(tape.gradient(duplicated, z)), rtol=1e-5, atol=1e-7
        )

    def test_sample_weight_forms(self, rng):
        logits = rng.normal(size=(6, 3)).astype("float32")
        labels = np.array([0, 1, 2, 0, 1, 2])
        loss = LGLINRLoss()
        unweighted = float(loss(labels, logits))
        # A constant weight per class leaves every class mean, hence the loss, unchanged.
        assert float(loss(labels, logits, sample_weight=np.array([2.0, 5.0, 1.0])[labels])) == pytest.approx(
            unweighted, rel=1e-6
        )
        assert float(loss(labels, logits, sample_weight=3.0)) == pytest.approx(unweighted, rel=1e-6)
        column = np.arange(1.0, 7.0)[:, None]
        assert float(loss(labels, logits, sample_weight=column)) == pytest.approx(
            float(loss(labels, logits, sample_weight=column[:, 0])), rel=1e-6
        )
        assert float(loss(labels, logits, sample_weight=np.zeros(6))) == 0.0
        with pytest.raises(ValueError, match="argument `sample_weight`"):
            loss(labels, logits, sample_weight=np.ones((6, 2)))

    def test_reductions(self, rng):
        logits = rng.normal(size=(5, 3)).astype("float32")
        labels = np.array([0, 1, 2, 2, 1])
        batch_loss = float(LGLINRLoss()(labels, logits))
        for reduction in ("mean", "mean_with_sample_weight"):
            assert float(LGLINRLoss(reduction=reduction)(labels, logits)) == pytest.approx(batch_loss, rel=1e-6)
        assert float(LGLINRLoss(reduction="sum")(labels, logits)) == pytest.approx(5 * batch_loss, rel=1e-6)
        per_example = LGLINRLoss(reduction=None)(labels, logits)
        assert per_example.shape == (5,) and float(tf.reduce_mean(per_example)) == pytest.approx(batch_loss, rel=1e-6)
        np.testing.assert_allclose(LGLINRLoss().call(labels, logits), per_example)

    def test_only_one_class_in_batch(self):
        # Target 1 has no negative class in the batch: only its positive term remains. The
        # absent target 0 keeps its negative term, with all the weight on class 1: -log(1 - 1/2).
        logits = np.array([[0.0, 2.0], [0.0, -1.0]], np.float32)
        sigma = 1.0 / (1.0 + np.exp(-np.array([2.0, -1.0])))
        expected = -np.log(sigma + 1e-7).mean() - np.log(0.5 + 1e-7)
        assert float(LGLINRLoss()([1, 1], logits)) == pytest.approx(expected, rel=1e-6)

    def test_large_beta_stays_finite(self, rng):
        logits = rng.normal(scale=5.0, size=(8, 4)).astype("float32")
        labels = np.array([0, 1, 2, 3, 0, 1, 2, 3])
        _, grad = _gradient(logits, labels, beta=1e4)
        assert np.all(np.isfinite(grad))
        assert float(LGLINRLoss(beta=1e4)(labels, logits)) == pytest.approx(
            _reference(logits, labels, beta=1e4)[0], rel=1e-4
        )

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"beta": -1.0}, "argument `beta`. Expected a finite float >= 0. Received: beta=-1.0"),
            ({"beta": float("inf")}, "argument `beta`"),
            ({"epsilon": 0.0}, "argument `epsilon`. Expected a finite float > 0. Received: epsilon=0.0"),
        ],
    )
    def test_bad_hyper_parameters(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            LGLINRLoss(**kwargs)
        with pytest.raises(ValueError, match=message):
            lgl_inr_loss([0], [[0.0, 0.0]], **kwargs)

    def test_bad_flag_type(self):
        with pytest.raises(TypeError, match="argument `stop_gradient_weights`. Expected a bool"):
            LGLINRLoss(stop_gradient_weights="yes")

    def test_config(self):
        loss = LGLINRLoss(beta=2.0, stop_gradient_weights=True, epsilon=1e-6, reduction="sum", name="inr")
        config = loss.get_config()
        assert config == {
            "name": "inr",
            "reduction": "sum",
            "dtype": "float32",
            "beta": 2.0,
            "stop_gradient_weights": True,
            "epsilon": 1e-6,
        }
        assert LGLINRLoss.from_config(config).get_config() == config

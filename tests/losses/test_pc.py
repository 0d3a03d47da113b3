"""PC loss with logit constraints (Eq. 6 + 16): NumPy references of the paper and of the authors' code."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfxai.losses import PCLoss, pc_loss


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _reference(logits, labels, margin=0.995, logit_weight=0.05, logit_constraint="soft", normalize_false_classes=True):
    """Eq. (6) + Eq. (16) (hard) or the softmax-weighted logit term (soft), one example at a time."""
    per_example = []
    for z, y in zip(np.asarray(logits, np.float64), labels):
        p = _softmax(z)
        false = [j for j in range(len(z)) if j != y]
        pc = sum(max(0.0, p[j] + margin - p[y]) for j in false)
        if normalize_false_classes:
            pc /= len(false)
        if logit_constraint == "hard":
            j = max(false, key=lambda k: z[k])  # most probable false class
            d = max(0.0, z[y] - z[j])
        else:
            w = _softmax(z[false])
            d = sum(w_j * max(0.0, z[y] - z[j]) for w_j, j in zip(w, false))
        per_example.append(pc + logit_weight * d)
    return np.array(per_example)


def _authors_code(logits, labels, margin=0.995, logit_weight=0.05):
    """The authors' PyTorch modules (hard_margin_loss + 0.05 * margin_loss_soft_logit), in NumPy."""
    z = np.asarray(logits, np.float64)
    batch_size, num_classes = z.shape
    mask = np.eye(num_classes)[labels]
    p = _softmax(z)
    p_gt = (mask * p).sum(1, keepdims=True)
    margin_loss = (np.maximum(0.0, margin + p - p_gt).sum() / batch_size - margin) / (num_classes - 1)
    z_true = (mask * z).sum(1, keepdims=True)
    x_false = z - mask * z - 1e3 * mask
    soft_logit = np.maximum(0.0, _softmax(x_false) * (z_true - z)).sum() / batch_size
    return margin_loss + logit_weight * soft_logit


def _gradient(loss, labels, logits):
    z = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(z)
        value = loss(labels, z)
    return value, tape.gradient(value, z).numpy()


@pytest.fixture
def batch(rng):
    return rng.normal(scale=2.0, size=(32, 6)).astype("float32"), rng.integers(0, 6, size=32)


class TestPCLoss:
    @pytest.mark.parametrize("logit_constraint", ["soft", "hard"])
    @pytest.mark.parametrize("normalize_false_classes", [True, False])
    @pytest.mark.parametrize("margin, logit_weight", [(0.995, 0.05), (0.5, 0.0), (0.8, 1.0)])
    def test_matches_numpy_reference(self, batch, logit_constraint, normalize_false_classes, margin, logit_weight):
        logits, labels = batch
        kwargs = dict(
            margin=margin,
            logit_weight=logit_weight,
            logit_constraint=logit_constraint,
            normalize_false_classes=normalize_false_classes,
        )
        expected = _reference(logits, labels, **kwargs)
        np.testing.assert_allclose(pc_loss(labels, logits, **kwargs), expected, rtol=1e-5, atol=1e-6)
        assert float(PCLoss(**kwargs)(labels, logits)) == pytest.approx(expected.mean(), rel=1e-5)

    def test_default_is_the_authors_code(self, batch):
        logits, labels = batch
        assert float(PCLoss()(labels, logits)) == pytest.approx(_authors_code(logits, labels), rel=1e-5)

    def test_paper_equation_6_sums_over_false_classes(self, batch):
        logits, labels = batch
        summed = PCLoss(logit_weight=0.0, normalize_false_classes=False)(labels, logits)
        averaged = PCLoss(logit_weight=0.0)(labels, logits)
        assert float(summed) == pytest.approx(5 * float(averaged), rel=1e-6)

    def test_hand_values(self):
        # K = 3, z = (log 2, 0, -log 2) -> p = (4, 2, 1) / 7, y = 0:
        #   violations 2/7 + 0.995 - 4/7 and 1/7 + 0.995 - 4/7, mean over the 2 false classes;
        #   soft: weights softmax(0, -log 2) = (2/3, 1/3), gaps (log 2, 2 log 2) -> 4/3 log 2;
        #   hard: most probable false class 1, gap log 2.
        # z = 0, y = 2: p = 1/3 each, violations 0.995 and 0.995, gaps 0.
        l2 = math.log(2.0)
        logits = np.array([[l2, 0.0, -l2], [0.0, 0.0, 0.0]], np.float32)
        pc0 = ((2 / 7 + 0.995 - 4 / 7) + (1 / 7 + 0.995 - 4 / 7)) / 2
        assert pc0 == pytest.approx(0.637857, abs=1e-6)
        pc1 = 0.995
        soft = PCLoss()([0, 2], logits)
        hard = PCLoss(logit_constraint="hard")([0, 2], logits)
        assert float(soft) == pytest.approx((pc0 + pc1 + 0.05 * 4 / 3 * l2) / 2, rel=1e-6)
        assert float(hard) == pytest.approx((pc0 + pc1 + 0.05 * l2) / 2, rel=1e-6)
        unnormalized = PCLoss(logit_weight=0.0, normalize_false_classes=False)([0, 2], logits)
        assert float(unnormalized) == pytest.approx((2 * pc0 + 2 * pc1) / 2, rel=1e-6)

    def test_from_probabilities(self, batch):
        logits, labels = batch
        probs = tf.nn.softmax(logits)
        for constraint in ("soft", "hard"):
            from_probs = PCLoss(from_logits=False, logit_constraint=constraint)(labels, probs)
            assert float(from_probs) == pytest.approx(
                float(PCLoss(logit_constraint=constraint)(labels, logits)), rel=1e-4
            )

    def test_gradient_matches_finite_differences(self, rng):
        logits = rng.normal(size=(5, 4))
        labels = np.array([0, 1, 2, 3, 1])
        for constraint in ("soft", "hard"):
            _, grad = _gradient(PCLoss(logit_constraint=constraint, logit_weight=0.5), labels, logits)
            numeric = np.zeros_like(logits)
            for index in np.ndindex(*logits.shape):
                up, down = logits.copy(), logits.copy()
                up[index] += 1e-6
                down[index] -= 1e-6
                numeric[index] = (
                    _reference(up, labels, logit_weight=0.5, logit_constraint=constraint).mean()
                    - _reference(down, labels, logit_weight=0.5, logit_constraint=constraint).mean()
                ) / 2e-6
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)

    def test_gradient_small_when_confidently_right_large_when_wrong(self):
        confident = np.array([[10.0, 0.0, 0.0]], np.float32)
        wrong = np.array([[0.0, 2.0, 0.0]], np.float32)
        # PC term alone: inactive at a confident correct prediction (p_y - p_j > margin).
        _, grad = _gradient(PCLoss(logit_weight=0.0), [0], confident)
        np.testing.assert_array_equal(grad, 0.0)
        _, grad = _gradient(PCLoss(logit_weight=0.0), [0], wrong)
        assert np.linalg.norm(grad) > 0.15 and grad[0, 0] < 0 < grad[0, 1]  # raise the true logit, lower class 1
        # With the logit term: only its constant slope (logit_weight) remains when right.
        _, right_grad = _gradient(PCLoss(), [0], confident)
        _, wrong_grad = _gradient(PCLoss(), [0], wrong)
        assert np.linalg.norm(right_grad) < 0.07 < 0.15 < np.linalg.norm(wrong_grad)

    def test_huge_logits_stay_masked(self):
        # The authors' -1000 mask would let a true logit of 1e4 dominate the soft weights.
        logits = np.array([[1e4, 0.0, -1.0]], np.float32)
        soft = pc_loss([0], logits, logit_weight=1.0)
        weights = _softmax(np.array([0.0, -1.0]))
        expected = 0.0 + weights[0] * 1e4 + weights[1] * (1e4 + 1.0)
        assert float(soft[0]) == pytest.approx(expected, rel=1e-6)

    @pytest.mark.parametrize(
        "kwargs, error, message",
        [
            (
                {"margin": 0.0},
                ValueError,
                "Invalid value for argument `margin`. Expected a probability margin in "
                "\\(0, 1\\]. Received: margin=0.0",
            ),
            ({"margin": 1.5}, ValueError, "argument `margin`"),
            ({"margin": "0.9"}, TypeError, "argument `margin`"),
            ({"logit_weight": -0.1}, ValueError, "argument `logit_weight`.*Received: logit_weight=-0.1"),
            (
                {"logit_constraint": "max"},
                ValueError,
                "argument `logit_constraint`. Expected one of \\('soft', "
                "'hard'\\). Received: logit_constraint='max'",
            ),
            ({"normalize_false_classes": 1}, TypeError, "argument `normalize_false_classes`"),
            ({"from_logits": None}, TypeError, "argument `from_logits`"),
        ],
    )
    def test_bad_hyper_parameters(self, kwargs, error, message):
        with pytest.raises(error, match=message):
            PCLoss(**kwargs)
        with pytest.raises(error, match=message):
            pc_loss([0], [[0.0, 0.0]], **kwargs)

    def test_config(self):
        loss = PCLoss(
            margin=0.8,
            logit_weight=0.1,
            logit_constraint="hard",
            normalize_false_classes=False,
            from_logits=False,
            reduction="sum",
            name="pc",
        )
        config = loss.get_config()
        assert config == {
            "name": "pc",
            "reduction": "sum",
            "dtype": "float32",
            "margin": 0.8,
            "logit_weight": 0.1,
            "logit_constraint": "hard",
            "normalize_false_classes": False,
            "from_logits": False,
        }
        assert PCLoss.from_config(config).get_config() == config

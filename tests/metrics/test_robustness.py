"""Robustness metrics: rank statistics vs scipy and hand values, the false-class shares on a
hand-built example, the gradient-masking checks on hand-built tables, and the report against
direct attack calls on a normal and a gradient-masked digits CNN."""

from __future__ import annotations

import json
import types

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf
from sklearn.datasets import load_digits

from tfxai import attacks
from tfxai.metrics import robustness
from tfxai.metrics.robustness import (
    QUERY,
    TRANSFER,
    WHITE_BOX,
    adversarial_accuracy,
    false_class_shares,
    format_markdown,
    gradient_masking_checks,
    kendall_tau,
    robustness_report,
    top_k_intersection,
)

NUM_TEST = 100
ITERATIVE = {"steps": 10, "step_size": 0.03}  # reach 0.3: every budget of the grid
ATTACKS = {
    "fgsm": {},
    "bim": ITERATIVE,
    "pgd": ITERATIVE,
    "mim": ITERATIVE,
    "cw_l2": {"steps": 30, "binary_search_steps": 3, "learning_rate": 0.01},
    "spsa": {"epsilons": (0.3,), "steps": 10, "num_samples": 32},
}
GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def _cnn(seed: int, width: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


@pytest.fixture(scope="module")
def digits() -> types.SimpleNamespace:
    """A digits CNN (~95 %), a substitute trained on half of its data, and a gradient-masked twin.

    The masked twin multiplies the logits by 1e4: predictions are unchanged, but the softmax
    saturates, so the cross-entropy gradient of every confidently classified input is exactly
    zero (float32 underflow) and gradient attacks stall, while the substitute's transfer
    attacks and SPSA (which queries the margin of the logits) are unaffected.
    """
    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., np.newaxis]
    y = data.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:-NUM_TEST], order[-NUM_TEST:]
    model = _cnn(0, 16)
    model.fit(x[train], y[train], epochs=8, batch_size=64, verbose=0)
    substitute = _cnn(1, 8)
    substitute.fit(x[train[: len(train) // 2]], y[train[: len(train) // 2]], epochs=8, batch_size=64, verbose=0)
    masked = keras.Sequential([keras.Input((8, 8, 1)), model, keras.layers.Rescaling(1e4)])
    return types.SimpleNamespace(model=model, substitute=substitute, masked=masked, x=x[test], y=y[test])


def _report(model, digits, **kwargs):
    return robustness_report(
        model,
        digits.x,
        digits.y,
        attacks=ATTACKS,
        substitute=digits.substitute,
        transfer_attacks={"pgd": ITERATIVE},
        false_class_attacks={"fgsm": {}},
        false_class_epsilons=GRID,
        tolerance=2.0,
        verbose=False,
        **kwargs,
    )


@pytest.fixture(scope="module")
def normal_report(digits):
    return _report(digits.model, digits)


def _accuracy(model, x_adv, y) -> float:
    return 100.0 * float(np.mean(np.argmax(np.asarray(model(np.asarray(x_adv))), axis=-1) == y))


class TestTopKIntersection:
    def test_hand_values(self):
        a = [[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]]
        b = [[4.0, 1.0, 3.0, 2.0], [4.0, 3.0, 2.0, 1.0]]
        np.testing.assert_allclose(top_k_intersection(a, b, k=2), [0.5, 0.0])
        np.testing.assert_allclose(top_k_intersection(a, b, k=3), [2 / 3, 2 / 3])
        np.testing.assert_allclose(top_k_intersection(a, b, k=4), [1.0, 1.0])
        np.testing.assert_allclose(top_k_intersection(a, a, k=1), [1.0, 1.0])

    def test_ties_take_the_lower_index(self):
        np.testing.assert_allclose(top_k_intersection([[1.0, 1.0, 1.0]], [[1.0, 0.0, 0.0]], k=1), [1.0])

    def test_against_sets_on_images_and_tensors(self, rng):
        a = rng.normal(size=(6, 5, 5, 2))
        b = a + rng.normal(scale=0.5, size=a.shape)
        got = top_k_intersection(tf.constant(a), tf.constant(b), k=7)
        flat_a, flat_b = a.reshape(6, -1), b.reshape(6, -1)
        expected = [len(set(np.argsort(-u)[:7]) & set(np.argsort(-v)[:7])) / 7 for u, v in zip(flat_a, flat_b)]
        np.testing.assert_allclose(got, expected)
        assert got.dtype == np.float64 and got.shape == (6,)

    @pytest.mark.parametrize(
        "a, b, k, error, message",
        [
            (np.ones((2, 4)), np.ones((2, 5)), 2, ValueError, "same shape"),
            (np.ones((2, 4)), np.ones((2, 4)), 5, ValueError, "k <= 4"),
            (np.ones((2, 4)), np.ones((2, 4)), 0, ValueError, "k"),
            (np.ones((2, 4)), np.ones((2, 4)), 1.5, TypeError, "k"),
            (np.full((2, 4), np.nan), np.ones((2, 4)), 2, ValueError, "finite"),
            (np.ones(4), np.ones(4), 2, ValueError, "batches"),
        ],
    )
    def test_bad_inputs(self, a, b, k, error, message):
        with pytest.raises(error, match=message):
            top_k_intersection(a, b, k)


class TestKendallTau:
    def test_hand_values(self):
        np.testing.assert_allclose(kendall_tau([[1.0, 2.0, 3.0]], [[1.0, 3.0, 2.0]]), [1 / 3])  # (2 - 1) / 3
        np.testing.assert_allclose(kendall_tau([[1, 2, 3, 4]], [[4, 3, 2, 1]]), [-1.0])
        # Ties (tau-b): a has one tied pair, b none; n_c = 5, n_d = 0 -> 5 / sqrt(5 * 6).
        np.testing.assert_allclose(kendall_tau([[1, 1, 2, 3]], [[1, 2, 3, 4]]), [5 / np.sqrt(30)])
        assert np.isnan(kendall_tau([[2.0, 2.0, 2.0]], [[1.0, 2.0, 3.0]])[0])  # constant map, as scipy

    @pytest.mark.parametrize("size", [2, 3, 17, 64, 784])
    def test_matches_scipy_with_and_without_ties(self, rng, size):
        a = rng.normal(size=(12, size))
        b = a + rng.normal(size=a.shape)
        a[:4], b[2:6] = np.round(a[:4]), np.round(2 * b[2:6])  # ties in a, in b and in both
        a[8:], b[8:] = rng.integers(0, 3, size=(4, size)), rng.integers(0, 3, size=(4, size))
        expected = [scipy.stats.kendalltau(u, v).statistic for u, v in zip(a, b)]
        np.testing.assert_allclose(kendall_tau(a, b), expected, rtol=0, atol=1e-12)

    def test_maps_of_any_rank_and_tensors(self, rng):
        a = rng.normal(size=(3, 4, 4, 3)).astype("float32")
        b = a + rng.normal(size=a.shape).astype("float32")
        expected = [scipy.stats.kendalltau(u.ravel(), v.ravel()).statistic for u, v in zip(a, b)]
        np.testing.assert_allclose(kendall_tau(tf.constant(a), b), expected, atol=1e-12)

    def test_inversion_count_against_brute_force(self, rng):
        values = rng.integers(0, 5, size=(5, 13)).astype(float)
        brute = [sum(row[i] > row[j] for i in range(13) for j in range(i + 1, 13)) for row in values]
        np.testing.assert_array_equal(robustness._inversions(values), brute)

    def test_bad_inputs(self):
        with pytest.raises(ValueError, match="same shape"):
            kendall_tau(np.ones((2, 3)), np.ones((3, 3)))
        with pytest.raises(ValueError, match="at least 2 features"):
            kendall_tau(np.ones((2, 1)), np.ones((2, 1)))
        with pytest.raises(ValueError, match="`b`. Expected finite"):
            kendall_tau(np.ones((2, 3)), np.full((2, 3), np.inf))


class TestFalseClassShares:
    # K = 6. Ranks by clean logit: example 0 (y=0): class 1 is 2nd, 2 is 3rd, ..., 5 is 6th;
    # example 1 (y=5): class 4 is 2nd, 3 is 3rd, ...; example 2 is misclassified (dropped);
    # example 3 (y=2): class 5 is 2nd, 4 is 3rd, 3 is 4th, classes 0 and 1 tie as 5th.
    LOGITS = np.array([[5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5], [1, 9, 0, 0, 0, 0], [0, 0, 9, 1, 2, 3]], float)
    Y = np.array([0, 5, 0, 2])
    PREDICTIONS = np.array(
        [
            [1, 5, 1, 2],  # eps 0.1: example 0 -> 2nd class (new)
            [0, 3, 1, 0],  # eps 0.2: example 0 recovers; 1 -> 3rd (new); 3 -> tied 5th (new)
            [5, 3, 1, 4],  # eps 0.3: example 0 -> 6th (new again); 1 and 3 still fooled (not new)
        ]
    )

    def test_hand_built_example(self):
        result = false_class_shares(self.LOGITS, self.PREDICTIONS, self.Y, (0.1, 0.2, 0.3))
        assert result["correct"] == 3 and result["ranks"] == [2, 3, 4, 5]
        steps = result["steps"]
        assert [(s["from"], s["to"], s["new_successes"]) for s in steps] == [
            (0.0, 0.1, 1),
            (0.1, 0.2, 2),
            (0.2, 0.3, 1),
        ]
        assert steps[0]["shares"] == [1.0, 0.0, 0.0, 0.0] and steps[0]["other"] == 0.0
        assert steps[1]["shares"] == [0.0, 0.5, 0.0, 0.5] and steps[1]["other"] == 0.0
        assert steps[2]["shares"] == [0.0, 0.0, 0.0, 0.0] and steps[2]["other"] == 1.0
        assert result["total"] == {"new_successes": 4, "shares": [0.25, 0.25, 0.0, 0.25], "other": 0.25}

    def test_fewer_ranks_and_a_step_without_successes(self):
        unchanged = np.vstack([self.Y, self.PREDICTIONS[:1]])  # nothing at eps 0.05, then example 0 falls
        result = false_class_shares(self.LOGITS, unchanged, self.Y, (0.05, 0.1), num_ranks=1)
        assert result["steps"][0] == {"from": 0.0, "to": 0.05, "new_successes": 0, "shares": None, "other": None}
        assert result["steps"][1]["shares"] == [1.0] and result["ranks"] == [2]

    def test_bad_inputs(self):
        with pytest.raises(ValueError, match="increasing"):
            false_class_shares(self.LOGITS, self.PREDICTIONS, self.Y, (0.1, 0.3, 0.2))
        with pytest.raises(ValueError, match="Invalid shapes"):
            false_class_shares(self.LOGITS, self.PREDICTIONS[:, :3], self.Y, (0.1, 0.2, 0.3))
        with pytest.raises(ValueError, match=r"class ids in \[0, 5\]"):
            false_class_shares(self.LOGITS, self.PREDICTIONS + 1, self.Y, (0.1, 0.2, 0.3))


def _row(attack, accuracy, epsilon=0.1, threat=WHITE_BOX, method=None, **kwargs):
    return {
        "attack": attack,
        "method": method or attack,
        "threat": threat,
        "epsilon": epsilon,
        "kwargs": kwargs,
        "accuracy": accuracy,
    }


class TestGradientMaskingChecks:
    def test_consistent_table_passes(self):
        rows = [
            _row("fgsm", 60.0),
            _row("pgd", 40.0),
            _row("fgsm", 30.0, 0.2),
            _row("pgd", 5.0, 0.2),
            _row("pgd", 70.0, 0.1, TRANSFER),
            _row("pgd", 35.0, 0.2, TRANSFER),
        ]
        checks = gradient_masking_checks(rows, clean_accuracy=95.0)
        assert [c["status"] for c in checks] == ["PASS"] * 3
        assert [c["compared"] for c in checks] == [2, 2, 6]

    def test_iterative_weaker_than_one_step_fails_unless_out_of_reach(self):
        rows = [_row("fgsm", 30.0, 0.3), _row("pgd", 45.0, 0.3), _row("bim", 50.0, 0.3, steps=10, step_size=0.01)]
        check = gradient_masking_checks(rows, 95.0)[0]
        assert check["status"] == "FAIL" and check["compared"] == 1
        assert check["failures"] == ["pgd (white-box) eps=0.3: 45.0 % > fgsm (white-box) eps=0.3: 30.0 %"]
        assert check["skipped"] == ["bim eps=0.3 (reach 0.1 < eps)"]
        assert gradient_masking_checks(rows[:2], 95.0, tolerance=15.0)[0]["status"] == "PASS"

    def test_black_box_stronger_than_white_box_fails(self):
        rows = [
            _row("fgsm", 90.0),
            _row("pgd", 85.0),
            _row("spsa", 50.0, threat=QUERY),
            _row("pgd", 84.5, threat=TRANSFER),
        ]
        check = gradient_masking_checks(rows, 95.0)[1]
        assert check["status"] == "FAIL" and check["compared"] == 2
        assert check["failures"] == ["spsa (black-box (query)) eps=0.1: 50.0 % < pgd (white-box) eps=0.1: 85.0 %"]

    def test_accuracy_rising_or_flat_in_epsilon_fails(self):
        rising = [_row("fgsm", 40.0, 0.1), _row("fgsm", 55.0, 0.2)]
        assert gradient_masking_checks(rising, 95.0)[2]["failures"] == [
            "fgsm (white-box) eps=0.2: 55.0 % > fgsm (white-box) eps=0.1: 40.0 %"
        ]
        flat = [_row("mim", 94.5, 0.1), _row("mim", 94.5, 0.3)]
        check = gradient_masking_checks(flat, 95.0)[2]
        assert check["status"] == "FAIL" and "no lower than the clean accuracy 95.0 %" in check["failures"][0]

    def test_nothing_to_compare_is_skipped(self):
        checks = gradient_masking_checks([_row("cw_l2", 50.0, None)], 95.0)
        assert [c["status"] for c in checks] == ["SKIP"] * 3

    def test_bad_tolerance(self):
        with pytest.raises(ValueError, match="tolerance"):
            gradient_masking_checks([], 95.0, tolerance=-1.0)


class TestAdversarialAccuracy:
    def test_equals_the_attack_called_directly(self, digits):
        x, y = digits.x[:40], digits.y[:40]
        x_adv = attacks.pgd(digits.model, x, y, epsilon=0.1, steps=5, step_size=0.03)
        value, correct = adversarial_accuracy(
            digits.model, x, y, attack="pgd", epsilon=0.1, steps=5, step_size=0.03, return_per_example=True
        )
        assert 100 * value == _accuracy(digits.model, x_adv, y) and correct.shape == (40,) and correct.dtype == bool
        # Chunks of the batch: same result for a deterministic attack.
        chunked = adversarial_accuracy(digits.model, x, y, attack="fgsm", epsilon=0.1, batch_size=7)
        assert chunked == adversarial_accuracy(digits.model, tf.constant(x), y, attack="fgsm", epsilon=0.1)

    def test_transfer_from_a_substitute(self, digits):
        x, y = digits.x[:40], digits.y[:40]
        expected = attacks.transfer(digits.substitute, digits.model, x, y, attack="fgsm", epsilon=0.2).accuracy
        assert adversarial_accuracy(digits.model, x, y, attack="fgsm", substitute=digits.substitute, epsilon=0.2) == (
            pytest.approx(expected)
        )

    def test_bad_inputs(self, digits):
        x, y = digits.x[:4], digits.y[:4]
        with pytest.raises(ValueError, match="Expected one of"):
            adversarial_accuracy(digits.model, x, y, attack="deepfool")
        with pytest.raises(ValueError, match="true labels"):
            adversarial_accuracy(digits.model, x, None, attack="fgsm")
        with pytest.raises(ValueError, match="untargeted"):
            adversarial_accuracy(digits.model, x, y, attack="fgsm", targeted=True)
        with pytest.raises(ValueError, match=r"class ids in \[0, 9\]"):
            adversarial_accuracy(digits.model, x, y + 10, attack="fgsm")
        with pytest.raises(ValueError, match="epsilon"):
            adversarial_accuracy(digits.model, x, y, attack="fgsm", epsilon=-0.1)


class TestRobustnessReport:
    def test_table_agrees_with_direct_attack_calls(self, digits, normal_report):
        x, y, model = digits.x, digits.y, digits.model
        rows = {(r["attack"], r["threat"], r["epsilon"]): r["accuracy"] for r in normal_report["rows"]}
        assert len(rows) == 3 * 4 + 1 + 1 + 3  # fgsm/bim/pgd/mim x 3 eps, cw, spsa at 0.3, transfer pgd x 3
        assert normal_report["clean_accuracy"] == _accuracy(model, x, y)
        for eps in (0.1, 0.2, 0.3):
            direct = {
                "fgsm": attacks.fgsm(model, x, y, epsilon=eps),
                "bim": attacks.bim(model, x, y, epsilon=eps, **ITERATIVE),
                "pgd": attacks.pgd(model, x, y, epsilon=eps, **ITERATIVE),
                "mim": attacks.mim(model, x, y, epsilon=eps, **ITERATIVE),
            }
            for name, x_adv in direct.items():
                assert rows[(name, WHITE_BOX, eps)] == _accuracy(model, x_adv, y), (name, eps)
            transferred = attacks.pgd(digits.substitute, x, y, epsilon=eps, **ITERATIVE)
            assert rows[("pgd", TRANSFER, eps)] == _accuracy(model, transferred, y)
        assert rows[("cw_l2", WHITE_BOX, None)] == _accuracy(model, attacks.cw_l2(model, x, y, **ATTACKS["cw_l2"]), y)
        spsa = attacks.spsa(model, x, y, epsilon=0.3, steps=10, num_samples=32)
        assert rows[("spsa", QUERY, 0.3)] == _accuracy(model, spsa, y)

    def test_false_class_analysis_agrees_with_direct_fgsm(self, digits, normal_report):
        (analysis,) = normal_report["false_class"]
        predictions = np.stack(
            [np.argmax(digits.model(attacks.fgsm(digits.model, digits.x, digits.y, epsilon=e)), -1) for e in GRID]
        )
        expected = false_class_shares(digits.model(digits.x), predictions, digits.y, GRID)
        assert {k: analysis[k] for k in expected} == expected
        assert analysis["total"]["new_successes"] > 20
        assert analysis["total"]["shares"][0] > 0.5  # most land in the most probable false class

    def test_checks_pass_on_a_normal_model_and_flag_a_masked_one(self, digits, normal_report):
        assert [c["status"] for c in normal_report["checks"]] == ["PASS"] * 3, format_markdown(normal_report)
        masked = _report(digits.masked, digits)
        statuses = {c["name"]: c["status"] for c in masked["checks"]}
        assert statuses["black-box accuracy >= white-box accuracy"] == "FAIL", format_markdown(masked)
        assert statuses["accuracy decreasing in epsilon"] == "FAIL"  # FGSM, BIM, MIM change nothing
        fgsm = [r["accuracy"] for r in masked["rows"] if r["attack"] == "fgsm"]
        assert fgsm == [masked["clean_accuracy"]] * 3  # one-step = no step: the gradient is exactly zero
        markdown = format_markdown(masked)
        assert "FAIL black-box accuracy >= white-box accuracy" in markdown
        assert "| pgd | black-box (transfer) | 0.3 |" in markdown and "| cw_l2 | white-box | κ=0 |" in markdown

    def test_interrupted_evaluation_resumes_from_the_cache(self, digits, tmp_path, capsys):
        kwargs = dict(
            attacks={"fgsm": {}, "pgd": {"steps": 3, "step_size": 0.1}},
            epsilons=(0.1, 0.3),
            false_class_attacks=["fgsm"],
            false_class_epsilons=(0.1, 0.2, 0.3),
            cache_dir=tmp_path,
        )
        first = robustness_report(digits.model, digits.x, digits.y, **kwargs)
        assert capsys.readouterr().out.count("(computed") == 5  # fgsm 0.1 and 0.3 are reused by the grid
        cells = sorted(tmp_path.glob("*.json"))
        assert len(cells) == 5
        cells[0].unlink()  # as if interrupted before the last cell was written
        stale = json.loads(cells[1].read_text())
        stale["key"]["model"] = "another model"
        cells[1].write_text(json.dumps(stale))
        second = robustness_report(digits.model, digits.x, digits.y, **kwargs)
        out = capsys.readouterr().out
        assert out.count("(computed") == 2 and out.count("(cached") == 3 and out.count("(reused") == 2
        assert second["rows"] == [{**r, "seconds": s["seconds"]} for r, s in zip(first["rows"], second["rows"])]
        assert second["false_class"] == first["false_class"]
        # A different model misses the cache.
        robustness_report(digits.substitute, digits.x, digits.y, **kwargs)
        assert capsys.readouterr().out.count("(computed") == 5

    def test_report_is_json_ready(self, normal_report):
        assert json.loads(json.dumps(normal_report)) == normal_report

    @pytest.mark.parametrize(
        "kwargs, error, message",
        [
            ({"attacks": {"deepfool": {}}}, ValueError, "Expected one of"),
            ({"attacks": {"pgd": {"epsilon": 0.1}}}, ValueError, "use 'epsilons'"),
            ({"attacks": {"pgd": {"stepsize": 0.1}}}, ValueError, "stepsize"),
            ({"attacks": {"cw_l2": {"epsilons": [0.1]}}}, ValueError, "takes no epsilon"),
            ({"attacks": "pgd"}, TypeError, "Expected a mapping"),
            ({"epsilons": (0.2, 0.1)}, ValueError, "increasing floats"),
            ({"epsilons": (0.0, 0.1)}, ValueError, "epsilons"),
            ({"tolerance": -1.0}, ValueError, "tolerance"),
            ({"batch_size": 0}, ValueError, "batch_size"),
        ],
    )
    def test_bad_arguments(self, digits, kwargs, error, message):
        with pytest.raises(error, match=message):
            robustness_report(digits.model, digits.x[:4], digits.y[:4], verbose=False, **kwargs)

    def test_bad_tensors(self, digits):
        x, y = digits.x[:4], digits.y[:4]
        with pytest.raises(ValueError, match="finite"):
            robustness_report(digits.model, np.full_like(x, np.nan), y)
        with pytest.raises(ValueError, match="true labels"):
            robustness_report(digits.model, x, None)
        with pytest.raises(ValueError, match="y.shape"):
            robustness_report(digits.model, x, y[:3])
        three_classes = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
        with pytest.raises(ValueError, match=r"class ids in \[0, 2\]"):
            robustness_report(digits.model, x, y, substitute=three_classes)

"""BIM, PGD and MIM: analytic worst cases, attack strength, early stop, seeding, tracing, cleverhans."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.attacks.conftest import accuracy, linear_model, tiny_cnn
from tfxai import attacks
from tfxai.attacks import _common, iterative


@pytest.fixture(scope="module")
def binary():
    """A linear binary model z1 - z0 = v.x + c with small weights (the CE gradient never underflows)."""
    rng = np.random.default_rng(0)
    weights = 0.1 * rng.normal(size=(30, 2))
    x = rng.uniform(size=(8, 30)).astype("float32")
    y = rng.integers(0, 2, size=8)
    return linear_model(weights, np.zeros(2)), weights, x, y


@pytest.mark.parametrize("loss", ["ce", "margin"])
@pytest.mark.parametrize("attack", [attacks.pgd, attacks.bim, attacks.mim])
def test_linear_binary_worst_case_inf(binary, attack, loss):
    # max over ||d||_inf <= eps, x + d in [0, 1] of the margin (w_wrong - w_y).(x + d):
    # every coordinate at x_i + eps * sign(v_i), clipped to the box.
    model, weights, x, y = binary
    v = np.where(y[:, None] == 0, weights[:, 1] - weights[:, 0], weights[:, 0] - weights[:, 1])
    expected = np.clip(x + 0.08 * np.sign(v), 0.0, 1.0)
    x_adv = attack(model, x, y, epsilon=0.08, step_size=0.01, steps=20, loss=loss)  # >= 2 eps / step_size
    np.testing.assert_allclose(x_adv, expected, atol=1e-6)


def test_linear_binary_worst_case_l2(binary):
    # Inside the box the L2 worst case is x + eps * v / ||v||_2.
    model, weights, _, y = binary
    x = np.full((len(y), 30), 0.5, "float32")
    v = np.where(y[:, None] == 0, weights[:, 1] - weights[:, 0], weights[:, 0] - weights[:, 1])
    expected = x + 0.4 * v / np.linalg.norm(v, axis=1, keepdims=True)
    x_adv = attacks.pgd(model, x, y, epsilon=0.4, step_size=0.05, steps=20, norm="2", random_start=False)
    np.testing.assert_allclose(x_adv, expected, atol=1e-6)


def test_pgd_stronger_than_fgsm_and_monotone_in_epsilon(digits):
    model, x, y = digits.model, digits.x, digits.y
    epsilons = (0.0, 0.05, 0.1, 0.2, 0.3)
    pgd_accuracy = [accuracy(model, attacks.pgd(model, x, y, epsilon=e), y) for e in epsilons]
    fgsm_accuracy = [accuracy(model, attacks.fgsm(model, x, y, epsilon=e), y) for e in epsilons]
    assert all(a >= b for a, b in zip(pgd_accuracy, pgd_accuracy[1:])), pgd_accuracy
    assert all(p <= f for p, f in zip(pgd_accuracy, fgsm_accuracy)), (pgd_accuracy, fgsm_accuracy)
    assert sum(pgd_accuracy) < sum(fgsm_accuracy) - 0.03 and pgd_accuracy[-1] == 0.0


@pytest.mark.parametrize("norm, epsilon, step_size", [("inf", 0.2, 0.01), ("2", 1.0, 0.1)])
def test_bim_and_mim_succeed(digits, norm, epsilon, step_size):
    clean = accuracy(digits.model, digits.x, digits.y)
    for attack in (attacks.bim, attacks.mim):
        x_adv, success = attack(
            digits.model, digits.x, digits.y, epsilon=epsilon, step_size=step_size, norm=norm, return_success=True
        )
        assert accuracy(digits.model, x_adv, digits.y) < clean - 0.3
        assert np.mean(success) > 0.35
    # MIM's 40 steps reach the whole ball; BIM's 10 steps of 0.01 move at most 0.1 per coordinate.
    assert accuracy(digits.model, attacks.mim(digits.model, digits.x, digits.y, epsilon=0.3), digits.y) < 0.05


def test_targeted_reaches_the_target(digits):
    model, x, y = digits.model, digits.x, digits.y
    target = (y + 1 + np.random.default_rng(0).integers(0, 9, size=len(y))) % 10  # never the true class
    x_adv, success = attacks.pgd(model, x, target, epsilon=0.2, targeted=True, return_success=True)
    untargeted = np.argmax(model(attacks.pgd(model, x, y, epsilon=0.2)), axis=-1)
    reached = np.argmax(model(x_adv), axis=-1) == target
    np.testing.assert_array_equal(success, reached)
    assert reached.mean() > 0.6 and reached.mean() > (untargeted == target).mean() + 0.3


def test_early_stop_freezes_rows_once_they_succeed(digits):
    model, x, y = digits.model, digits.x, digits.y
    short, short_success = attacks.pgd(model, x, y, epsilon=0.2, steps=8, early_stop=True, return_success=True)
    long, long_success = attacks.pgd(model, x, y, epsilon=0.2, steps=40, early_stop=True, return_success=True)
    short, long = np.asarray(short), np.asarray(long)
    done = np.asarray(short_success)
    assert 0.2 < done.mean() < 1.0
    # A row that succeeded within 8 steps stopped there: 32 more steps leave it unchanged.
    np.testing.assert_array_equal(long[done], short[done])
    assert np.all(np.asarray(long_success)[done])
    assert np.any(long[~done] != short[~done])
    # Without early stop the same rows keep moving.
    free = np.asarray(attacks.pgd(model, x, y, epsilon=0.2, steps=40))
    assert np.any(free[done] != long[done])


def test_random_start_is_reproducible(digits):
    model, x, y = digits.model, digits.x[:32], digits.y[:32]
    first = attacks.pgd(model, x, y, epsilon=0.1, steps=3, seed=7)
    np.testing.assert_array_equal(first, attacks.pgd(model, x, y, epsilon=0.1, steps=3, seed=7))
    assert np.any(np.asarray(first) != np.asarray(attacks.pgd(model, x, y, epsilon=0.1, steps=3, seed=8)))
    np.testing.assert_array_equal(
        attacks.pgd(model, x, y, epsilon=0.1, steps=3, random_start=False),
        attacks.bim(model, x, y, epsilon=0.1, steps=3),
    )


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_random_start_fills_the_ball(norm):
    x = np.full((2000, 16), 0.5, "float32")
    inputs = _common.prepare(lambda t, training=False: t[:, :2], x, None, clip=(0.0, 1.0), targeted=False)
    epsilon = tf.fill([2000], 0.3)
    delta = np.asarray(iterative._random_start(inputs, epsilon, norm, seed=0)) - 0.5
    if norm == "inf":
        assert np.abs(delta).max() <= 0.3 + 1e-6
        np.testing.assert_allclose(np.mean(delta**2), 0.3**2 / 3, rtol=0.05)  # variance of U[-eps, eps]
    else:
        radius = np.linalg.norm(delta, axis=1)
        assert radius.max() <= 0.3 + 1e-6
        np.testing.assert_allclose(np.median(radius / 0.3), 0.5 ** (1 / 16), rtol=0.02)  # P(r <= t) = t^d


def test_hyper_parameters_never_retrace():
    model = tiny_cnn()
    x = np.random.default_rng(0).uniform(size=(6, 8, 8, 1)).astype("float32")
    y = np.arange(6)
    attacks.pgd(model, x, y, steps=2)
    before = iterative._iterate.experimental_get_tracing_count()
    for epsilon, step_size, steps in ((0.1, 0.01, 3), (0.2, 0.05, 5), (0.3, 0.02, 1)):
        attacks.pgd(model, x, y, epsilon=epsilon, step_size=step_size, steps=steps, seed=steps)
        attacks.bim(model, x, y, epsilon=epsilon, step_size=step_size, steps=steps, targeted=True)
        attacks.mim(model, x, y, epsilon=epsilon, step_size=step_size, steps=steps, early_stop=True)
        attacks.fgsm(model, x, y, epsilon=epsilon)
    assert iterative._iterate.experimental_get_tracing_count() == before


CLEVERHANS = "cleverhans not installed (pip install --no-deps cleverhans)"


@pytest.fixture(scope="module")
def cross_check():
    model = tiny_cnn()
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(32, 8, 8, 1)).astype("float32")
    return model, (lambda t: model(t, training=False)), x, rng.integers(0, 10, size=32)


@pytest.mark.parametrize("targeted", [False, True])
def test_pgd_and_bim_match_cleverhans(cross_check, targeted):
    pgd_module = pytest.importorskip("cleverhans.tf2.attacks.projected_gradient_descent", reason=CLEVERHANS)
    model, model_fn, x, y = cross_check
    for epsilon, step_size, steps in ((0.1, 0.01, 40), (0.05, 0.01, 10)):
        expected = pgd_module.projected_gradient_descent(
            model_fn,
            x,
            epsilon,
            step_size,
            steps,
            np.inf,
            clip_min=0.0,
            clip_max=1.0,
            y=y,
            targeted=targeted,
            rand_init=False,
        )
        actual = attacks.pgd(
            model, x, y, epsilon=epsilon, step_size=step_size, steps=steps, random_start=False, targeted=targeted
        )
        np.testing.assert_array_equal(actual, expected)
    np.testing.assert_array_equal(attacks.bim(model, x, y, epsilon=0.05, targeted=targeted), expected)


def test_pgd_l2_matches_cleverhans_inside_the_box(cross_check):
    # cleverhans clips to the box before projecting onto the ball, tfxai after; away from the
    # box boundary (x in [0.25, 0.75], per-coordinate moves <= eps) the two coincide.
    pgd_module = pytest.importorskip("cleverhans.tf2.attacks.projected_gradient_descent", reason=CLEVERHANS)
    model, model_fn, x, y = cross_check
    x = 0.25 + 0.5 * x
    expected = pgd_module.projected_gradient_descent(
        model_fn, x, 0.2, 0.02, 20, 2, clip_min=0.0, clip_max=1.0, y=y, rand_init=False
    )
    actual = attacks.pgd(model, x, y, epsilon=0.2, step_size=0.02, steps=20, norm="2", random_start=False)
    np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_mim_matches_cleverhans(cross_check):
    # cleverhans normalises by the mean |g|, tfxai by the sum: a constant factor that the sign ignores.
    mim_module = pytest.importorskip("cleverhans.tf2.attacks.momentum_iterative_method", reason=CLEVERHANS)
    model, model_fn, x, y = cross_check
    expected = mim_module.momentum_iterative_method(
        model_fn, x, 0.1, 0.01, 40, np.inf, clip_min=0.0, clip_max=1.0, y=y, decay_factor=1.0, sanity_checks=False
    )
    np.testing.assert_array_equal(attacks.mim(model, x, y, epsilon=0.1), expected)

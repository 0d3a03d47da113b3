"""Boundary search: success is real, the closest successful candidate wins, failures fall back."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.attacks.conftest import linear_model
from tfxai.attacks import cw_l2, pgd
from tfxai.attacks.boundary_search import BoundarySearch, boundary_search

EPSILONS = (0.05, 0.1, 0.2)
STEPS = 10
CW = {"cw_steps": 30, "cw_learning_rate": 0.05, "cw_binary_search_steps": 3, "cw_initial_const": 1.0}


def _predict(model, x) -> np.ndarray:
    return np.argmax(model(np.asarray(x), training=False), axis=-1)


def _l2(a, b) -> np.ndarray:
    return np.sqrt(((np.asarray(a) - np.asarray(b)) ** 2).reshape(len(a), -1).sum(axis=1))


@pytest.fixture(scope="module")
def data(digits):
    return digits.model, digits.x[:16]


@pytest.fixture(scope="module")
def exact(data):
    """A search without random start or refinement, so each candidate equals a public attack run."""
    model, x = data
    return BoundarySearch(epsilons=EPSILONS, steps=STEPS, random_start=False, refine_steps=0, **CW)(model, x)


def test_success_means_the_prediction_changed(data):
    model, x = data
    result = boundary_search(model, x, epsilons=EPSILONS, steps=STEPS, **CW)
    success = result.success.numpy()
    assert success.mean() >= 0.9  # a standard digits CNN is easy to fool at epsilon 0.2
    np.testing.assert_array_equal(_predict(model, result.points) != _predict(model, x), success)
    np.testing.assert_allclose(result.distance.numpy(), _l2(result.points, x), rtol=1e-5, atol=1e-6)
    assert result.points.shape == x.shape and result.points.dtype == tf.float32
    assert np.all((result.points.numpy() >= 0.0) & (result.points.numpy() <= 1.0))
    assert result.candidates == ("pgd(epsilon=0.05)", "pgd(epsilon=0.1)", "pgd(epsilon=0.2)", "cw_l2")
    assert set(result.attack.numpy()) <= {0, 1, 2, 3}


def test_closest_successful_candidate_wins(data, exact):
    model, x = data
    distances = []  # successful distance of each single attack (inf where it failed)
    for epsilon in EPSILONS:
        x_adv, success = pgd(
            model,
            x,
            epsilon=epsilon,
            step_size=2.5 * epsilon / STEPS,
            steps=STEPS,
            random_start=False,
            early_stop=True,
            return_success=True,
        )
        distances.append(np.where(success.numpy(), _l2(x_adv, x), np.inf))
    _, success, distance = cw_l2(
        model,
        x,
        steps=CW["cw_steps"],
        learning_rate=CW["cw_learning_rate"],
        binary_search_steps=CW["cw_binary_search_steps"],
        initial_const=CW["cw_initial_const"],
        return_success=True,
        return_distance=True,
    )
    distances.append(np.where(success.numpy(), distance.numpy(), np.inf))
    distances = np.stack(distances)  # [A, B]
    assert np.isfinite(distances[-1]).any() and np.isfinite(distances[:-1]).any()  # both kinds contribute
    found = exact.success.numpy()
    np.testing.assert_array_equal(found, np.isfinite(distances).any(axis=0))
    # no farther than any single attack's successful point, and equal to the best of them
    assert np.all(exact.distance.numpy()[found] <= distances[:, found].min(axis=0) + 1e-5)
    np.testing.assert_allclose(exact.distance.numpy()[found], distances[:, found].min(axis=0), rtol=1e-4)
    np.testing.assert_array_equal(exact.attack.numpy()[found], distances[:, found].argmin(axis=0))


def test_refinement_only_moves_closer(data, exact):
    model, x = data
    refined = BoundarySearch(epsilons=EPSILONS, steps=STEPS, random_start=False, refine_steps=8, **CW)(model, x)
    np.testing.assert_array_equal(refined.success.numpy(), exact.success.numpy())
    assert np.all(refined.distance.numpy() <= exact.distance.numpy() + 1e-6)
    assert refined.distance.numpy().mean() < exact.distance.numpy().mean()


@pytest.mark.parametrize("attacks", [("pgd",), ("pgd", "cw_l2")])
def test_falls_back_to_last_pgd_iterate_when_all_fail(data, attacks):
    model, x = data
    epsilons = (1e-4, 2e-4)  # far too small to change any prediction
    weak_cw = {"cw_steps": 2, "cw_learning_rate": 1e-4, "cw_binary_search_steps": 1, "cw_initial_const": 1e-3}
    result = boundary_search(model, x, epsilons=epsilons, steps=3, random_start=False, attacks=attacks, **weak_cw)
    assert not result.success.numpy().any()
    np.testing.assert_array_equal(result.attack.numpy(), np.full(len(x), 1))  # the largest epsilon's PGD
    last_iterate = pgd(model, x, epsilon=2e-4, step_size=2.5 * 2e-4 / 3, steps=3, random_start=False, early_stop=True)
    np.testing.assert_allclose(result.points.numpy(), last_iterate.numpy(), atol=1e-7)
    assert np.all(result.distance.numpy() > 0)
    np.testing.assert_array_equal(_predict(model, result.points), _predict(model, x))


def test_random_start_is_seeded_and_batch_independent(data):
    model, x = data
    search = BoundarySearch(epsilons=(0.1, 0.2), steps=5, attacks=("pgd",), pgd_norm="2", seed=3)
    whole, part = search(model, x[:6]), search(model, x[:3])
    np.testing.assert_allclose(whole.points.numpy()[:3], part.points.numpy(), atol=1e-6)
    np.testing.assert_allclose(search(model, x[:6]).points.numpy(), whole.points.numpy())
    other = BoundarySearch(epsilons=(0.1, 0.2), steps=5, attacks=("pgd",), pgd_norm="2", seed=4)(model, x[:6])
    assert not np.allclose(other.points.numpy(), whole.points.numpy())


def test_linear_model_points_lie_on_the_boundary():
    # Two classes, z_1 - z_0 = w.x + b: the closest L2 point of the other class is at |w.x + b| / ||w||.
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(6, 2))
    model = linear_model(weights, np.array([0.0, 0.2]))
    x = rng.uniform(0.3, 0.7, size=(8, 6)).astype("float32")
    result = boundary_search(model, x, epsilons=(0.1, 0.2, 0.4, 0.8), steps=20, refine_steps=20, **CW)
    assert result.success.numpy().all()
    direction = weights[:, 1] - weights[:, 0]
    margin = lambda points: np.asarray(points, np.float64) @ direction + 0.2
    lower_bound = np.abs(margin(x)) / np.linalg.norm(direction)
    assert np.all(result.distance.numpy() >= lower_bound - 1e-5)  # nothing adversarial is closer
    assert np.all(result.distance.numpy() <= 1.5 * lower_bound)  # and the search gets near it
    assert np.all(np.abs(margin(result.points)) < 1e-3 * np.abs(margin(x)).max())  # on the hyperplane


class TestArguments:
    def test_config_round_trip(self):
        search = BoundarySearch(epsilons=[0.3, 0.1], steps=7, attacks=["pgd"], pgd_norm=2, distance_norm=np.inf, seed=5)
        config = search.get_config()
        assert config["epsilons"] == (0.1, 0.3) and config["pgd_norm"] == "2" and config["distance_norm"] == "inf"
        assert BoundarySearch.from_config(config).get_config() == config
        assert search.candidates == ("pgd(epsilon=0.1)", "pgd(epsilon=0.3)")

    @pytest.mark.parametrize(
        "kwargs, error",
        [
            ({"epsilons": ()}, "epsilons"),
            ({"epsilons": (0.1, -0.1)}, "epsilons"),
            ({"epsilons": 0.1}, "epsilons"),
            ({"attacks": ("cw_l2",)}, "attacks"),
            ({"attacks": ("pgd", "apgd")}, "attacks"),
            ({"pgd_norm": "1"}, "pgd_norm"),
            ({"distance_norm": "l2"}, "distance_norm"),
            ({"steps": 0}, "steps"),
            ({"refine_steps": -1}, "refine_steps"),
            ({"cw_learning_rate": 0.0}, "cw_learning_rate"),
            ({"clip": None}, "clip"),
        ],
    )
    def test_bad_arguments(self, kwargs, error):
        with pytest.raises(ValueError, match=error):
            BoundarySearch(**kwargs)

    def test_bad_inputs(self, data):
        model, x = data
        search = BoundarySearch(epsilons=(0.1,), steps=1, attacks=("pgd",))
        with pytest.raises(ValueError, match="clip"):
            search(model, x + 2.0)
        with pytest.raises(ValueError, match="y"):
            search(model, x, np.full(len(x), 10))
        with pytest.raises(TypeError, match="random_start"):
            BoundarySearch(random_start=1)

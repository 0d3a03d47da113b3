"""BSM and BIG: closed forms on linear models, oracles (Saliency / IG at x'), completeness, export, config."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.attribution.conftest import linear_model, tiny_cnn
from tfxai.attacks.boundary_search import BoundarySearch
from tfxai.attribution import IntegratedGradients, Saliency
from tfxai.attribution.boundary import BIG, BSM
from tfxai.metrics.completeness import completeness

SEARCH = {
    "epsilons": (0.1, 0.3, 0.6),
    "steps": 10,
    "cw_steps": 20,
    "cw_learning_rate": 0.05,
    "cw_binary_search_steps": 2,
}


@pytest.fixture(scope="module")
def cnn():
    """The untrained tanh CNN with its logits scaled up 20x, so that x and x' differ clearly in f."""
    model = tiny_cnn(0)
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([20.0 * kernel, 20.0 * bias])
    return model


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(3).uniform(size=(4, 8, 8, 1)).astype("float32")


@pytest.fixture(scope="module")
def big(cnn):
    return BIG(cnn, steps=16, search=SEARCH, return_convergence_delta=True, return_boundary=True)


@pytest.fixture(scope="module")
def big_result(big, images):
    return big(images)


@pytest.fixture(scope="module")
def binary():
    """Two classes, `z_1 - z_0 = w.x + 0.2` on 6 features in [0.3, 0.7]."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(6, 2)).astype("float32")
    x = rng.uniform(0.3, 0.7, size=(8, 6)).astype("float32")
    return linear_model(weights, np.array([0.0, 0.2])), weights, x


class TestBSM:
    def test_linear_model_is_the_weights(self, binary):
        model, weights, x = binary
        attributions, details = BSM(model, search=SEARCH, return_boundary=True)(x)
        predicted = np.argmax(model.predict(x, verbose=0), axis=1)
        np.testing.assert_allclose(attributions.numpy(), weights[:, predicted].T, rtol=1e-6)
        assert details["success"].numpy().all()
        np.testing.assert_allclose(BSM(model, search=SEARCH)(x, 1).numpy(), np.tile(weights[:, 1], (8, 1)), rtol=1e-6)

    def test_is_saliency_at_the_boundary_point(self, cnn, images):
        attributions, details = BSM(cnn, search=SEARCH, return_boundary=True)(images, [1, 2, 3, -1])
        predicted = np.argmax(cnn.predict(images, verbose=0), axis=1)
        expected = Saliency(cnn)(details["points"], [1, 2, 3, predicted[3]])
        np.testing.assert_allclose(attributions.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
        assert set(details) == {"points", "success", "distance", "attack"}


class TestBIG:
    def test_linear_binary_model(self, binary):
        # IG of a linear f from x' is exactly (x - x') * w_c, and x' lies on the hyperplane z_0 = z_1.
        model, weights, x = binary
        attributions, delta, details = BIG(
            model, steps=5, search={**SEARCH, "refine_steps": 20}, return_convergence_delta=True, return_boundary=True
        )(x)
        points, predicted = details["points"].numpy(), np.argmax(model.predict(x, verbose=0), axis=1)
        np.testing.assert_allclose(attributions.numpy(), (x - points) * weights[:, predicted].T, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(delta.numpy(), 0.0, atol=1e-5)
        logits = model.predict(points, verbose=0)
        assert np.all(np.abs(logits[:, 1] - logits[:, 0]) < 1e-3)  # on the decision boundary
        assert details["success"].numpy().all()

    def test_equals_ig_from_each_boundary_point(self, cnn, images, big, big_result):
        attributions, _, details = big_result
        points = details["points"].numpy()
        for b in range(len(images)):  # the oracle: IG with a tensor baseline, one example at a time
            ig = IntegratedGradients(cnn, steps=16, baselines=points[b])
            np.testing.assert_allclose(attributions.numpy()[b], ig(images[b : b + 1]).numpy()[0], rtol=1e-4, atol=1e-6)

    def test_completeness_shrinks_with_steps(self, cnn, images, big_result):
        _, delta, details = big_result
        predicted = np.argmax(cnn.predict(images, verbose=0), axis=1)
        gap = cnn.predict(images, verbose=0) - cnn.predict(details["points"].numpy(), verbose=0)
        assert np.all(np.abs(gap[np.arange(4), predicted]) > 0.05)  # x' is not x
        coarse, fine = (BIG(cnn, steps=steps, search=SEARCH) for steps in (2, 8))
        errors = [np.abs(completeness(explainer, images)).max() for explainer in (coarse, fine)]
        # second order: 4x the nodes cut the error ~16x (measured 4e-4 -> 5e-6, then float32 round-off)
        assert errors[1] < errors[0] / 10 and np.abs(delta.numpy()).max() < errors[0], errors
        relative = completeness(fine, images, relative=True)
        assert np.all(relative < 0.01), relative

    def test_boundary_details_match_the_search(self, cnn, images, big_result):
        _, _, details = big_result
        result = BoundarySearch(**SEARCH)(cnn, images)
        for key in ("points", "success", "distance", "attack"):
            np.testing.assert_allclose(
                np.asarray(details[key], float), np.asarray(getattr(result, key), float), atol=1e-6
            )
        predicted = np.argmax(cnn.predict(images, verbose=0), axis=1)
        changed = np.argmax(cnn.predict(details["points"].numpy(), verbose=0), axis=1) != predicted
        np.testing.assert_array_equal(changed, details["success"].numpy())

    def test_path_runs_from_the_boundary_point_to_x(self, big, images, big_result):
        points, velocities, start = (t.numpy() for t in big._path(tf.constant(images)))
        np.testing.assert_allclose(start, big_result[2]["points"].numpy(), atol=1e-6)
        np.testing.assert_allclose(points[0], start, atol=1e-6)  # the trapezoid's nodes include both ends
        np.testing.assert_allclose(points[-1], images, atol=1e-6)
        np.testing.assert_allclose(velocities[0], images - start, atol=1e-6)

    def test_batching_and_dtype(self, big, images, big_result):
        attributions, delta, details = big(images.astype("float64"), batch_size=3)
        assert attributions.dtype == tf.float64 and details["points"].dtype == tf.float64
        np.testing.assert_allclose(attributions.numpy(), big_result[0].numpy(), rtol=1e-4, atol=1e-6)
        assert delta.shape == (4,) and details["success"].shape == (4,)

    def test_core_exports_to_a_saved_model(self, cnn, images, big, tmp_path):
        targets = tf.constant([-1, 0, -1, 9], tf.int32)
        archive = keras.export.ExportArchive()
        archive.track(cnn)
        archive.add_endpoint(
            "explain_big",
            big.core,
            input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32), tf.TensorSpec([None], tf.int32)],
        )
        archive.write_out(str(tmp_path / "big"), verbose=False)
        loaded = tf.saved_model.load(str(tmp_path / "big"))  # keep a reference: it owns the variables
        served = loaded.explain_big(tf.constant(images), targets)
        local = big.core(tf.constant(images), targets)
        assert set(served) == {
            "attributions",
            "targets",
            "convergence_delta",
            "boundary_points",
            "boundary_success",
            "boundary_distance",
            "boundary_attack",
        }
        for key in served:
            np.testing.assert_allclose(np.asarray(served[key], float), np.asarray(local[key], float), atol=1e-6)


class TestConfig:
    def test_round_trip(self, cnn):
        for explainer in (BSM(cnn, search=SEARCH), BIG(cnn, steps=7, search=BoundarySearch(**SEARCH))):
            config = json.loads(json.dumps(explainer.get_config()))  # JSON-ready
            rebuilt = type(explainer).from_config(cnn, config)
            assert rebuilt.get_config() == explainer.get_config()
            assert config["search"]["epsilons"] == list(SEARCH["epsilons"])

    def test_defaults(self, cnn):
        big = BIG(cnn)
        assert (big.steps, big.method, big.output) == (20, "riemann_trapezoid", "logits")
        assert big.search.get_config() == BoundarySearch().get_config()

    def test_bad_arguments(self, cnn, images):
        with pytest.raises(TypeError, match="search"):
            BSM(cnn, search="pgd")
        with pytest.raises(ValueError, match="epsilons"):
            BIG(cnn, search={"epsilons": ()})
        with pytest.raises(TypeError, match="return_boundary"):
            BIG(cnn, return_boundary=1)
        with pytest.raises(ValueError, match="clip range"):
            BSM(cnn, search=SEARCH)(images + 1.5)
        with pytest.raises(ValueError, match="targets"):
            BSM(cnn, search=SEARCH)(images, 10)

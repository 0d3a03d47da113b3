"""The Explainer contract, checked on every explainer: sanitising, batching, config, SavedModel core."""

from __future__ import annotations

import json
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.attribution.conftest import NUM_CLASSES, tiny_cnn
from tfxai import attribution
from tfxai.attribution.base import _quadrature, _riemann_sum

# Small settings of every explainer, keyed by a readable id.
FACTORIES = {
    "saliency": lambda m, **kw: attribution.Saliency(m, **kw),
    "gradient_input": lambda m, **kw: attribution.GradientInput(m, **kw),
    "ig": lambda m, **kw: attribution.IntegratedGradients(m, steps=6, baselines="uniform", **kw),
    "smoothgrad": lambda m, **kw: attribution.SmoothGrad(m, num_samples=4, **kw),
    "smooth_ig": lambda m, **kw: attribution.SmoothGrad.wrap(
        attribution.IntegratedGradients(m, steps=4, **kw), num_samples=3
    ),
    "blur_ig": lambda m, **kw: attribution.BlurIG(m, steps=6, max_sigma=3.0, **kw),
    "agi": lambda m, **kw: attribution.AGI(m, max_steps=4, num_false_classes=3, **kw),
}


@pytest.fixture(scope="module")
def built(cnn):
    """One explainer per factory and argument set, shared by the tests (tracing dominates their time)."""
    cache = {}

    def get(name: str, **kwargs):
        key = (name, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = FACTORIES[name](cnn, **kwargs)
        return cache[key]

    return get


@pytest.fixture(params=sorted(FACTORIES))
def name(request) -> str:
    return request.param


class TestQuadrature:
    @pytest.mark.parametrize("method", ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"])
    def test_weights_sum_to_one_and_nodes_in_unit_interval(self, method):
        alphas, weights = _quadrature(method, 7)
        assert alphas.shape == weights.shape == (7,)
        np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-6)
        assert alphas.min() >= 0.0 and alphas.max() <= 1.0

    def test_trapezoid_matches_numpy(self):
        alphas, weights = _quadrature("riemann_trapezoid", 11)
        values = np.stack([np.sin(3 * alphas), np.exp(alphas)], axis=1)[:, :, None]  # [S, B=2, 1]
        trapezoid = getattr(np, "trapezoid", None) or np.trapz  # np.trapz before NumPy 2.0
        expected = trapezoid(values, alphas, axis=0)
        np.testing.assert_allclose(_riemann_sum(tf.constant(values), tf.constant(weights)).numpy(), expected, rtol=1e-5)

    @pytest.mark.parametrize(
        "method, nodes",
        [
            ("riemann_left", [0.0, 0.25, 0.5, 0.75]),
            ("riemann_right", [0.25, 0.5, 0.75, 1.0]),
            ("riemann_middle", [0.125, 0.375, 0.625, 0.875]),
            ("riemann_trapezoid", [0.0, 1 / 3, 2 / 3, 1.0]),
        ],
    )
    def test_nodes(self, method, nodes):
        np.testing.assert_allclose(_quadrature(method, 4)[0], nodes, rtol=1e-6)


class TestContract:
    def test_shape_dtype_and_input_kinds(self, built, name, images):
        explainer = built(name)
        from_numpy = explainer(images)
        assert isinstance(from_numpy, tf.Tensor)
        assert from_numpy.shape == images.shape and from_numpy.dtype == tf.float32
        from_tensor = explainer.explain(tf.constant(images))
        np.testing.assert_allclose(from_tensor.numpy(), from_numpy.numpy(), rtol=1e-6, atol=1e-7)
        as_float64 = explainer(images.astype("float64"))
        assert as_float64.dtype == tf.float64
        np.testing.assert_allclose(as_float64.numpy(), from_numpy.numpy(), rtol=1e-6, atol=1e-7)

    def test_batch_size_and_internal_batch_size_do_not_change_results(self, built, name, images):
        reference = built(name)(images).numpy()
        np.testing.assert_allclose(built(name)(images, batch_size=2).numpy(), reference, rtol=1e-5, atol=1e-6)
        chunked = built(name, internal_batch_size=3)(images).numpy()
        np.testing.assert_allclose(chunked, reference, rtol=1e-5, atol=1e-6)

    def test_config_round_trip(self, built, name, cnn, images):
        explainer = built(name, internal_batch_size=3)
        config = explainer.get_config()
        as_json = json.dumps(config)  # plain Python values only
        rebuilt = type(explainer).from_config(cnn, json.loads(as_json))
        assert json.dumps(rebuilt.get_config()) == as_json
        np.testing.assert_allclose(rebuilt(images).numpy(), explainer(images).numpy(), rtol=1e-6, atol=1e-7)

    def test_target_forms_agree(self, built, name, cnn, images):
        explainer = built(name)
        predicted = np.argmax(cnn.predict(images, verbose=0), axis=1)
        reference = explainer(images, predicted).numpy()
        for targets in (None, -np.ones(len(images), int), tf.constant(predicted), np.eye(NUM_CLASSES)[predicted]):
            np.testing.assert_allclose(explainer(images, targets).numpy(), reference, rtol=1e-6, atol=1e-7)
        single = explainer(images, 3).numpy()
        np.testing.assert_allclose(single, explainer(images, np.full(len(images), 3)).numpy(), rtol=1e-6, atol=1e-7)

    def test_core_signature_and_outputs(self, built, name, cnn, images):
        explainer = built(name)
        images_spec, targets_spec = explainer.core.input_signature
        assert images_spec.shape.as_list() == [None, 8, 8, 1] and images_spec.dtype == tf.float32
        assert targets_spec.shape.as_list() == [None] and targets_spec.dtype == tf.int32
        outputs = explainer.core(tf.constant(images), tf.constant([-1, 0, 1, 2, 3], tf.int32))
        predicted = np.argmax(cnn.predict(images, verbose=0), axis=1)
        np.testing.assert_array_equal(outputs["targets"].numpy(), [predicted[0], 0, 1, 2, 3])
        assert outputs["attributions"].shape == images.shape


class TestSavedModel:
    @pytest.mark.parametrize("explainer_name", ["ig", "agi"])
    def test_core_as_saved_model_signature(self, built, explainer_name, cnn, images, tmp_path):
        explainer = built(explainer_name)
        module = tf.Module()
        module.model = cnn
        tf.saved_model.save(module, str(tmp_path), signatures={"explain": explainer.core.get_concrete_function()})
        loaded = tf.saved_model.load(str(tmp_path)).signatures["explain"]
        targets = tf.constant([-1, 2, -1, 4, 5], tf.int32)
        served = loaded(images=tf.constant(images), targets=targets)
        direct = explainer.core(tf.constant(images), targets)
        assert set(served) == set(direct)
        for key in direct:
            np.testing.assert_allclose(served[key].numpy(), direct[key].numpy(), rtol=1e-5, atol=1e-6)


class TestValidation:
    def test_rejects_wrong_rank_and_shape(self, cnn, images):
        explainer = attribution.Saliency(cnn)
        with pytest.raises(ValueError, match=r"Expected shape \(None, 8, 8, 1\).*Received: x.shape=\(8, 8, 1\)"):
            explainer(images[0])
        with pytest.raises(ValueError, match=r"Received: x.shape=\(5, 8, 8, 2\)"):
            explainer(np.repeat(images, 2, axis=-1))
        with pytest.raises(ValueError, match="at least one example"):
            explainer(images[:0])

    def test_rejects_dtype_and_non_finite(self, cnn, images):
        explainer = attribution.Saliency(cnn)
        with pytest.raises(TypeError, match="Expected a floating-point array"):
            explainer((images * 255).astype("uint8"))
        bad = images.copy()
        bad[1, 2, 3, 0] = np.nan
        with pytest.raises(ValueError, match="Expected finite values. Received: 1 NaN or infinite"):
            explainer(bad)

    @pytest.mark.parametrize("targets", [np.array([0, 1, 2, 3, 10]), np.array([0, 1, -2, 3, 4]), [0, 1], "cat", 1.5])
    def test_rejects_bad_targets(self, cnn, images, targets):
        with pytest.raises(ValueError, match="Invalid value for argument `targets`"):
            attribution.Saliency(cnn)(images, targets)

    def test_rejects_bad_batch_sizes_and_output(self, cnn, images):
        with pytest.raises(ValueError, match=r"argument `batch_size`. Expected a positive int. Received: batch_size=0"):
            attribution.Saliency(cnn)(images, batch_size=0)
        with pytest.raises(TypeError, match="internal_batch_size"):
            attribution.Saliency(cnn, internal_batch_size=2.5)
        with pytest.raises(
            ValueError, match=r"Expected one of \('logits', 'probabilities'\). Received: output='softmax'"
        ):
            attribution.Saliency(cnn, output="softmax")

    def test_rejects_models_it_cannot_explain(self):
        with pytest.raises(TypeError, match="Expected a keras.Model"):
            attribution.Saliency(lambda x: x)
        a, b = keras.Input((3,)), keras.Input((3,))
        two_inputs = keras.Model([a, b], keras.layers.Dense(2)(keras.layers.Concatenate()([a, b])))
        with pytest.raises(ValueError, match="one input and one output"):
            attribution.Saliency(two_inputs)
        scalar = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        with pytest.raises(ValueError, match="K >= 2"):
            attribution.Saliency(scalar)

    def test_warns_on_softmax_models(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
        with pytest.warns(UserWarning, match="applies a softmax"):
            attribution.Saliency(model)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            attribution.Saliency(tiny_cnn(1))

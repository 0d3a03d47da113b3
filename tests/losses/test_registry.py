"""The registered losses as Keras sees them: `get`, serialization, `fit` with sample weights, extreme
inputs, mixed precision, XLA and `tf.distribute.MirroredStrategy`."""

import doctest
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxai import losses
from tfxai.losses import lgl, lgl_inr, pc

REPO = pathlib.Path(__file__).resolve().parents[2]
NUM_CLASSES = 4

# One instance of every loss and of the non-default variants.
LOSSES = {
    "ce": lambda: losses.get("ce"),
    "sml": losses.SMLLoss,
    "sml_weighted": lambda: losses.SMLLoss(class_weights=[1.0, 2.0, 0.5, 1.0]),
    "lgl": losses.LGLLoss,
    "lgl_inr": losses.LGLINRLoss,
    "lgl_inr_detached": lambda: losses.LGLINRLoss(beta=2.0, stop_gradient_weights=True),
    "pc": losses.PCLoss,
    "pc_hard": lambda: losses.PCLoss(logit_constraint="hard", normalize_false_classes=False),
}
TFXAI_LOSSES = [name for name in LOSSES if name != "ce"]


def _value_and_gradient(loss, labels, logits):
    z = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(z)
        value = loss(np.asarray(labels), z)
    return value, tape.gradient(value, z)


def _tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(NUM_CLASSES)]
    )


@pytest.fixture
def data(rng):
    x = rng.normal(size=(32, 6)).astype("float32")
    y = (np.arange(32) % 3).astype("int32")  # class 3 never appears
    return x, y


@pytest.mark.parametrize("module", [losses, lgl, lgl_inr, pc], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


class TestGet:
    @pytest.mark.parametrize(
        "name, cls",
        [
            ("ce", keras.losses.SparseCategoricalCrossentropy),
            ("sml", losses.SMLLoss),
            ("lgl", losses.LGLLoss),
            ("lgl_inr", losses.LGLINRLoss),
            ("pc", losses.PCLoss),
        ],
    )
    def test_names(self, name, cls):
        assert type(losses.get(name)) is cls
        assert name in losses.NAMES

    def test_ce_is_on_logits(self):
        assert losses.get("ce").get_config()["from_logits"] is True

    def test_kwargs_are_passed(self):
        assert losses.get("pc", margin=0.8, logit_constraint="hard").get_config()["margin"] == 0.8
        assert losses.get("lgl_inr", beta=2.0).beta == 2.0
        assert losses.get("sml", class_weights=[1, 2]).class_weights == (1.0, 2.0)

    def test_unknown_name(self):
        with pytest.raises(
            ValueError,
            match=r"Unknown loss name. Expected one of \['ce', 'sml', 'lgl', 'lgl_inr', "
            r"'pc'\]. Received: name='focal'",
        ):
            losses.get("focal")

    def test_unknown_argument(self):
        with pytest.raises(TypeError, match=r"Invalid arguments for loss `pc` \(PCLoss\): \['xi'\]"):
            losses.get("pc", xi=0.9)


@pytest.mark.parametrize("name", LOSSES)
class TestEveryLoss:
    def test_finite_at_extreme_logits_absent_class_and_batch_of_one(self, name):
        loss = LOSSES[name]()
        logits = np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, 1e4, -1e4]], np.float32)
        for labels, z in (([1, 0, 3], logits), ([2], logits[:1]), ([0], np.zeros((1, 4), np.float32))):
            value, grad = _value_and_gradient(loss, labels, z)
            assert np.isfinite(float(value)), (labels, float(value))
            assert np.all(np.isfinite(grad.numpy())), (labels, grad.numpy())

    def test_serialize_round_trip(self, name):
        loss = LOSSES[name]()
        restored = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(restored) is type(loss) and restored.get_config() == loss.get_config()

    def test_xla_matches_eager(self, name, data):
        loss = LOSSES[name]()
        _, y = data
        logits = np.random.default_rng(2).normal(size=(32, NUM_CLASSES)).astype("float32")

        @tf.function(jit_compile=True)
        def compiled(labels, z):
            with tf.GradientTape() as tape:
                tape.watch(z)
                value = loss(labels, z)
            return value, tape.gradient(value, z)

        value, grad = compiled(tf.constant(y), tf.constant(logits))
        eager_value, eager_grad = _value_and_gradient(loss, y, logits)
        assert float(value) == pytest.approx(float(eager_value), rel=1e-5)
        np.testing.assert_allclose(grad, eager_grad, rtol=1e-4, atol=1e-6)

    def test_fit_with_sample_weights_and_keras_file(self, name, data, tmp_path):
        x, y = data
        weights = np.linspace(0.0, 2.0, 32).astype("float32")
        loss = LOSSES[name]()
        model = _tiny_model()
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
        history = model.fit(x, y, sample_weight=weights, batch_size=8, epochs=2, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        # One batch: Keras' reported loss is the loss of the model's logits with these weights.
        reported = model.evaluate(x, y, sample_weight=weights, batch_size=32, verbose=0)
        assert reported == pytest.approx(float(loss(y, model(x), sample_weight=weights)), rel=1e-5)

        model.save(tmp_path / "model.keras")
        restored = keras.models.load_model(tmp_path / "model.keras")  # no custom_objects
        assert type(restored.loss) is type(loss) and restored.loss.get_config() == loss.get_config()
        assert restored.evaluate(x, y, sample_weight=weights, batch_size=32, verbose=0) == pytest.approx(
            reported, rel=1e-5
        )


@pytest.mark.parametrize("name", TFXAI_LOSSES)
def test_one_hot_labels_equal_sparse(name, data):
    loss = LOSSES[name]()
    logits = np.random.default_rng(1).normal(size=(32, NUM_CLASSES)).astype("float32")
    _, y = data
    assert float(loss(np.eye(NUM_CLASSES)[y], logits)) == pytest.approx(float(loss(y, logits)), rel=1e-6)


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("name", TFXAI_LOSSES)
def test_mixed_precision_computes_in_float32(name, data, mixed_precision):
    loss = LOSSES[name]()
    x, y = data
    model = _tiny_model()
    assert model(x[:2]).dtype == "float16"
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    assert np.all(np.isfinite(model.fit(x, y, batch_size=8, epochs=1, verbose=0).history["loss"]))

    logits16 = np.array([[1e4, -1e4, 0.0, 3.0], [0.1, 0.2, -0.3, 60000.0]], np.float16)
    value, grad = _value_and_gradient(loss, [0, 2], logits16)
    assert value.dtype == tf.float32 and np.isfinite(float(value)) and np.all(np.isfinite(grad.numpy()))
    assert float(value) == float(loss([0, 2], logits16.astype(np.float32)))
    for function in (losses.lgl_loss, losses.sml_loss, losses.lgl_inr_loss, losses.pc_loss):
        assert function([0, 2], logits16).dtype == tf.float32


_DISTRIBUTED_SCRIPT = textwrap.dedent("""
    import json
    import tensorflow as tf

    # Two logical CPUs; this must run before anything initialises TensorFlow's devices.
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    from tfxai import losses
    from tfxai.training import schedules

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = np.array([0, 1, 2, 2, 0, 1, 1, 3] * 2, "int32")
    results = {"replicas": strategy.num_replicas_in_sync}
    for name in ("pc", "lgl_inr", "warmup"):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                                      keras.layers.Dense(4)])
            loss = schedules.WarmupLoss("ce", "pc", 1) if name == "warmup" else losses.get(name)
            model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
        callbacks = [schedules.WarmupCallback()] if name == "warmup" else []
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
        logits = model(x).numpy()
        if name == "warmup":  # epoch 0: CE, epoch 1: PC (the weights do not move: lr = 0)
            expected = [float(losses.get(n)(y, logits)) for n in ("ce", "pc")]
        elif name == "pc":  # a per-example loss: the same as on one device
            expected = [float(loss(y, logits))] * 2
        else:  # a batch loss: the mean over the replicas of each replica's batch loss
            quarters = [float(loss(y[i:i + 4], logits[i:i + 4])) for i in range(0, 16, 4)]
            expected = [float(np.mean(quarters))] * 2
        results[name] = {"history": history.history["loss"], "expected": expected}
    print(json.dumps(results))
    """)


def test_mirrored_strategy_two_logical_cpus():
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    process = subprocess.run(
        [sys.executable, "-c", _DISTRIBUTED_SCRIPT], capture_output=True, text=True, env=env, cwd=REPO, timeout=600
    )
    assert process.returncode == 0, process.stdout + process.stderr
    results = json.loads(process.stdout.strip().splitlines()[-1])
    assert results["replicas"] == 2
    for name in ("pc", "lgl_inr", "warmup"):
        np.testing.assert_allclose(results[name]["history"], results[name]["expected"], rtol=1e-5, err_msg=name)

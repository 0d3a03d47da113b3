"""The PC warm-up: CE then PC inside one `fit`, no retracing, resume with `BackupAndRestore`, saving."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxai import losses
from tfxai.training import schedules
from tfxai.training.schedules import WarmupCallback, WarmupLoss


@pytest.fixture
def data(rng):
    x = rng.normal(size=(32, 6)).astype("float32")
    y = (np.arange(32) % 4).astype("int32")
    return x, y


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(4)])


def _phase_values(model, x, y):
    """The CE and PC losses of the model's logits: with a zero learning rate, what each epoch reports."""
    logits = model(x)
    return float(losses.get("ce")(y, logits)), float(losses.PCLoss()(y, logits))


class _Recorder(keras.callbacks.Callback):
    """Records, per epoch, whether the loss was in warm-up and how often it had been traced."""

    def __init__(self, loss):
        super().__init__()
        self.loss, self.phases, self.traces = loss, {}, {}

    def on_epoch_end(self, epoch, logs=None):
        self.phases[epoch] = self.loss.in_warmup
        self.traces[epoch] = getattr(self.loss, "traces", None)


class _CountingWarmupLoss(WarmupLoss):
    """Counts Python calls of `__call__`: in a traced train function, one per tracing."""

    traces = 0

    def __call__(self, *args, **kwargs):
        self.traces += 1
        return super().__call__(*args, **kwargs)


class _Interrupted(Exception):
    pass


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise _Interrupted(f"interrupted at the start of epoch {epoch}")


class TestWarmupLoss:
    def test_fit_switches_from_ce_to_pc_without_retracing(self, data):
        x, y = data
        model = _model()
        loss = _CountingWarmupLoss("ce", losses.PCLoss(), warmup_epochs=2)
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
        recorder = _Recorder(loss)
        history = model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[WarmupCallback(), recorder])
        ce, pc = _phase_values(model, x, y)
        np.testing.assert_allclose(history.history["loss"], [ce, ce, pc, pc], rtol=1e-5)
        assert recorder.phases == {0: True, 1: True, 2: False, 3: False}
        assert recorder.traces[3] == recorder.traces[0] >= 1  # the switch reuses the traced train function

    @pytest.mark.parametrize("stop", [1, 2, 3])
    def test_resume_with_backup_and_restore_lands_in_the_right_phase(self, data, tmp_path, stop):
        x, y = data
        backup = str(tmp_path / "backup")
        first = _model()
        first_loss = WarmupLoss("ce", "pc", warmup_epochs=2)
        first.compile(optimizer=keras.optimizers.SGD(0.0), loss=first_loss)
        with pytest.raises(_Interrupted):
            first.fit(
                x,
                y,
                batch_size=8,
                epochs=4,
                verbose=0,
                callbacks=[WarmupCallback(), keras.callbacks.BackupAndRestore(backup), _Interrupt(stop)],
            )

        # A new process: a new model and a new loss, which starts in the warm-up phase.
        resumed = _model()
        loss = WarmupLoss("ce", "pc", warmup_epochs=2)
        assert loss.in_warmup
        resumed.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
        recorder = _Recorder(loss)
        history = resumed.fit(
            x,
            y,
            batch_size=8,
            epochs=4,
            verbose=0,
            callbacks=[WarmupCallback(), keras.callbacks.BackupAndRestore(backup), recorder],
        )
        assert list(recorder.phases) == list(range(stop, 4))
        assert recorder.phases == {epoch: epoch < 2 for epoch in range(stop, 4)}
        ce, pc = _phase_values(resumed, x, y)
        np.testing.assert_allclose(history.history["loss"], [ce if e < 2 else pc for e in range(stop, 4)], rtol=1e-5)

    def test_two_fit_recipe(self, data):
        x, y = data
        model = _model()
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=losses.get("ce"))
        warmup = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=losses.PCLoss())
        main = model.fit(x, y, batch_size=8, initial_epoch=2, epochs=4, verbose=0)
        ce, pc = _phase_values(model, x, y)
        np.testing.assert_allclose(warmup.history["loss"] + main.history["loss"], [ce, ce, pc, pc], rtol=1e-5)

    @pytest.mark.parametrize("jit_compile", [False, True])
    def test_phase_switch_in_a_tf_function_does_not_retrace(self, data, jit_compile):
        x, y = data
        logits = tf.constant(np.random.default_rng(3).normal(size=(32, 4)).astype("float32"))
        loss = WarmupLoss("ce", losses.LGLINRLoss(), warmup_epochs=1)
        step = tf.function(lambda labels, z, weights: loss(labels, z, sample_weight=weights), jit_compile=jit_compile)
        weights = tf.constant(np.linspace(0, 2, 32), tf.float32)
        before = float(step(y, logits, weights))
        loss.set_epoch(1)
        after = float(step(y, logits, weights))
        assert step.experimental_get_tracing_count() == 1
        assert before == pytest.approx(float(losses.get("ce")(y, logits, sample_weight=weights)), rel=1e-6)
        assert after == pytest.approx(float(losses.LGLINRLoss()(y, logits, sample_weight=weights)), rel=1e-6)

    def test_keras_file_round_trip_keeps_losses_and_phase(self, data, tmp_path):
        x, y = data
        model = _model()
        loss = WarmupLoss("ce", losses.PCLoss(margin=0.9, logit_constraint="hard"), warmup_epochs=1)
        model.compile(optimizer="adam", loss=loss)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[WarmupCallback()])
        assert not loss.in_warmup
        model.save(tmp_path / "model.keras")
        restored = keras.models.load_model(tmp_path / "model.keras")  # no custom_objects
        assert type(restored.loss) is WarmupLoss and not restored.loss.in_warmup
        assert type(restored.loss.loss) is losses.PCLoss and restored.loss.loss.margin == 0.9
        assert restored.loss.get_config() == loss.get_config()
        assert restored.evaluate(x, y, batch_size=32, verbose=0) == pytest.approx(
            float(losses.PCLoss(margin=0.9, logit_constraint="hard")(y, model(x))), rel=1e-5
        )

    def test_config(self):
        loss = WarmupLoss("ce", losses.LGLINRLoss(beta=2.0), warmup_epochs=3, initial_epoch=1, name="warm")
        config = loss.get_config()
        assert set(config) == {"warmup_loss", "loss", "warmup_epochs", "initial_epoch", "name", "dtype"}
        assert (config["warmup_epochs"], config["initial_epoch"], config["name"]) == (3, 1, "warm")
        restored = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(restored) is WarmupLoss and restored.get_config() == config
        assert restored.loss.beta == 2.0 and restored.in_warmup

    def test_zero_warmup_epochs_is_the_main_loss(self, data):
        x, y = data
        logits = np.random.default_rng(4).normal(size=(32, 4)).astype("float32")
        assert float(WarmupLoss("ce", "pc", warmup_epochs=0)(y, logits)) == pytest.approx(
            float(losses.PCLoss()(y, logits)), rel=1e-6
        )

    @pytest.mark.parametrize(
        "kwargs, error, message",
        [
            (
                {"warmup_epochs": -1},
                ValueError,
                "argument `warmup_epochs`. Expected an int >= 0. " "Received: warmup_epochs=-1",
            ),
            ({"warmup_epochs": 2.5}, ValueError, "argument `warmup_epochs`"),
            ({"warmup_epochs": True}, ValueError, "argument `warmup_epochs`"),
            ({"initial_epoch": -2}, ValueError, "argument `initial_epoch`"),
            (
                {"loss": keras.losses.sparse_categorical_crossentropy},
                TypeError,
                "argument `loss`. Expected a keras.losses.Loss, a name of tfxai.losses.NAMES",
            ),
            ({"loss": "focal"}, ValueError, "Unknown loss name"),
        ],
    )
    def test_bad_arguments(self, kwargs, error, message):
        arguments = {"warmup_loss": "ce", "loss": "pc", "warmup_epochs": 2, **kwargs}
        with pytest.raises(error, match=message):
            WarmupLoss(**arguments)


class TestWarmupCallback:
    def test_needs_a_warmup_loss(self, data):
        x, y = data
        model = _model()
        model.compile(optimizer="sgd", loss=losses.PCLoss())
        with pytest.raises(ValueError, match="WarmupCallback needs a model compiled with a .*WarmupLoss"):
            model.fit(x, y, epochs=1, verbose=0, callbacks=[WarmupCallback()])

    def test_initial_epoch_sets_the_phase(self, data):
        x, y = data
        model = _model()
        loss = WarmupLoss("ce", "pc", warmup_epochs=2)
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
        recorder = _Recorder(loss)
        model.fit(x, y, batch_size=8, initial_epoch=2, epochs=3, verbose=0, callbacks=[WarmupCallback(), recorder])
        assert recorder.phases == {2: False}


def test_docstring_examples():
    result = doctest.testmod(schedules)
    assert result.attempted > 0 and result.failed == 0

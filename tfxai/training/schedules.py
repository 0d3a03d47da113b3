"""Loss schedules: the PC-loss warm-up (CE for T epochs, then PC loss) inside one `model.fit`.

The PC-loss paper (Li et al., 2021, "Experiments") trains T epochs with cross-entropy, then T
epochs with PC loss + logit constraints. Two ways to run it:

1. One `fit` (resumable): compile with `WarmupLoss` and pass `WarmupCallback`:

    ```python
    loss = WarmupLoss("ce", PCLoss(), warmup_epochs=T)
    model.compile(optimizer="adam", loss=loss)
    model.fit(data, epochs=2 * T, callbacks=[WarmupCallback(),
                                             keras.callbacks.BackupAndRestore(backup_dir)])
    ```

   The phase is a function of the epoch index, set at the start of every epoch, so a run
   interrupted and restarted with `BackupAndRestore` resumes in the right phase.

2. Two fits (the authors' scripts):

    ```python
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(data, epochs=T)
    model.compile(optimizer="adam", loss=PCLoss())  # a new optimizer: its state starts afresh
    model.fit(data, initial_epoch=T, epochs=2 * T)
    ```

   Recompiling rebuilds the train function and, unless the optimizer object is passed again,
   resets the optimizer state (the authors also restarted Adam). Resuming must then know in
   which of the two fits the interruption happened.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfxai import losses as losses_lib


def _as_loss(value, name: str) -> keras.losses.Loss:
    """A `keras.losses.Loss` from an instance, a `tfxai.losses` name or a serialized loss."""
    if isinstance(value, keras.losses.Loss):
        return value
    if isinstance(value, str):
        return losses_lib.get(value)
    if isinstance(value, dict):
        return keras.losses.deserialize(value)
    raise TypeError(
        f"Invalid value for argument `{name}`. Expected a keras.losses.Loss, a name of tfxai.losses.NAMES "
        f"{list(losses_lib.NAMES)} or a serialized loss. Received: {name}={value!r}"
    )


def _check_epoch(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Invalid value for argument `{name}`. Expected an int >= 0. Received: {name}={value!r}")


@keras.saving.register_keras_serializable(package="tfxai")
class WarmupLoss(keras.losses.Loss):
    """`warmup_loss` for the first `warmup_epochs` epochs, then `loss` (the PC-loss protocol).

    The current epoch lives in a non-trainable `tf.Variable` (`epoch`) read by a `tf.cond`
    inside the traced train function: switching phase does not retrace, and only the active
    loss is computed. `WarmupCallback` sets the epoch at the start of every epoch of `fit`;
    without it the loss stays in the phase of `initial_epoch`. Both losses apply their own
    reduction and sample weights; the wrapper has no `reduction` of its own. `get_config`
    records the current epoch as `initial_epoch`, so a saved model reloads in its phase.

    Args:
        warmup_loss: the loss of the first phase (CE in the paper): a `keras.losses.Loss`, a
            name of `tfxai.losses.NAMES` (e.g. `"ce"`) or a serialized loss.
        loss: the loss after the warm-up (e.g. `tfxai.losses.PCLoss()` or `"pc"`), same forms.
        warmup_epochs: T, the number of warm-up epochs (epochs `0 .. T-1` use `warmup_loss`).
        initial_epoch: the epoch the loss starts in. Defaults to `0`.

    Example:

    >>> loss = WarmupLoss("ce", "pc", warmup_epochs=2)
    >>> loss.in_warmup
    True
    >>> loss.set_epoch(2)
    >>> loss.in_warmup
    False

    Reference:
        [Li et al., 2021](https://arxiv.org/abs/2012.07688), "Experiments": T = 50 (MNIST-type)
        or 150 epochs of CE, then T epochs of PC loss.
    """

    def __init__(
        self, warmup_loss, loss, warmup_epochs: int, initial_epoch: int = 0, name: str = "warmup_loss", dtype=None
    ):
        super().__init__(name=name, reduction=None, dtype=dtype)
        _check_epoch(warmup_epochs, "warmup_epochs")
        _check_epoch(initial_epoch, "initial_epoch")
        self.warmup_loss = _as_loss(warmup_loss, "warmup_loss")
        self.loss = _as_loss(loss, "loss")
        self.warmup_epochs = warmup_epochs
        self.epoch = tf.Variable(initial_epoch, trainable=False, dtype=tf.int64, name="epoch")

    @property
    def in_warmup(self) -> bool:
        """Whether the current epoch is a warm-up epoch."""
        return int(self.epoch.numpy()) < self.warmup_epochs

    def set_epoch(self, epoch: int) -> None:
        """Sets the current (0-based) epoch, and with it the phase."""
        _check_epoch(epoch, "epoch")
        self.epoch.assign(epoch)

    def __call__(self, y_true, y_pred, sample_weight=None) -> tf.Tensor:
        with keras.name_scope(self.name):
            return tf.cond(
                self.epoch < self.warmup_epochs,
                lambda: tf.cast(self.warmup_loss(y_true, y_pred, sample_weight), self.dtype),
                lambda: tf.cast(self.loss(y_true, y_pred, sample_weight), self.dtype),
            )

    def get_config(self) -> dict:
        return {
            "warmup_loss": keras.losses.serialize(self.warmup_loss),
            "loss": keras.losses.serialize(self.loss),
            "warmup_epochs": self.warmup_epochs,
            "initial_epoch": int(self.epoch.numpy()),
            "name": self.name,
            "dtype": self.dtype,
        }


class WarmupCallback(keras.callbacks.Callback):
    """Sets the epoch of the model's `WarmupLoss` (every one in `model.loss`) at each epoch start.

    The phase follows the epoch index `fit` reports, which is right after a resume through
    `keras.callbacks.BackupAndRestore` or with `initial_epoch`.

    Raises:
        ValueError: at the start of training if `model.loss` holds no `WarmupLoss`.
    """

    def on_train_begin(self, logs=None) -> None:
        self._warmup_losses = [loss for loss in keras.tree.flatten(self.model.loss) if isinstance(loss, WarmupLoss)]
        if not self._warmup_losses:
            raise ValueError(
                "WarmupCallback needs a model compiled with a tfxai.training.schedules.WarmupLoss. "
                f"Received: model.loss={self.model.loss!r}"
            )

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        for loss in self._warmup_losses:
            loss.set_epoch(epoch)

"""Adversarial training: 1:1 clean / adversarial mini-batches inside `model.fit`.

`AdversarialModel` wraps any classifier that outputs logits. Its `train_step` crafts an
adversarial copy of every mini-batch with FGSM or k-step PGD (L-infinity), each example
with its own budget eps ~ U[a, b], concatenates it to the clean batch and hands the doubled
batch to Keras' own `train_step`. Whatever the model was compiled with therefore applies
unchanged: any tfxai loss (PC loss + adversarial training, the PC-loss paper's Table 5),
`WarmupLoss` with `WarmupCallback`, sample weights, metrics, mixed precision and
`tf.distribute`. Evaluation (`test_step`, `predict`) is clean.

    model = AdversarialModel(tfxai.models.build("lenet5", (28, 28, 1), 10),
                             attack="fgsm", epsilon=(0.1, 0.3), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=tfxai.losses.PCLoss(),
                  metrics=["accuracy"])
    model.fit(train_ds, epochs=30, callbacks=[keras.callbacks.BackupAndRestore(backup_dir)])

Resuming with `keras.callbacks.BackupAndRestore`: the wrapper holds no state of its own
besides the wrapped model's weights. Its random numbers (the per-example budgets and the
PGD random start) are stateless functions of `(seed, optimizer.iterations)`, and
`BackupAndRestore` saves and restores the optimizer with the weights (its iteration
counter included). A resumed run therefore draws, at every step, exactly what the
uninterrupted run would have drawn on the same batch; no random-generator state can be
lost with the process.
"""

from __future__ import annotations

import numbers
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfxai._validation import check_choice, check_float, check_int, invalid_value_message
from tfxai.attacks._common import LOSSES, per_example
from tfxai.attacks.iterative import _iterate

ATTACKS = ("fgsm", "pgd")

# Madry et al. (2018) take steps of 2.5 * eps / k, so k steps can cross the ball from a random start.
_PGD_STEP_FACTOR = 2.5
_PGD_DEFAULT_STEPS = 5  # the PC-loss paper's colour-image recipe (Table 5): 5-step PGD


def _check_epsilon_range(epsilon: Any) -> tuple[float, float]:
    """A float eps or a range `(a, b)` with `0 <= a <= b` -> `(a, b)`."""
    if isinstance(epsilon, numbers.Real) and not isinstance(epsilon, bool):
        value = check_float("epsilon", epsilon, minimum=0.0)
        return value, value
    try:
        low, high = (float(v) for v in epsilon)
    except (TypeError, ValueError):
        low, high = np.nan, np.nan
    if not (np.isfinite(low) and np.isfinite(high) and 0.0 <= low <= high):
        raise ValueError(invalid_value_message("epsilon", "a float >= 0 or a range (a, b) with 0 <= a <= b", epsilon))
    return low, high


def _check_clip(clip: Any) -> tuple[float, float] | None:
    if clip is None:
        return None
    try:
        low, high = (float(v) for v in clip)
    except (TypeError, ValueError):
        low, high = np.nan, np.nan
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(invalid_value_message("clip", "None or (min, max) finite floats with min < max", clip))
    return low, high


def _sparse_labels(y: tf.Tensor) -> tf.Tensor:
    """Integer labels `[B]` from `[B]`, `[B, 1]` or one-hot `[B, K]` targets (as Keras accepts them)."""
    if y.shape.rank == 2:
        y = y[:, 0] if y.shape[-1] == 1 else tf.argmax(y, axis=-1)
    return tf.cast(y, tf.int32)


@keras.saving.register_keras_serializable(package="tfxai")
class AdversarialModel(keras.Model):
    """Trains `model` on 1:1 clean / adversarial mini-batches (Goodfellow et al.; Madry et al.).

    Every training step sees the clean batch `x` (B examples) and its adversarial copy
    `x_adv` (B examples, same labels and sample weights), i.e. 2B rows. With a mean
    reduction the compiled loss is therefore

        L = 1/2 * mean_i loss(x_i, y_i) + 1/2 * mean_i loss(x_adv_i, y_i),

    Goodfellow et al.'s objective with alpha = 1/2, and the "1 : 1 ratio of adversarial
    examples and clean images in each training mini-batch" of the PC-loss paper (Table 5).
    `x_adv` is crafted against the current weights in inference mode (`training=False`) and
    is a constant for the weight update (no gradient flows through the attack). Each
    example draws its own budget eps_i ~ U[a, b]; then

    - `attack="fgsm"`: `x_adv = clip(x + eps_i * sign(grad_x J(x, y)))` (one step);
    - `attack="pgd"`: a uniform random start in the eps_i-ball and `steps` projected sign
      steps of size `step_size` (default `2.5 * eps_i / steps`).

    J is the attack objective: cross-entropy on the logits (`attack_loss="ce"`, whatever
    the training loss) or the C&W margin. The attack reuses the graph core of
    `tfxai.attacks.pgd`, so it runs inside the traced train function.

    Args:
        model: the classifier to train, a `keras.Model` mapping one input tensor to logits
            `[B, K]`. Calling the wrapper calls it; its weights are the wrapper's weights.
        attack: `"fgsm"` or `"pgd"` (L-infinity). Defaults to `"fgsm"`.
        epsilon: the budget range `(a, b)`, eps ~ U[a, b] per example (a float for a fixed
            budget), on the input scale. Defaults to `(0.1, 0.3)`, the PC-loss paper's
            grey-scale recipe (the colour recipe is `attack="pgd", steps=5, epsilon=(0, 0.1)`).
        steps: PGD iterations k; must be 1 (or `None`) for FGSM. Defaults to `None`: 1 for
            FGSM, 5 for PGD.
        step_size: the PGD step size; `None` takes `2.5 * eps_i / steps` per example
            (Madry et al.). Not used by FGSM. Defaults to `None`.
        clip: `(min, max)` bounds of valid inputs, or `None`. Defaults to `(0.0, 1.0)`.
        attack_loss: the objective the attack ascends, `"ce"` or `"margin"`. Defaults to `"ce"`.
        seed: seed of the budgets and random starts. Draws are a function of
            `(seed, optimizer.iterations)`, so runs are reproducible and resumable.
            Defaults to `0`.
        **kwargs: `keras.Model` arguments (`name`, ...).

    Example:

    >>> base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> model = AdversarialModel(base, attack="pgd", epsilon=(0.0, 0.1), steps=3)
    >>> model.compile(optimizer="adam", loss=tfxai.losses.PCLoss())
    >>> x, y = np.random.rand(8, 4).astype("float32"), np.arange(8) % 3
    >>> history = model.fit(x, y, epochs=1, verbose=0)

    Notes:
        - Labels: the attack uses the true labels, as Madry et al. With FGSM this can leak
          the label into `x_adv` (Kurakin et al., 2016b: accuracy on FGSM examples may end
          up above clean accuracy); evaluate with iterative attacks.
        - Metrics logged during `fit` (`loss`, `accuracy`) are over the doubled batch,
          i.e. the mean of clean and adversarial values; `val_*` metrics are clean.
        - Batch statistics (batch normalisation, LGL-INR's per-class means) are taken over
          the doubled batch.
        - Only a single input tensor is supported; one-hot and `[B, 1]` labels are accepted.
        - Under `tf.distribute` every replica draws from the same stateless seed stream
          (on different data); per-replica draws are therefore correlated but still uniform.

    Reference:
        [Goodfellow et al., 2014](https://arxiv.org/abs/1412.6572), Eq. (3);
        [Madry et al., 2018](https://arxiv.org/abs/1706.06083), Section 2;
        [Li et al., 2021](https://arxiv.org/abs/2012.07688), "Combining with adversarial
        training" and Table 5.
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        attack: str = "fgsm",
        epsilon: float | tuple[float, float] = (0.1, 0.3),
        steps: int | None = None,
        step_size: float | None = None,
        clip: tuple[float, float] | None = (0.0, 1.0),
        attack_loss: str = "ce",
        seed: int = 0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise TypeError(invalid_value_message("model", "a keras.Model", model))
        self.attack = check_choice("attack", attack, ATTACKS)
        self.epsilon = _check_epsilon_range(epsilon)
        if attack == "fgsm":
            if steps not in (None, 1):
                raise ValueError(invalid_value_message("steps", "None or 1 for FGSM", steps))
            if step_size is not None:
                raise ValueError(invalid_value_message("step_size", "None for FGSM (its step is eps)", step_size))
            self.steps = 1
        else:
            self.steps = _PGD_DEFAULT_STEPS if steps is None else check_int("steps", steps)
        self.step_size = None if step_size is None else check_float("step_size", step_size, positive=True)
        self.clip = _check_clip(clip)
        self.attack_loss = check_choice("attack_loss", attack_loss, LOSSES)
        self.seed = check_int("seed", seed, minimum=0)
        self.model = model
        # The wrapper has no weights of its own: it is built when the model is (callbacks such
        # as BackupAndRestore need a built model before `fit`).
        self.built = model.built

    def build(self, input_shape) -> None:
        if not self.model.built:
            self.model.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return self.model(inputs, training=training)

    def adversarial_examples(self, x, y, step=0) -> tuple[tf.Tensor, tf.Tensor]:
        """The adversarial copy of a batch, as crafted at training step `step`.

        Args:
            x: inputs `[B, ...]`.
            y: labels `[B]` (or `[B, 1]`, or one-hot `[B, K]`).
            step: the training step (`optimizer.iterations` in `train_step`); with `seed`
                it fixes the random draws. Defaults to `0`.

        Returns:
            `(x_adv, epsilon)`: `x_adv` with the shape and dtype of `x`, and the budget of
            each example, float32 `[B]`.
        """
        x = tf.convert_to_tensor(x)
        x32 = tf.cast(x, tf.float32)
        labels = _sparse_labels(tf.convert_to_tensor(y))
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
        budget_seed, start_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
        low, high = self.epsilon
        epsilon = tf.random.stateless_uniform(tf.shape(x)[:1], budget_seed, minval=low, maxval=high)  # [B]
        clip_min, clip_max = (-np.inf, np.inf) if self.clip is None else self.clip
        clip_min, clip_max = tf.constant(clip_min, tf.float32), tf.constant(clip_max, tf.float32)
        if self.attack == "fgsm":
            x_start, step_size = x32, epsilon
        else:
            noise = tf.random.stateless_uniform(tf.shape(x32), start_seed, minval=-1.0, maxval=1.0)
            x_start = tf.clip_by_value(x32 + per_example(epsilon, x32) * noise, clip_min, clip_max)
            if self.step_size is None:
                step_size = _PGD_STEP_FACTOR * epsilon / self.steps
            else:
                step_size = tf.fill(tf.shape(epsilon), tf.constant(self.step_size, tf.float32))
        x_adv = _iterate(
            self.model,
            x32,
            labels,
            x_start,
            epsilon,
            step_size,
            tf.constant(self.steps),
            tf.constant(0.0),  # no momentum
            tf.constant(False),  # untargeted
            tf.constant(False),  # no early stop: every row takes all its steps
            clip_min,
            clip_max,
            norm="inf",
            loss=self.attack_loss,
        )
        return tf.cast(tf.stop_gradient(x_adv), x.dtype), epsilon

    def training_batch(self, data, step=0) -> tuple:
        """The 1:1 batch a training step fits: `(concat[x, x_adv], concat[y, y], concat[w, w])`.

        Args:
            data: a batch as `fit` passes it, `(x, y)` or `(x, y, sample_weight)`.
            step: as in `adversarial_examples`. Defaults to `0`.

        Returns:
            `(x, y)` or `(x, y, sample_weight)` with 2B rows, the clean rows first.

        Raises:
            ValueError: the batch has no labels or several input tensors.
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None or not isinstance(x, (tf.Tensor, np.ndarray)):
            raise ValueError(
                "AdversarialModel needs batches `(x, y)` or `(x, y, sample_weight)` with a single input tensor `x`. "
                f"Received: x of type {type(x).__name__}, y={'None' if y is None else type(y).__name__}"
            )
        x_adv, _ = self.adversarial_examples(x, y, step)
        doubled = [tf.concat([x, x_adv], axis=0), tf.concat([y, y], axis=0)]
        if sample_weight is not None:
            doubled.append(tf.concat([sample_weight, sample_weight], axis=0))
        return tuple(doubled)

    def train_step(self, data):
        return super().train_step(self.training_batch(data, self.optimizer.iterations))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.model),
            "attack": self.attack,
            "epsilon": list(self.epsilon),
            "steps": self.steps,
            "step_size": self.step_size,
            "clip": None if self.clip is None else list(self.clip),
            "attack_loss": self.attack_loss,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> AdversarialModel:
        config = dict(config)
        model = keras.saving.deserialize_keras_object(config.pop("model"), custom_objects=custom_objects)
        return cls(model, **config)

"""Adversarial Gradient Integration (AGI), Algorithms 1 and 2 of Pan et al. (2021)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from tfxai.attribution.base import (
    Explainer,
    _broadcast_rows,
    _check_bool,
    _check_choice,
    _check_float,
    _check_input_range,
    _check_int,
    _check_seed,
    _invalid,
)

PATHS = ("cumulative", "anchored")
_DEFAULT_FALSE_CLASSES = 20


class AGI(Explainer):
    """Adversarial Gradient Integration of Pan et al. (2021).

    For each of `num_false_classes` (k) false classes i, Algorithm 1 climbs the
    steepest-ascent path of `f_i` from `x` with signed steps `d = epsilon * sign(grad f_i)`
    until the model predicts i or `max_steps` (m) steps were taken, integrating
    `AGI_i -= grad f_t(x_j) * d` along the way (Eq. 8, the discretised Eq. 5 with the
    path velocity of Eq. 7). Algorithm 2 sums `AGI = sum_i AGI_i` over k false classes
    sampled uniformly without replacement from the K - 1 classes other than the target
    t. `f` is the softmax probability (`output="probabilities"`), as in the paper.

    All examples and all their sampled classes run as one `[B*k, *input_shape]` batch
    in a `tf.while_loop` over the m steps (one forward and two backward passes per
    step, in chunks of at most `internal_batch_size` rows). A row that reaches its class
    stops moving and stops accumulating (a per-row mask); each step differentiates only
    the rows still moving (gathered, then scattered back), and the loop ends when every
    row has stopped.

    Args:
        model: see `Explainer`.
        epsilon: step size epsilon, in input units (inputs in `[0, 1]` in the paper).
            Defaults to 0.05.
        max_steps: m, the maximum number of steps per class. Defaults to 20.
        num_false_classes: k, the number of false classes sampled per example, at most
            K - 1; `None` means `min(20, K - 1)`. Defaults to `None`.
        path: `"cumulative"` (x_{j+1} = clip(x_j + d); integrates the step actually
            taken, `-grad f_t(x_j) * (x_{j+1} - x_j)`) or `"anchored"` (the authors'
            code: x_{j+1} = clip(x_0 + d), integrating `-grad f_t(x_j) * (x_{j+1} - x_0)`).
            Defaults to `"cumulative"`.
        input_range: `(low, high)` the path is clipped to, or `None` for no clipping
            (Algorithm 1 as printed). Defaults to `(0.0, 1.0)`.
        seed: seed of the class sampling (`None` draws one). Defaults to 0.
        return_per_class: whether `explain` returns `(attributions, details)` where
            `details` holds `per_class_attributions` `[B, k, *input_shape]` (the AGI_i of
            paper Sec. 5.5), `false_classes` int32 `[B, k]`, `success` bool `[B, k]` (the
            path reached class i) and `num_steps` int32 `[B, k]`. Defaults to `False`.
        output: see `Explainer`. Defaults to `"probabilities"`.
        internal_batch_size: see `Explainer`; bounds the `B*k` path rows per gradient call.

    Example:

    >>> explainer = tfxai.attribution.AGI(model, epsilon=0.05, max_steps=20, seed=0)
    >>> attributions = explainer(images)  # explains the predicted class

    Reference:
        [Pan et al., 2021](https://www.ijcai.org/proceedings/2021/396), Algorithms 1-2,
        Eq. (5), (7), (8).

    Notes:
        - The direction `sign(g / |g|)` of Algorithm 1 equals `sign(g)`; the norm is not
          computed.
        - Algorithm 1 does not clip; on images the path would leave the valid range, so
          both paths are clipped to `input_range` by default (the authors' code clips
          to [0, 1]). `"cumulative"` integrates the step actually taken, so the
          attributions of one class sum to about `f_t(x) - f_t(x'_i)` (a left Riemann sum
          along the path). `"anchored"` reproduces the authors' code, whose path never
          leaves the epsilon-box around `x`.
        - Sampling: one seeded permutation of the K classes; each example takes its
          first k entries other than its target. Each example gets a uniform k-subset of
          its false classes, and its classes do not depend on the batch it is in.
        - Success is checked at the final point, so a row stopped by the step limit at a
          point already predicted as i counts as a success.
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        epsilon: float = 0.05,
        max_steps: int = 20,
        num_false_classes: int | None = None,
        path: str = "cumulative",
        input_range: tuple[float, float] | None = (0.0, 1.0),
        seed: int | None = 0,
        return_per_class: bool = False,
        output: str = "probabilities",
        internal_batch_size: int | None = None,
    ) -> None:
        super().__init__(model, output=output, internal_batch_size=internal_batch_size)
        self.epsilon = _check_float("epsilon", epsilon, positive=True)
        self.max_steps = _check_int("max_steps", max_steps)
        if num_false_classes is None:
            num_false_classes = min(_DEFAULT_FALSE_CLASSES, self.num_classes - 1)
        self.num_false_classes = _check_int("num_false_classes", num_false_classes)
        if self.num_false_classes > self.num_classes - 1:
            raise ValueError(
                _invalid("num_false_classes", f"at most K - 1 = {self.num_classes - 1}", num_false_classes)
            )
        self.path = _check_choice("path", path, PATHS)
        self.input_range = None if input_range is None else _check_input_range(input_range)
        self.seed = _check_seed(seed)
        self.return_per_class = _check_bool("return_per_class", return_per_class)

    @staticmethod
    def _sample_false_classes(targets: tf.Tensor, num_classes: int, num_false_classes: int, seed: int) -> tf.Tensor:
        """k false classes per example, uniformly without replacement (Algorithm 2, line 2).

        Args:
            targets: int32 `[B]`.
            num_classes: K.
            num_false_classes: k <= K - 1.
            seed: seed of the permutation.

        Returns:
            int32 `[B, k]`: the first k entries of one seeded permutation of the K
            classes that differ from each example's target.
        """
        permutation = tf.argsort(tf.random.stateless_uniform([num_classes], seed=[seed, 0]))  # [K]
        is_target = tf.equal(permutation[tf.newaxis, :], targets[:, tf.newaxis])  # [B, K]
        positions = tf.where(is_target, num_classes, tf.range(num_classes)[tf.newaxis, :])  # target last: [B, K]
        order = tf.argsort(positions, axis=1, stable=True)[:, :num_false_classes]  # [B, k]
        return tf.gather(permutation, order)

    def _paths(self, x0: tf.Tensor, targets: tf.Tensor, classes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Algorithm 1 for independent rows (example, false class).

        Args:
            x0: float32 starting points `[n, *input_shape]`.
            targets: explained class t of each row, int32 `[n]`.
            classes: false class i of each row, int32 `[n]`.

        Returns:
            `(AGI_i [n, *input_shape], success bool [n], num_steps int32 [n])`.
        """
        rank = len(self.input_shape) + 1

        def body(step, x, total, active, num_steps):
            # Only the rows still on their way are differentiated (gathered, then scattered back).
            index = tf.where(active)  # [a, 1]
            x_a, classes_a = tf.gather_nd(x, index), tf.gather_nd(classes, index)  # [a, ...], [a]
            outputs, grad_t, grad_i = self._gradients(x_a, tf.gather_nd(targets, index), classes_a)
            moving = tf.not_equal(tf.argmax(outputs, axis=-1, output_type=tf.int32), classes_a)  # [a]
            origin = x_a if self.path == "cumulative" else tf.gather_nd(x0, index)
            proposal = origin + self.epsilon * tf.sign(grad_i)  # d = epsilon sign(grad f_i)
            if self.input_range is not None:
                proposal = tf.clip_by_value(proposal, *self.input_range)
            mask = _broadcast_rows(moving, rank)  # [a, 1, ..., 1]
            total = tf.tensor_scatter_nd_add(total, index, tf.where(mask, -grad_t * (proposal - origin), 0.0))
            x = tf.tensor_scatter_nd_update(x, index, tf.where(mask, proposal, x_a))
            active = tf.tensor_scatter_nd_update(active, index, moving)
            num_steps = tf.tensor_scatter_nd_add(num_steps, index, tf.cast(moving, tf.int32))
            return step + 1, x, total, active, num_steps

        def cond(step, x, total, active, num_steps):
            return (step < self.max_steps) & tf.reduce_any(active)

        rows = tf.shape(x0)[0]
        start = (tf.constant(0), x0, tf.zeros_like(x0), tf.ones([rows], tf.bool), tf.zeros([rows], tf.int32))
        _, x, total, _, num_steps = tf.while_loop(cond, body, start)
        success = tf.equal(tf.argmax(self._outputs(x), axis=-1, output_type=tf.int32), classes)  # [n]
        return total, success, num_steps

    def _attribute(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        batch, k = tf.shape(x)[0], self.num_false_classes
        classes = self._sample_false_classes(targets, self.num_classes, k, self.seed)  # [B, k]
        per_row, success, num_steps = self._map_rows(
            self._paths,
            (tf.repeat(x, k, axis=0), tf.repeat(targets, k), tf.reshape(classes, [-1])),  # row b*k + j: [B*k, ...]
            (
                tf.TensorSpec([None, *self.input_shape], tf.float32),
                tf.TensorSpec([None], tf.bool),
                tf.TensorSpec([None], tf.int32),
            ),
        )
        per_class = tf.reshape(per_row, tf.concat([[batch, k], self.input_shape], axis=0))  # [B, k, ...]
        outputs = {
            "attributions": tf.reduce_sum(per_class, axis=1),  # Algorithm 2: sum over classes, [B, ...]
            "false_classes": classes,
            "success": tf.reshape(success, [batch, k]),
            "num_steps": tf.reshape(num_steps, [batch, k]),
        }
        if self.return_per_class:
            outputs["per_class_attributions"] = per_class
        return outputs

    def _format_output(self, outputs: dict[str, tf.Tensor]) -> Any:
        if not self.return_per_class:
            return outputs["attributions"]
        details = {key: outputs[key] for key in ("false_classes", "success", "num_steps")}
        details["per_class_attributions"] = tf.cast(outputs["per_class_attributions"], outputs["attributions"].dtype)
        return outputs["attributions"], details

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "max_steps": self.max_steps,
            "num_false_classes": self.num_false_classes,
            "path": self.path,
            "input_range": self.input_range,
            "seed": self.seed,
            "return_per_class": self.return_per_class,
        }

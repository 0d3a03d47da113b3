"""The `Explainer` base class and the pieces every explainer shares.

An explainer binds a Keras classifier and the output it explains (`"logits"` or
`"probabilities"`, the softmax applied inside) at construction, together with all its
hyper-parameters. `explain(x, targets=None, batch_size=None)` (alias `__call__`) runs one
sanitising step (rank, shape, dtype, finite values, target range), feeds the batch through
a pure `tf.function` core with a fixed input signature, and returns a tensor with the
shape and dtype of `x`. The same core, `explainer.core`, is what `tfxai.export` puts into
a SavedModel signature: inputs `images` (float32 `[None, *input_shape]`) and `targets`
(int32 `[None]`, -1 = predicted class), outputs a dict with at least `attributions` and
`targets`.

Shared graph helpers live here so that the explainers never repeat each other: the
gradient of the explained output (`Explainer._gradients`), chunking of rows so that one
gradient call never sees more than `internal_batch_size` rows (`Explainer._map_rows`), the
Riemann quadratures of path methods (`_quadrature`, `_riemann_sum`), and the completeness
check f(x) - f(x') - sum(attributions) (`PathExplainer._convergence_delta`).
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

# The generic checkers, under the private names that this module and the explainer modules
# (agi, baselines, blur_ig, integrated_gradients, smoothgrad) use.
from tfxai._validation import check_bool as _check_bool
from tfxai._validation import check_choice as _check_choice
from tfxai._validation import check_float as _check_float  # noqa: F401 - imported from here
from tfxai._validation import check_int as _check_int
from tfxai._validation import check_seed as _check_seed  # noqa: F401 - imported from here
from tfxai._validation import invalid_value_message as _invalid

OUTPUTS = ("logits", "probabilities")
QUADRATURES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


# ----------------------------------------------------------------------------------------
# Argument checks specific to attribution (Keras-style messages: argument name, what was
# expected, what was received); the generic ones are imported above.
# ----------------------------------------------------------------------------------------


def _check_input_range(value: Any) -> tuple[float, float]:
    """Checks an `(low, high)` pair of finite floats with `low < high`."""
    expected = "a (low, high) pair of finite floats with low < high"
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(_invalid("input_range", expected, value)) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(_invalid("input_range", expected, value))
    return low, high


def _check_model(model: Any) -> tuple[tuple[int, ...], int]:
    """Checks that `model` is a single-input Keras classifier; returns (input_shape, K)."""
    if not isinstance(model, keras.Model):
        raise TypeError(_invalid("model", "a keras.Model", type(model).__name__))
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs or len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            "Invalid value for argument `model`. Expected a built Keras model with one input "
            "and one output (e.g. a Sequential starting with keras.Input(shape)). "
            f"Received: model={model.name!r} with inputs={inputs} and outputs={outputs}"
        )
    input_shape, output_shape = tuple(inputs[0].shape[1:]), tuple(outputs[0].shape)
    if any(d is None for d in input_shape):
        raise ValueError(
            "Invalid value for argument `model`. Expected a fully defined input shape "
            f"(besides the batch axis). Received: input shape {(None, *input_shape)}"
        )
    if len(output_shape) != 2 or output_shape[-1] is None or output_shape[-1] < 2:
        raise ValueError(
            "Invalid value for argument `model`. Expected outputs of shape [batch, K] with "
            f"K >= 2 classes. Received: output shape {output_shape}"
        )
    last = model.layers[-1] if model.layers else None
    if isinstance(last, keras.layers.Softmax) or getattr(last, "activation", None) is keras.activations.softmax:
        warnings.warn(
            f"The last layer of {model.name!r} applies a softmax, but tfxai explainers expect "
            "logits: explain the logits model and pass output='probabilities' instead.",
            stacklevel=3,
        )
    return tuple(int(d) for d in input_shape), int(output_shape[-1])


# ----------------------------------------------------------------------------------------
# Quadrature of path methods
# ----------------------------------------------------------------------------------------


def _quadrature(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a Riemann rule on [0, 1] with `steps` gradient evaluations.

    `steps` counts evaluation points for every rule, as in Captum: left `k/steps`
    (k = 0..steps-1), right `k/steps` (k = 1..steps), middle `(k + 1/2)/steps`, all with
    weight `1/steps`; trapezoid `k/(steps-1)` (k = 0..steps-1) with weights `1/(steps-1)`
    halved at both ends. The weights sum to 1.

    Returns:
        `(alphas, weights)`, two float32 arrays `[steps]`.
    """
    if method == "riemann_trapezoid":
        alphas = np.linspace(0.0, 1.0, steps)
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2.0
    else:
        offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
        alphas = (np.arange(steps) + offset) / steps
        weights = np.full(steps, 1.0 / steps)
    return alphas.astype(np.float32), weights.astype(np.float32)


def _riemann_sum(values: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Weighted sum over the leading (path) axis: `values [S, B, ...]`, `weights [S]` -> `[B, ...]`."""
    return tf.tensordot(weights, values, axes=1)


def _broadcast_rows(vector: tf.Tensor, rank: int) -> tf.Tensor:
    """Reshapes `[N]` to `[N, 1, ..., 1]` so that it broadcasts against rank-`rank` rows."""
    return tf.reshape(vector, tf.concat([tf.shape(vector), tf.ones([rank - 1], tf.int32)], axis=0))


# ----------------------------------------------------------------------------------------
# Explainer
# ----------------------------------------------------------------------------------------


class Explainer(abc.ABC):
    """Base class of the tfxai explainers.

    Subclasses implement `_attribute(x, targets)`, a graph function from float32 inputs
    `[B, *input_shape]` and resolved int32 targets `[B]` to a dict with at least
    `"attributions"` (float32 `[B, *input_shape]`), and extend `get_config`. Everything
    else (validation, batching, the `tf.function` core, dtype restoration) lives here.

    Args:
        model: a Keras classifier with one input of fully defined shape `input_shape`
            and one output `[batch, K]` of logits.
        output: the explained scalar `f_t(x)`: `"logits"` (the model's output for class
            `t`) or `"probabilities"` (softmax applied inside). Defaults to `"logits"`.
        internal_batch_size: the largest number of rows (e.g. path points x examples)
            sent through one gradient call; bounds memory, never changes the result
            beyond float rounding. `None` sends all rows at once. Defaults to `None`.

    Attributes:
        core: the pure `tf.function` `core(images, targets) -> dict` with input
            signature `images` float32 `[None, *input_shape]`, `targets` int32 `[None]`
            (-1 = predicted class). Its outputs hold `attributions` (float32, shape of
            `images`), `targets` (the resolved classes) and method-specific extras.
        input_shape: the model's input shape without the batch axis.
        num_classes: `K`, the number of model outputs.

    Example:

    >>> explainer = tfxai.attribution.IntegratedGradients(model, steps=50, internal_batch_size=256)
    >>> attributions = explainer(images)  # predicted classes; shape and dtype of `images`
    >>> served = explainer.core(tf.constant(images, tf.float32), tf.fill([len(images)], -1))
    >>> sorted(served)
    ['attributions', 'convergence_delta', 'targets']
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        output: str = "logits",
        internal_batch_size: int | None = None,
    ) -> None:
        self.input_shape, self.num_classes = _check_model(model)
        self.model = model
        self.output = _check_choice("output", output, OUTPUTS)
        self.internal_batch_size = (
            None if internal_batch_size is None else _check_int("internal_batch_size", internal_batch_size)
        )
        self.core = tf.function(
            self._core,
            input_signature=(
                tf.TensorSpec([None, *self.input_shape], tf.float32, name="images"),
                tf.TensorSpec([None], tf.int32, name="targets"),
            ),
        )

    # -- public API ----------------------------------------------------------------------

    def explain(self, x: Any, targets: Any = None, batch_size: int | None = None) -> Any:
        """Attributions of `f_t(x)` for each example.

        Args:
            x: inputs, a float array or tensor `[B, *input_shape]` (numpy or TensorFlow).
            targets: classes to explain: `None` (the predicted class), an int for all
                examples, int labels `[B]` (-1 = predicted class) or one-hot `[B, K]`.
                Defaults to `None`.
            batch_size: the number of examples per call of the core (for large inputs);
                `None` runs all examples at once. Defaults to `None`.

        Returns:
            A tensor with the shape and dtype of `x` (computed in float32), or the tuple
            described by the subclass when it was asked for extras.

        Raises:
            TypeError: `x` is not a floating-point array, or an argument has a wrong type.
            ValueError: wrong rank or shape, non-finite values, targets out of range.
        """
        x_array, dtype = self._sanitize_inputs(x)
        targets_array = self._sanitize_targets(targets, len(x_array))
        if batch_size is None:
            batch_size = len(x_array)
        batch_size = _check_int("batch_size", batch_size)
        chunks = [
            self.core(
                tf.constant(x_array[start : start + batch_size]), tf.constant(targets_array[start : start + batch_size])
            )
            for start in range(0, len(x_array), batch_size)
        ]
        outputs = {key: tf.concat([chunk[key] for chunk in chunks], axis=0) for key in chunks[0]}
        outputs["attributions"] = tf.cast(outputs["attributions"], dtype)
        return self._format_output(outputs)

    def __call__(self, x: Any, targets: Any = None, batch_size: int | None = None) -> Any:
        """Alias of `explain`."""
        return self.explain(x, targets, batch_size)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments except `model` (`cls.from_config(model, config)` inverts it)."""
        return {"output": self.output, "internal_batch_size": self.internal_batch_size}

    @classmethod
    def from_config(cls, model: keras.Model, config: dict[str, Any]) -> Explainer:
        """Rebuilds an explainer of `model` from `get_config()`."""
        return cls(model, **config)

    # -- to implement ----------------------------------------------------------------------

    @abc.abstractmethod
    def _attribute(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        """Graph code: `x` float32 `[B, *input_shape]`, `targets` int32 `[B]` (all >= 0).

        Returns:
            A dict with `"attributions"` (float32 `[B, *input_shape]`) and any extras
            whose leading axis is the batch axis.
        """

    def _format_output(self, outputs: dict[str, tf.Tensor]) -> Any:
        """What `explain` returns, from the concatenated core outputs (attributions only by default)."""
        return outputs["attributions"]

    # -- graph helpers shared by the explainers ---------------------------------------------

    def _core(self, images: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        tf.debugging.assert_less(
            targets, self.num_classes, message=f"`targets` must be < K={self.num_classes} (-1 = predicted class)"
        )
        predicted = tf.argmax(self.model(images, training=False), axis=-1, output_type=tf.int32)
        targets = tf.where(targets < 0, predicted, targets)  # [B]
        return {**self._attribute(images, targets), "targets": targets}

    def _outputs(self, x: tf.Tensor) -> tf.Tensor:
        """The explained outputs `f(x)`, float32 `[N, K]` (softmax applied when asked)."""
        logits = tf.cast(self.model(x, training=False), tf.float32)
        return tf.nn.softmax(logits) if self.output == "probabilities" else logits

    def _gradients(self, x: tf.Tensor, *classes: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """One forward pass and one backward pass per class vector.

        Args:
            x: float32 rows `[N, *input_shape]`.
            *classes: int32 `[N]` each; row n differentiates `f_{classes[n]}(x_n)`.

        Returns:
            `(outputs [N, K], grad_1 [N, *input_shape], grad_2, ...)`.
        """
        with tf.GradientTape(persistent=len(classes) > 1) as tape:
            tape.watch(x)
            outputs = self._outputs(x)
            selected = [tf.gather(outputs, c, batch_dims=1) for c in classes]  # each [N]
        grads = tuple(tape.gradient(s, x, unconnected_gradients=tf.UnconnectedGradients.ZERO) for s in selected)
        return (outputs, *grads)

    def _map_rows(
        self,
        fn: Callable[..., Sequence[tf.Tensor]],
        rows: Sequence[tf.Tensor],
        output_specs: Sequence[tf.TensorSpec],
    ) -> tuple[tf.Tensor, ...]:
        """Applies `fn` to chunks of at most `internal_batch_size` rows and concatenates.

        Args:
            fn: graph function of row tensors `[n, ...]` returning tensors `[n, ...]`.
            rows: tensors sharing the leading axis `[N, ...]`.
            output_specs: dtype and shape `[None, ...]` of each output of `fn`.

        Returns:
            The outputs of `fn` on all rows, `[N, ...]` each.
        """
        if self.internal_batch_size is None:
            return tuple(fn(*rows))
        chunk = self.internal_batch_size
        num_rows = tf.shape(rows[0])[0]
        num_chunks = (num_rows + chunk - 1) // chunk
        arrays = tuple(
            tf.TensorArray(spec.dtype, size=num_chunks, infer_shape=False, element_shape=spec.shape)
            for spec in output_specs
        )

        def body(i: tf.Tensor, arrays: tuple[tf.TensorArray, ...]) -> tuple:
            results = fn(*(r[i * chunk : (i + 1) * chunk] for r in rows))  # each [<= chunk, ...]
            return i + 1, tuple(a.write(i, value) for a, value in zip(arrays, results, strict=True))

        _, arrays = tf.while_loop(lambda i, _: i < num_chunks, body, (tf.constant(0), arrays))
        return tuple(a.concat() for a in arrays)

    def _input_gradients(self, x: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """`grad_x f_t(x)` for rows `x [N, *input_shape]`, `targets [N]`, chunked: `[N, *input_shape]`."""
        (grads,) = self._map_rows(
            lambda rows, classes: self._gradients(rows, classes)[1:],
            (x, targets),
            (tf.TensorSpec([None, *self.input_shape], tf.float32),),
        )
        return grads

    # -- input sanitising --------------------------------------------------------------------

    def _sanitize_inputs(self, x: Any) -> tuple[np.ndarray, tf.DType]:
        """Checks `x` and returns it as float32 numpy `[B, *input_shape]` with its original dtype."""
        array = x.numpy() if isinstance(x, tf.Tensor) else np.asarray(x)
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(_invalid("x", "a floating-point array", f"array of dtype {array.dtype}"))
        expected = (None, *self.input_shape)
        if array.ndim != len(expected) or array.shape[1:] != self.input_shape:
            raise ValueError(
                f"Invalid value for argument `x`. Expected shape {expected} (batch first, as the "
                f"model's input). Received: x.shape={array.shape}"
            )
        if len(array) == 0:
            raise ValueError(_invalid("x", "at least one example", f"array of shape {array.shape}"))
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"Invalid value for argument `x`. Expected finite values. Received: "
                f"{int(np.sum(~np.isfinite(array)))} NaN or infinite values"
            )
        return array.astype(np.float32), tf.as_dtype(array.dtype)

    def _sanitize_targets(self, targets: Any, batch: int) -> np.ndarray:
        """Checks `targets` and returns int32 `[B]` with -1 standing for the predicted class."""
        if targets is None:
            return np.full(batch, -1, np.int32)
        array = targets.numpy() if isinstance(targets, tf.Tensor) else np.asarray(targets)
        if array.ndim == 2 and array.shape == (batch, self.num_classes):  # one-hot
            array = np.argmax(array, axis=-1)
        if array.ndim == 0:
            array = np.full(batch, array)
        expected = f"None, an int, int labels of shape ({batch},) or one-hot of shape ({batch}, {self.num_classes})"
        if array.shape != (batch,) or not (
            np.issubdtype(array.dtype, np.integer)
            or (np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array)))
        ):
            raise ValueError(_invalid("targets", expected, targets))
        if np.any(array < -1) or np.any(array >= self.num_classes):
            raise ValueError(
                _invalid("targets", f"classes in [0, {self.num_classes}) or -1 (predicted class)", targets)
            )
        return array.astype(np.int32)


class PathExplainer(Explainer):
    """Base of path-integral explainers: `sum_k w_k grad f_t(gamma(alpha_k)) * gamma'(alpha_k)`.

    A subclass defines the path through `_path(x)`: points `gamma(alpha_k)`, their
    velocities `d gamma / d alpha` and the starting point `gamma(0)`. This class integrates
    with the Riemann rule `method` on `steps` nodes (one gradient call per chunk of
    `internal_batch_size` rows over all nodes x examples) and always computes the
    completeness gap of Sundararajan et al. (2017, Prop. 1),
    `f_t(x) - f_t(gamma(0)) - sum(attributions)`, output `"convergence_delta"` of the core.

    Args:
        model: see `Explainer`.
        steps: number of gradient evaluations along the path. Defaults to 50.
        method: `"riemann_left"`, `"riemann_right"`, `"riemann_middle"` or
            `"riemann_trapezoid"` (see Notes). Defaults to `"riemann_trapezoid"`.
        return_convergence_delta: whether `explain` returns `(attributions, delta)`
            with `delta` float32 `[B]`. Defaults to `False`.
        output: see `Explainer`.
        internal_batch_size: see `Explainer`.

    Notes:
        `steps` counts gradient evaluations per example for every rule: left, right and
        middle use `alpha_k = (k + 0, 1, 1/2) / steps` with weights `1/steps`; the
        trapezoid uses `steps` equally spaced nodes including both ends, weights
        `1/(steps-1)` halved at the ends (so it needs `steps >= 2`). Middle and trapezoid
        are second-order accurate; left and right first-order.
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        steps: int = 50,
        method: str = "riemann_trapezoid",
        return_convergence_delta: bool = False,
        output: str = "logits",
        internal_batch_size: int | None = None,
    ) -> None:
        super().__init__(model, output=output, internal_batch_size=internal_batch_size)
        self.method = _check_choice("method", method, QUADRATURES)
        self.steps = _check_int("steps", steps)
        if self.method == "riemann_trapezoid" and self.steps < 2:
            raise ValueError(_invalid("steps", "an int >= 2 with method='riemann_trapezoid'", steps))
        self.return_convergence_delta = _check_bool("return_convergence_delta", return_convergence_delta)
        alphas, weights = _quadrature(self.method, self.steps)
        self._alphas = tf.constant(alphas)  # [S]
        self._weights = tf.constant(weights)  # [S]

    @abc.abstractmethod
    def _path(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Graph code: the path of each example of `x [B, *input_shape]` at `self._alphas`.

        Returns:
            `(points [S, B, *input_shape], velocities [S or 1, B, *input_shape],
            start [B, *input_shape])` with `start = gamma(0)`.
        """

    def _attribute(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        points, velocities, start = self._path(x)
        steps, batch = tf.shape(points)[0], tf.shape(points)[1]
        flat = tf.reshape(points, [steps * batch, *self.input_shape])  # row s*B + b -> [S*B, ...]
        grads = self._input_gradients(flat, tf.tile(targets, [steps]))  # [S*B, ...]
        grads = tf.reshape(grads, tf.shape(points))  # [S, B, ...]
        attributions = _riemann_sum(grads * velocities, self._weights)  # [B, ...]
        return {
            "attributions": attributions,
            "convergence_delta": self._convergence_delta(x, start, targets, attributions),
        }

    def _convergence_delta(
        self, x: tf.Tensor, start: tf.Tensor, targets: tf.Tensor, attributions: tf.Tensor
    ) -> tf.Tensor:
        """Completeness gap `f_t(x) - f_t(x') - sum(attributions)`, float32 `[B]`."""
        batch = tf.shape(x)[0]
        outputs = self._outputs(tf.concat([x, start], axis=0))  # [2B, K]
        values = tf.gather(outputs, tf.concat([targets, targets], axis=0), batch_dims=1)  # [2B]
        total = tf.reduce_sum(tf.reshape(attributions, [batch, -1]), axis=1)  # [B]
        return values[:batch] - values[batch:] - total

    def _format_output(self, outputs: dict[str, tf.Tensor]) -> Any:
        if self.return_convergence_delta:
            return outputs["attributions"], outputs["convergence_delta"]
        return outputs["attributions"]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "steps": self.steps,
            "method": self.method,
            "return_convergence_delta": self.return_convergence_delta,
        }

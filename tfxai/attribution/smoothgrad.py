"""SmoothGrad: attributions averaged over Gaussian perturbations of the input."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from tfxai.attribution.base import Explainer, _broadcast_rows, _check_float, _check_int, _check_seed, _invalid
from tfxai.attribution.saliency import Saliency


class SmoothGrad(Explainer):
    """SmoothGrad of Smilkov et al. (2017): `mean_n A(x + eps_n)`, `eps_n ~ N(0, sigma^2 I)`.

    With `explainer=None`, `A` is the gradient `grad_x f_t` (the paper's Sec. 3); given
    another explainer (e.g. `IntegratedGradients`), SmoothGrad smooths that explainer's
    attributions instead (the paper also applies it to IG and Guided BackProp).
    The `num_samples x B` noisy inputs form one batch for the smoothed explainer, which
    chunks its own gradient calls by its `internal_batch_size`. The targets are resolved
    on the clean input: the predicted class of `x`, not of each noisy copy.

    Args:
        model: see `Explainer`.
        num_samples: `n`, the number of noisy copies per example. Defaults to 50.
        noise_level: sigma as a fraction of each example's value range,
            `sigma = noise_level * (max(x) - min(x))` (the paper's "noise level").
            Defaults to 0.15.
        seed: seed of the noise (`None` draws one). Defaults to 0.
        explainer: the explainer to smooth, bound to the same `model` with the same
            `output` and `internal_batch_size`; `None` smooths the gradient
            (`Saliency(model, output, internal_batch_size)`). Defaults to `None`.
        output: see `Explainer`.
        internal_batch_size: see `Explainer`.

    Example:

    >>> attributions = tfxai.attribution.SmoothGrad(model, num_samples=50)(images)
    >>> ig = tfxai.attribution.IntegratedGradients(model, steps=20)
    >>> smooth_ig = tfxai.attribution.SmoothGrad.wrap(ig, num_samples=10)

    Reference:
        [Smilkov et al., 2017](https://arxiv.org/abs/1706.03825)

    Notes:
        The noise `eps_n` is one seeded draw of shape `[num_samples, *input_shape]`
        shared by all examples (scaled by each example's sigma), so an example's
        attributions do not depend on which batch it is in. The paper's default of the
        signed mean is kept (no squared-gradient "magnitude" variant).
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        num_samples: int = 50,
        noise_level: float = 0.15,
        seed: int | None = 0,
        explainer: Explainer | None = None,
        output: str = "logits",
        internal_batch_size: int | None = None,
    ) -> None:
        super().__init__(model, output=output, internal_batch_size=internal_batch_size)
        self.num_samples = _check_int("num_samples", num_samples)
        self.noise_level = _check_float("noise_level", noise_level, positive=True)
        self.seed = _check_seed(seed)
        if explainer is None:
            self.explainer: Explainer = Saliency(model, output=output, internal_batch_size=internal_batch_size)
            self._wraps = False
            return
        if not isinstance(explainer, Explainer):
            raise TypeError(_invalid("explainer", "a tfxai Explainer or None", type(explainer).__name__))
        expected = (model, self.output, self.internal_batch_size)
        received = (explainer.model, explainer.output, explainer.internal_batch_size)
        if received[0] is not expected[0] or received[1:] != expected[1:]:
            raise ValueError(
                "Invalid value for argument `explainer`. Expected an explainer with this SmoothGrad's model, "
                "output and internal_batch_size (SmoothGrad.wrap(explainer) copies them). Received: "
                f"(model, output, internal_batch_size)=({received[0].name!r}, {received[1]!r}, {received[2]}) "
                f"instead of ({model.name!r}, {self.output!r}, {self.internal_batch_size})"
            )
        self.explainer = explainer
        self._wraps = True

    @classmethod
    def wrap(
        cls, explainer: Explainer, *, num_samples: int = 50, noise_level: float = 0.15, seed: int | None = 0
    ) -> SmoothGrad:
        """SmoothGrad of `explainer`, with its model, output and internal batch size."""
        return cls(
            explainer.model,
            num_samples=num_samples,
            noise_level=noise_level,
            seed=seed,
            explainer=explainer,
            output=explainer.output,
            internal_batch_size=explainer.internal_batch_size,
        )

    def _attribute(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        batch, rank = tf.shape(x)[0], len(self.input_shape) + 1
        flat = tf.reshape(x, [batch, -1])
        sigma = self.noise_level * (tf.reduce_max(flat, axis=1) - tf.reduce_min(flat, axis=1))  # [B]
        noise = tf.random.stateless_normal([self.num_samples, *self.input_shape], seed=[self.seed, 0])  # [n, ...]
        noisy = x[tf.newaxis] + _broadcast_rows(sigma, rank)[tf.newaxis] * noise[:, tf.newaxis]  # [n, B, ...]
        rows = tf.reshape(noisy, [self.num_samples * batch, *self.input_shape])  # row s*B + b: [n*B, ...]
        attributions = self.explainer._attribute(rows, tf.tile(targets, [self.num_samples]))["attributions"]
        attributions = tf.reshape(attributions, tf.shape(noisy))  # [n, B, ...]
        return {"attributions": tf.reduce_mean(attributions, axis=0)}

    def get_config(self) -> dict[str, Any]:
        inner = (
            {"class_name": type(self.explainer).__name__, "config": self.explainer.get_config()}
            if self._wraps
            else None
        )
        return {
            **super().get_config(),
            "num_samples": self.num_samples,
            "noise_level": self.noise_level,
            "seed": self.seed,
            "explainer": inner,
        }

    @classmethod
    def from_config(cls, model: keras.Model, config: dict[str, Any]) -> SmoothGrad:
        """Rebuilds the SmoothGrad (and the explainer it wraps) of `model` from `get_config()`."""
        import tfxai.attribution  # the explainer classes, by name

        config = dict(config)
        inner = config.pop("explainer")
        if inner is not None:
            inner_class = getattr(tfxai.attribution, inner["class_name"])
            config["explainer"] = inner_class.from_config(model, inner["config"])
        return cls(model, **config)

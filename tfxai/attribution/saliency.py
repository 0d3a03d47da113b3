"""Saliency: the gradient of the explained output with respect to the input."""

from __future__ import annotations

import tensorflow as tf

from tfxai.attribution.base import Explainer


class Saliency(Explainer):
    """Gradient saliency `grad_x f_t(x)`.

    The vanilla gradient map of Simonyan et al. (2013), Eq. (2) ("w = df/dx at x0").
    All examples go through one batched gradient call (or chunks of
    `internal_batch_size` rows). See `Explainer` for the arguments and the call.

    Example:

    >>> explainer = tfxai.attribution.Saliency(model)
    >>> attributions = explainer(images)  # predicted class; same shape/dtype as images

    Reference:
        [Simonyan et al., 2013](https://arxiv.org/abs/1312.6034)

    Notes:
        The signed gradient is returned; the paper's map takes its absolute value and
        the maximum over channels, which is left to visualisation (`tfxai.viz`).
    """

    def _attribute(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"attributions": self._input_gradients(x, targets)}  # [B, ...]

"""Gradient x Input: the saliency map multiplied element-wise by the input."""

from __future__ import annotations

import tensorflow as tf

from tfxai.attribution.saliency import Saliency


class GradientInput(Saliency):
    """Gradient x Input, `x * grad_x f_t(x)`.

    For a linear model `f_t(x) = w.x + b` this is the contribution `w_j x_j` of each
    feature, and it equals Integrated Gradients with a zero baseline. See `Explainer`
    for the arguments and the call.

    Example:

    >>> attributions = tfxai.attribution.GradientInput(model)(images, labels)

    Reference:
        [Shrikumar et al., 2016](https://arxiv.org/abs/1605.01713)
    """

    def _attribute(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        gradients = super()._attribute(x, targets)["attributions"]  # [B, ...]
        return {"attributions": x * gradients}

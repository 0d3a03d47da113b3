"""Attributions: batched `tf.function` GradientTape explainers.

Every explainer binds a Keras classifier (logits) and its hyper-parameters, is called
as `explainer(x, targets=None)` and exposes a `tf.function` core for SavedModel export;
see `Explainer`.
"""

from tfxai.attribution.agi import AGI
from tfxai.attribution.base import Explainer, PathExplainer
from tfxai.attribution.baselines import gaussian_blur
from tfxai.attribution.blur_ig import BlurIG
from tfxai.attribution.boundary import BIG, BSM
from tfxai.attribution.gradient_input import GradientInput
from tfxai.attribution.integrated_gradients import IntegratedGradients
from tfxai.attribution.saliency import Saliency
from tfxai.attribution.smoothgrad import SmoothGrad

__all__ = [
    "AGI",
    "BIG",
    "BSM",
    "BlurIG",
    "Explainer",
    "GradientInput",
    "IntegratedGradients",
    "PathExplainer",
    "Saliency",
    "SmoothGrad",
    "gaussian_blur",
]

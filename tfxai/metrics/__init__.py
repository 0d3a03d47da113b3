"""Metrics: probability equations, faithfulness, robustness, localization, sanity, completeness."""

from tfxai.metrics.completeness import completeness
from tfxai.metrics.localization import (
    box_masks,
    concentration,
    energy_game,
    localization,
    localization_metrics,
    positive_percentage,
)
from tfxai.metrics.probability_equations import ProbabilityEquations, eq10_lhs, eq10_rhs, probability_equations
from tfxai.metrics.sanity import (
    SanityResult,
    label_randomization,
    model_randomization,
    spearman_correlation,
    structural_similarity,
)

__all__ = [
    "ProbabilityEquations",
    "SanityResult",
    "box_masks",
    "completeness",
    "concentration",
    "energy_game",
    "eq10_lhs",
    "eq10_rhs",
    "label_randomization",
    "localization",
    "localization_metrics",
    "model_randomization",
    "positive_percentage",
    "probability_equations",
    "spearman_correlation",
    "structural_similarity",
]

"""Metrics: probability equations, faithfulness, robustness, localization, sanity, completeness."""

from tfxai.metrics.completeness import completeness
from tfxai.metrics.faithfulness import deletion, insertion
from tfxai.metrics.localization import (
    box_masks,
    concentration,
    energy_game,
    localization,
    localization_metrics,
    positive_percentage,
)
from tfxai.metrics.probability_equations import ProbabilityEquations, eq10_lhs, eq10_rhs, probability_equations
from tfxai.metrics.robustness import (
    adversarial_accuracy,
    gradient_masking_checks,
    kendall_tau,
    robustness_report,
    top_k_intersection,
)
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
    "adversarial_accuracy",
    "box_masks",
    "completeness",
    "concentration",
    "deletion",
    "energy_game",
    "eq10_lhs",
    "eq10_rhs",
    "gradient_masking_checks",
    "insertion",
    "kendall_tau",
    "label_randomization",
    "localization",
    "localization_metrics",
    "model_randomization",
    "positive_percentage",
    "probability_equations",
    "robustness_report",
    "spearman_correlation",
    "structural_similarity",
    "top_k_intersection",
]

"""Metrics: probability equations, faithfulness, robustness, localization, sanity."""

from tfxai.metrics.probability_equations import ProbabilityEquations, eq10_lhs, eq10_rhs, probability_equations

__all__ = ["ProbabilityEquations", "eq10_lhs", "eq10_rhs", "probability_equations"]

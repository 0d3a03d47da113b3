"""Metrics: probability equations, faithfulness, robustness, localization, sanity."""

"""Adversarial attacks for robustness evaluation."""

"""Attributions: batched `tf.function` GradientTape explainers."""

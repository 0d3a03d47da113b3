"""Training: the classifier trainer library, loss schedules, robust training."""

"""Digits (scikit-learn's bundled 8x8 images; offline): CNN2C with same padding.

    --config=configs/digits.py:ce      (also :sml, :lgl, :lgl_inr, :pc)
"""

from tfxai.training.classifier import default_config


def get_config(loss: str = "ce"):
    config = default_config()
    config.dataset = "digits"
    config.validation_size = 0.1
    config.model = "cnn2c"
    config.model_kwargs.padding = "same"
    config.loss = loss
    config.optimizer = "adam"
    config.learning_rate = 1e-3
    config.batch_size = 64
    config.epochs = 30
    if loss == "pc":  # PC-loss protocol (METHODS §2): CE warm-up for T epochs, then PC loss for T epochs
        config.warmup_epochs = 15
    return config

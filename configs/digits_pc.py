"""The main job's training: digits with PC loss after a CE warm-up (15 + 15 epochs)."""

from tfxai.training.classifier import default_config


def get_config():
    config = default_config()
    config.dataset = "digits"
    config.validation_size = 0.1
    config.model = "cnn2c"
    config.model_kwargs.padding = "same"
    config.loss = "pc"
    config.loss_kwargs.margin = 0.995
    config.loss_kwargs.logit_weight = 0.05
    config.warmup_epochs = 15
    config.optimizer = "adam"
    config.learning_rate = 1e-3
    config.batch_size = 64
    config.epochs = 30
    return config

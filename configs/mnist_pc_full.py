"""The PC-loss paper's full MNIST protocol (needs MNIST through TFDS, i.e. network or a TFDS
data dir, and preferably a GPU): LeNet-5, Adam lr 0.01, batch 256, T = 50 (CE 2T baseline).

    --config=configs/mnist_pc_full.py:pc      (or :ce; also fashion_mnist via --config.dataset)
"""

from tfxai.training.classifier import default_config


def get_config(loss: str = "pc"):
    config = default_config()
    config.dataset = "mnist"
    config.validation_size = 5000
    config.model = "lenet5"
    config.loss = loss
    config.optimizer = "adam"
    config.learning_rate = 0.01
    config.batch_size = 256
    config.epochs = 100
    config.verbose = 2
    if loss == "pc":
        config.loss_kwargs.margin = 0.995
        config.loss_kwargs.logit_weight = 0.05
        config.warmup_epochs = 50
    return config

"""PC-loss paper protocol (Sec. "Experiments") scaled to mnist5k: LeNet-5, Adam lr 0.01,
batch 256; PC: CE warm-up T epochs then PC loss (margin 0.995, logit weight 0.05) T epochs;
baseline: CE for 2T epochs. T = 15 here (the paper: T = 50 on 60k images).

    --config=configs/mnist5k_pc.py:pc --config.data_dir=DIR      (or :ce)
"""

from tfxai.training.classifier import default_config

T = 15


def get_config(loss: str = "pc"):
    config = default_config()
    config.dataset = "mnist5k"
    config.data_dir = ""  # required: the folder holding mnist_5k.csv.gz
    config.model = "lenet5"
    config.loss = loss
    config.optimizer = "adam"
    config.learning_rate = 0.01
    config.batch_size = 256
    config.epochs = 2 * T
    if loss == "pc":
        config.loss_kwargs.margin = 0.995
        config.loss_kwargs.logit_weight = 0.05
        config.warmup_epochs = T
    return config

"""LGL-INR paper protocol (Sec. "Implementation details") on mnist5k: CNN2C, SGD lr 0.01,
momentum 0.5, batch 64, 20 epochs; seeded 4,000/1,000 split.

    --config=configs/mnist5k_cnn2c.py:lgl_inr --config.data_dir=DIR
    --config=configs/mnist5k_cnn2c.py:lgl_inr,imbalanced   (classes 0, 2, 5, 8 kept at 10 % in training)

Losses: sml (softmax CE), lgl (one-vs-all logistic), lgl_inr (beta = 1).
"""

from tfxai.training.classifier import default_config


def get_config(arg: str = "lgl_inr"):
    loss, *variant = arg.split(",")
    config = default_config()
    config.dataset = "mnist5k"
    config.data_dir = ""  # required: the folder holding mnist_5k.csv.gz
    config.model = "cnn2c"
    config.loss = loss
    config.optimizer = "sgd"
    config.learning_rate = 0.01
    config.momentum = 0.5
    config.batch_size = 64
    config.epochs = 20
    if variant == ["imbalanced"]:
        config.minority_classes = (0, 2, 5, 8)
        config.minority_fraction = 0.1
    elif variant:
        raise ValueError(f"Unknown variant {variant}; expected 'imbalanced' or nothing.")
    return config

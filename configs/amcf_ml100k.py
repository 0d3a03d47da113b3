"""AMCF on MovieLens 100K (Pan et al., 2020, Sec. 4): a base model alone and AMCF(base).

    --config=configs/amcf_ml100k.py:svd,120 --config.data_dir=/path/to/ml-100k
    (bases svd | ncf | fm, any dimension; a third part picks the optimiser recipe: :svd,120,adam)

`data_dir` is required: the GroupLens folder (u.data, u.item, u.genre); or pass
`--config.data_source=tfds` to read `movielens/100k-ratings` through TensorFlow Datasets.

Recipes:
- `authors` (default): the authors' code (train.explicit.py) converted to tfxai's mean-squared
  loss: SGD with parameter groups, embeddings initialised N(0, 1), λ = 0.03, batch 256,
  100 epochs. Their loss sums squared errors over the batch, so the same steps come from
  lr × 256 and weight decay / 256 on the mean: lr 7e-3 → 1.792 (aspect embeddings 7e-2, ×10),
  decay 0.1 → 3.9e-4 (embeddings, attention MLP), 3e-3 → 1.17e-5 (biases), 5e-3 → 1.95e-5 (aspects).
- `adam`: Adam lr 1e-3, coupled L2 1e-4, λ = 0.05, at most 50 epochs with early stopping
  (patience 3) on 10 % of the training ratings; not tuned otherwise. The authors' SGD recipe
  diverges (NaN) with the NCF and FM bases, which need this one.
"""

from tfxai.recsys.train import default_config

_BATCH = 256


def get_config(arg: str = "svd,120"):
    parts = arg.split(",")
    if len(parts) not in (2, 3) or not parts[1].isdigit():
        raise ValueError(f"Expected the config argument 'base,dim[,recipe]', e.g. 'svd,120'. Received: {arg!r}")
    base, dim, recipe = parts[0], int(parts[1]), parts[2] if len(parts) == 3 else "authors"
    config = default_config()
    config.data_dir = ""  # required: the MovieLens 100K folder
    config.base = base
    config.dim = dim
    config.batch_size = _BATCH
    if recipe == "authors":
        config.optimizer = "sgd"
        config.learning_rate = 7e-3 * _BATCH
        config.l2 = 0.1 / _BATCH
        config.parameter_groups.biases = dict(
            pattern="(user|item)_bias", learning_rate_multiplier=1.0, l2=3e-3 / _BATCH
        )
        config.parameter_groups.aspects = dict(
            pattern="aspect_embedding", learning_rate_multiplier=10.0, l2=5e-3 / _BATCH
        )
        config.embeddings_stddev = 1.0
        config.interpretation_weight = 0.03
        config.epochs = 100
    elif recipe == "adam":
        config.optimizer = "adam"
        config.learning_rate = 1e-3
        config.l2 = 1e-4
        config.interpretation_weight = 0.05
        config.epochs = 50
        config.validation_size = 0.1
        config.early_stopping_patience = 3
    else:
        raise ValueError(f"Unknown recipe {recipe!r}. Expected 'authors' or 'adam'.")
    return config

r"""Trains a base recommender and AMCF on MovieLens and scores ratings and explanations.

    python trainers/amcf.py --config=configs/amcf_ml100k.py:svd,120 \
        --config.data_dir=/path/to/ml-100k --workdir=runs/amcf_svd120
    python trainers/amcf.py --config=configs/amcf_ml100k.py:ncf,80 --config.data_source=tfds --workdir=...

Config fields can be overridden on the command line (`--config.epochs=5`). Run the same
command again after an interruption: it resumes where it stopped.
"""

from absl import app, flags
from ml_collections import config_flags

from tfxai.recsys import train

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, histories, models and results.json.")
_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Trainer config file (see configs/amcf_ml100k.py).", lock_config=True
)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)

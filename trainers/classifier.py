r"""Trains and evaluates a classifier from a config file.

    python trainers/classifier.py --config=configs/digits_pc.py --workdir=/tmp/digits_pc
    python trainers/classifier.py --config=configs/mnist5k_cnn2c.py:lgl_inr \
        --config.data_dir=/path/to/data --workdir=/tmp/mnist5k_lgl_inr

Config fields can be overridden on the command line (`--config.epochs=3`). Run the
same command again after an interruption: it resumes from the last finished epoch.
"""

from absl import app, flags
from ml_collections import config_flags

from tfxai.training import classifier

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs, the model and results.json.")
_CONFIG = config_flags.DEFINE_config_file("config", None, "Trainer config file (see configs/).", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    classifier.train_and_evaluate(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)

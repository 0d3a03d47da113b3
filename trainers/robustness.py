r"""Evaluates finished classifier runs under attack: the PC-loss paper's robustness table,
gradient-masking checks and most-probable-false-class shares.

    python trainers/robustness.py --config=configs/robustness_mnist5k.py --workdir=runs/mnist5k_pc/pc/seed_0
    python trainers/robustness.py --config=configs/robustness_mnist5k.py --workdir=runs/mnist5k_pc \
        --config.num_examples=500

`--workdir` is one run (holding `model.keras` and `config.json`) or a folder of runs
(`<variant>/seed_<s>/`, as trainers/compare.py writes); each run receives `robustness.json`
and `robustness.md`, a folder of several runs also `robustness_comparison.{json,md}`. Run the
same command again after an interruption: finished attack cells are read back from
`<run>/robustness_cache/`.
"""

from absl import app, flags
from ml_collections import config_flags

from tfxai.training import robustness_eval

_WORKDIR = flags.DEFINE_string("workdir", None, "A finished classifier run, or a folder of runs.")
_CONFIG = config_flags.DEFINE_config_file("config", None, "Evaluation config file (see configs/).", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    robustness_eval.evaluate_workdir(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)

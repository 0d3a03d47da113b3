r"""Trains several variants of a config over seeds and prints a comparison table.

    python trainers/compare.py --config=configs/mnist5k_cnn2c.py --variants=sml,lgl,lgl_inr \
        --seeds=0,1,2 --override=data_dir=/path/to/data --workdir=runs/lgl_inr_table

A variant is the config file's `get_config` argument, with `+` for `,` (e.g. `sml+imbalanced`).
Interrupted comparisons resume: finished runs are read back.
"""

from absl import app, flags

from tfxai.training import comparison

_CONFIG = flags.DEFINE_string("config", None, "Config file whose get_config(variant) builds each run.")
_VARIANTS = flags.DEFINE_list("variants", None, "get_config arguments to compare ('+' stands for ',').")
_SEEDS = flags.DEFINE_list("seeds", ["0"], "Seeds; each variant is trained once per seed.")
_OVERRIDES = flags.DEFINE_multi_string("override", [], "field=value applied to every run's config.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder (one sub-folder per variant and seed).")
flags.mark_flags_as_required(["config", "variants", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    malformed = [item for item in _OVERRIDES.value if "=" not in item]
    if malformed:
        raise app.UsageError(f"--override expects field=value. Received: {malformed}")
    overrides = dict(item.split("=", 1) for item in _OVERRIDES.value)
    comparison.run_comparison(_CONFIG.value, _VARIANTS.value, [int(s) for s in _SEEDS.value], _WORKDIR.value,
                              overrides)


if __name__ == "__main__":
    app.run(main)

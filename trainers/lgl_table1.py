r"""Reproduces Table 1 of the LGL paper: the binary probability equation, Eq. (10), in simulation.

    python trainers/lgl_table1.py --runs=100 --output_dir=/tmp/table1

Writes `results.json` (every run's numbers and convergence diagnostics) and `table1.md` (the table
next to the paper's values) to `--output_dir` and prints the table. Takes a few minutes on 2 CPUs
(Sim2 fits 300 small sigmoid networks to a stationary point).
"""

import json
import pathlib

from absl import app, flags

from tfxai.experiments import lgl_table1

_RUNS = flags.DEFINE_integer("runs", 100, "Independent runs per simulation (the paper uses 100).", lower_bound=2)
_SEED = flags.DEFINE_integer("seed", 0, "Base seed; run r of a simulation uses seed [seed, simulation, r].")
_SIMULATIONS = flags.DEFINE_list("simulations", list(lgl_table1.SIMULATIONS), "Simulations to run: sim1, sim2.")
_WEIGHT_DECAY = flags.DEFINE_float("weight_decay", 1e-5, "L2 on the Sim2 network's non-bias weights.", lower_bound=0.0)
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Directory for results.json and table1.md.")
flags.mark_flag_as_required("output_dir")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    results = lgl_table1.reproduce_table1(
        _RUNS.value,
        _SEED.value,
        simulations=tuple(_SIMULATIONS.value),
        weight_decay=_WEIGHT_DECAY.value,
        progress=lambda message: print(message, flush=True),
    )
    table = lgl_table1.format_table1(results)
    output_dir = pathlib.Path(_OUTPUT_DIR.value)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "results.json").write_text(json.dumps(results, indent=1))
    (output_dir / "table1.md").write_text(table)
    print(table)


if __name__ == "__main__":
    app.run(main)

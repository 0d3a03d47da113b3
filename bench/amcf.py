r"""Speed of AMCF against its base model: one training epoch each on the same ratings.

    python bench/amcf.py                      # SVD, dim 120, the config's default (authors') recipe
    python bench/amcf.py --base=ncf --dim=80 --repeats=5 --data_dir=/path/to/ml-100k

Both models train with the optimiser of `configs/amcf_ml100k.py` on the same seeded 80 % of
MovieLens 100K. After one warm-up epoch (tracing), epochs of the two models alternate so that a
change in machine load hits both; the table gives the median epoch wall time and process CPU
time (all threads; less sensitive than wall time to other jobs on a shared machine), training and
scoring throughput (ratings per second) and the AMCF/base ratios (the issue's target: <= 1.5x).
"""

import importlib.util
import os
import pathlib
import statistics
import time

import keras
from absl import app, flags

from tfxai.recsys import train

REPO = pathlib.Path(__file__).resolve().parents[1]

_DATA_DIR = flags.DEFINE_string(
    "data_dir", str(REPO.parent / "shared" / "data" / "ml-100k"), "MovieLens 100K folder (u.data, u.item, u.genre)."
)
_BASE = flags.DEFINE_enum("base", "svd", ["svd", "ncf", "fm"], "Base model.")
_DIM = flags.DEFINE_integer("dim", 120, "Embedding dimension.")
_RECIPE = flags.DEFINE_enum("recipe", "authors", ["authors", "adam"], "Optimiser recipe of the config.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed epochs per model.")


def _config():
    spec = importlib.util.spec_from_file_location("amcf_ml100k", REPO / "configs" / "amcf_ml100k.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config(f"{_BASE.value},{_DIM.value},{_RECIPE.value}")
    config.data_dir = _DATA_DIR.value
    return config


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    config = _config()
    data = train.load_data(config)
    train_ratings, test_ratings = data.split(config.test_size, seed=config.seed)
    fit_data = data.pipeline(train_ratings, config.batch_size, shuffle=True, seed=config.seed)
    score_data = data.pipeline(test_ratings, 4096)
    models = {}
    for kind in train.MODEL_KINDS:
        keras.utils.set_random_seed(config.seed)
        model = train.build_model(config, data, kind, float(train_ratings.ratings.mean()))
        model.compile(optimizer=train.build_optimizer(config), loss="mse")
        model.fit(fit_data, epochs=1, shuffle=False, verbose=0)  # warm-up: traces the train step
        model.predict(score_data, verbose=0)
        models[kind] = model
    epoch, cpu, scoring = ({kind: [] for kind in models} for _ in range(3))
    for _ in range(_REPEATS.value):
        for kind, model in models.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            model.fit(fit_data, epochs=1, shuffle=False, verbose=0)
            epoch[kind].append(time.perf_counter() - started)
            cpu[kind].append(time.process_time() - started_cpu)
            started = time.perf_counter()
            model.predict(score_data, verbose=0)
            scoring[kind].append(time.perf_counter() - started)
    base_name = config.base.upper()
    names = {"base": base_name, "amcf": f"AMCF({base_name})"}
    print(
        f"{data.summary()}; {len(train_ratings)} training ratings, batch {config.batch_size}, "
        f"dim {config.dim}, {config.optimizer} ({_RECIPE.value} recipe), median of {_REPEATS.value} epochs, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print("| model | epoch wall (s) | epoch CPU (s) | training ratings/s | scoring ratings/s |\n|---|---|---|---|---|")
    median = {kind: statistics.median(epoch[kind]) for kind in models}
    median_cpu = {kind: statistics.median(cpu[kind]) for kind in models}
    for kind in models:
        print(
            f"| {names[kind]} | {median[kind]:.2f} | {median_cpu[kind]:.2f} | {len(train_ratings) / median[kind]:,.0f} | "
            f"{len(test_ratings) / statistics.median(scoring[kind]):,.0f} |"
        )
    print(
        f"AMCF / base epoch time: {median['amcf'] / median['base']:.2f}x wall, "
        f"{median_cpu['amcf'] / median_cpu['base']:.2f}x CPU (target <= 1.5x)"
    )


if __name__ == "__main__":
    app.run(main)

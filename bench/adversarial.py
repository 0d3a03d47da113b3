"""Cost of an adversarial training step relative to a clean step.

LeNet-5 (the PC-loss paper's MNIST model) on a batch of B 28x28x1 images, Adam. One step of
`tfxai.training.adversarial.AdversarialModel` crafts the adversarial half (FGSM: one forward +
backward pass w.r.t. the inputs; PGD-k: k of them) and then fits the doubled 2B batch, so its
natural bound is "clean step on 2B + the attack alone". The table prints, per row, the median
and fastest wall time and the median process CPU time, as ratios to the clean step on B (the
price of adversarial training) and, for the adversarial rows, to that bound (the wrapper's
overhead). Steps go through `train_on_batch`, whose per-call Python overhead every row shares.

    python bench/adversarial.py [--repeats 9] [--batch_size 256] [--pgd_steps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np
import tensorflow as tf

from tfxai.models import build
from tfxai.training.adversarial import AdversarialModel


def _timings(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Wall and process-CPU seconds per repeat, after one warm-up call each, interleaved in rotating order."""
    for fn in functions.values():
        fn()  # warm-up: tracing
    times = {name: {"wall": [], "cpu": []} for name in functions}
    names = list(functions)
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            functions[name]()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return times


def _compiled(model: keras.Model) -> keras.Model:
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats after the warm-up (>= 5)")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--pgd_steps", type=int, default=5)
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error(f"--repeats must be >= 5. Received: {args.repeats}")

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(args.batch_size, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, size=args.batch_size).astype("int32")
    x2, y2 = np.concatenate([x, x]), np.concatenate([y, y])
    keras.utils.set_random_seed(0)
    clean = _compiled(build("lenet5", (28, 28, 1), 10))
    fgsm = _compiled(AdversarialModel(build("lenet5", (28, 28, 1), 10), attack="fgsm", epsilon=(0.1, 0.3)))
    pgd = _compiled(
        AdversarialModel(build("lenet5", (28, 28, 1), 10), attack="pgd", epsilon=(0.1, 0.3), steps=args.pgd_steps)
    )
    attack_fgsm = tf.function(lambda: fgsm.adversarial_examples(x, y, fgsm.optimizer.iterations)[0])
    attack_pgd = tf.function(lambda: pgd.adversarial_examples(x, y, pgd.optimizer.iterations)[0])
    rows = {
        "clean step (B)": lambda: clean.train_on_batch(x, y),
        "clean step (2B)": lambda: clean.train_on_batch(x2, y2),
        "FGSM attack alone (B)": lambda: np.asarray(attack_fgsm()),
        f"PGD-{args.pgd_steps} attack alone (B)": lambda: np.asarray(attack_pgd()),
        "AdversarialModel FGSM step": lambda: fgsm.train_on_batch(x, y),
        f"AdversarialModel PGD-{args.pgd_steps} step": lambda: pgd.train_on_batch(x, y),
    }
    bounds = {
        "AdversarialModel FGSM step": ("clean step (2B)", "FGSM attack alone (B)"),
        f"AdversarialModel PGD-{args.pgd_steps} step": ("clean step (2B)", f"PGD-{args.pgd_steps} attack alone (B)"),
    }
    print(
        f"LeNet-5, batch B = {args.batch_size} x 28x28x1, Adam, {args.repeats} repeats after warm-up, "
        f"TF {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs"
    )
    times = _timings(rows, args.repeats)
    stats = {
        "wall median": lambda t: statistics.median(t["wall"]),
        "wall min": lambda t: min(t["wall"]),
        "cpu median": lambda t: statistics.median(t["cpu"]),
    }
    reference = times["clean step (B)"]
    print(f"{'step':32s}" + "".join(f" {column:>12s} {'x clean':>8s} {'x bound':>8s}" for column in stats))
    for name in rows:
        cells = []
        for stat in stats.values():
            seconds = stat(times[name])
            bound = sum(stat(times[part]) for part in bounds[name]) if name in bounds else None
            cells.append(
                f" {seconds:12.4f} {seconds / stat(reference):8.2f} "
                + (f"{seconds / bound:8.2f}" if bound else f"{'':8s}")
            )
        print(f"{name:32s}" + "".join(cells))
    print("bound = clean step (2B) + the attack alone (B)")


if __name__ == "__main__":
    main()

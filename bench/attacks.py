"""Speed of the PGD attack against its gradient-evaluation bound and cleverhans.

PGD-40 on a batch of 256 28x28x1 images through LeNet-5 (the PC-loss paper's MNIST model)
costs at least 40 batched forward + backward passes; the bound runs exactly those in one
graph loop. After a warm-up that traces the graphs, with repeats interleaved across
methods in a rotating order, the table prints the median and the fastest wall time and
the median process CPU time of each method, with its ratio to the bound's; the last two
are less sensitive to other processes on shared cores. cleverhans' TF2 PGD is timed when
installed (`pip install --no-deps cleverhans`).

    python bench/attacks.py [--repeats 7] [--batch_size 256] [--steps 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxai.attacks import pgd  # noqa: E402
from tfxai.models import build  # noqa: E402

EPSILON = 0.3
STEP_SIZE = 0.01


@tf.function
def _gradient_passes(model: Callable, x: tf.Tensor, y: tf.Tensor, steps: tf.Tensor) -> tf.Tensor:
    """The bound: `steps` batched forward + backward passes of the CE loss w.r.t. the input.

    Each pass feeds the next (a bare sign step, no projection) so that no pass is loop
    invariant: otherwise Grappler may hoist the forward pass out of the loop.
    """

    def body(i, x_t):
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x_t, training=False))
        return i + 1, x_t + STEP_SIZE * tf.sign(tape.gradient(loss, x_t))

    _, x_last = tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), x), parallel_iterations=1)
    return x_last


def _timings(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Wall and process-CPU seconds of each function per repeat, after one warm-up call each.

    Repeats are interleaved across functions, in a rotating order, so that load drift hits
    all of them alike.
    """
    for fn in functions.values():
        np.asarray(fn())  # warm-up: tracing
    times = {name: {"wall": [], "cpu": []} for name in functions}
    names = list(functions)
    for repeat in range(repeats):
        # Rotate the order: whichever function runs first in a round measured slower here.
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            np.asarray(functions[name]())  # forces the result
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats after the warm-up (>= 5)")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error(f"--repeats must be >= 5. Received: {args.repeats}")

    model = build("lenet5", (28, 28, 1), 10)
    rng = np.random.default_rng(0)
    x_np = rng.uniform(size=(args.batch_size, 28, 28, 1)).astype("float32")
    y_np = rng.integers(0, 10, size=args.batch_size).astype("int32")
    x, y = tf.constant(x_np), tf.constant(y_np)

    rows = {
        f"bound: {args.steps} x (forward + backward)": lambda: _gradient_passes(model, x, y, tf.constant(args.steps)),
        "tfxai.attacks.pgd": lambda: pgd(model, x_np, y_np, epsilon=EPSILON, step_size=STEP_SIZE, steps=args.steps),
    }
    try:
        from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent
    except ImportError:
        print("cleverhans not installed: its row is skipped (pip install --no-deps cleverhans)")
    else:
        rows["cleverhans projected_gradient_descent"] = lambda: projected_gradient_descent(
            lambda t: model(t, training=False),
            x,
            EPSILON,
            STEP_SIZE,
            args.steps,
            np.inf,
            clip_min=0.0,
            clip_max=1.0,
            y=y,
            rand_init=True,
        )

    print(
        f"PGD-{args.steps}, LeNet-5, batch {args.batch_size} x 28x28x1, {args.repeats} repeats after warm-up, "
        f"TF {tf.__version__}, {os.cpu_count()} CPUs"
    )
    times = _timings(rows, args.repeats)
    columns = {
        "wall median": lambda t: statistics.median(t["wall"]),
        "wall min": lambda t: min(t["wall"]),
        "cpu median": lambda t: statistics.median(t["cpu"]),
    }
    bound = times[next(iter(rows))]
    print(f"{'method':40s}" + "".join(f" {column:>12s} {'x bound':>8s}" for column in columns))
    for name in rows:
        cells = [(stat(times[name]), stat(times[name]) / stat(bound)) for stat in columns.values()]
        print(f"{name:40s}" + "".join(f" {seconds:12.3f} {ratio:8.2f}" for seconds, ratio in cells))


if __name__ == "__main__":
    main()

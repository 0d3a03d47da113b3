"""Speed of the IG and AGI explainers against their gradient-evaluation bound and a per-class loop.

On LeNet-5 with 28x28x1 inputs and a batch of 16:

- IG with 50 steps differentiates 16 x 50 rows; its bound is one batched forward + backward
  pass over those 800 rows.
- AGI with k = 9 false classes and m = 20 steps differentiates up to 16 x 9 rows per step,
  each with one forward and two backward passes (f_i gives the direction, f_t the
  integrand). A row needs its steps plus the evaluation that finds it arrived; AGI
  differentiates only those. The bound is one batched forward + backward pass over that
  many rows, the floor one forward and two backward passes over them. The per-class loop
  runs the shape of the authors' code: a Python loop over the k classes and the steps
  (breaking when the whole batch has arrived), one compiled step per call on the 16
  examples. Two step sizes are timed: the paper's epsilon = 0.05 (paths stop early on
  this untrained model) and epsilon = 1e-4 (no path arrives: every row runs m steps).

The table prints the median wall and CPU (process) time of each row over the repeats,
after a warm-up call that traces the graphs, and its ratio to the reference row of its
block. CPU time is the steadier figure on a shared machine.

    python bench/attribution.py [--repeats 7] [--batch_size 16]
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

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxai.attribution import AGI, IntegratedGradients  # noqa: E402
from tfxai.models import build  # noqa: E402

IG_STEPS = 50
AGI_CLASSES = 9
AGI_STEPS = 20


def _bound(model: tf.keras.Model) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """One batched forward + backward pass of the target logits w.r.t. the input rows."""

    @tf.function(reduce_retracing=True)
    def gradients(x: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            selected = tf.gather(model(x, training=False), targets, batch_dims=1)
        return tape.gradient(selected, x)

    return gradients


def _two_gradient_bound(model: tf.keras.Model) -> Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]:
    """AGI's floor: one forward pass and the two input gradients (of f_t and f_i) per row."""

    @tf.function(reduce_retracing=True)
    def gradients(x: tf.Tensor, targets: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            probabilities = tf.nn.softmax(model(x, training=False))
            f_t = tf.gather(probabilities, targets, batch_dims=1)
            f_i = tf.gather(probabilities, classes, batch_dims=1)
        return tape.gradient(f_t, x) + tape.gradient(f_i, x)

    return gradients


def _per_class_loop(model: tf.keras.Model, epsilon: float) -> Callable[..., tf.Tensor]:
    """AGI as the authors' code is shaped: loops over classes and steps, one compiled step per call."""

    @tf.function(reduce_retracing=True)
    def step(x: tf.Tensor, targets: tf.Tensor, classes: tf.Tensor):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            probabilities = tf.nn.softmax(model(x, training=False))
            f_i = tf.gather(probabilities, classes, batch_dims=1)
            f_t = tf.gather(probabilities, targets, batch_dims=1)
        grad_i, grad_t = tape.gradient(f_i, x), tape.gradient(f_t, x)
        active = tf.not_equal(tf.argmax(probabilities, axis=-1, output_type=tf.int32), classes)
        proposal = tf.clip_by_value(x + epsilon * tf.sign(grad_i), 0.0, 1.0)
        moving = active[:, None, None, None]
        return tf.where(moving, proposal, x), tf.where(moving, -grad_t * (proposal - x), 0.0), tf.reduce_any(active)

    def run(x: tf.Tensor, targets: tf.Tensor, classes: np.ndarray) -> tf.Tensor:
        total = tf.zeros_like(x)
        for j in range(classes.shape[1]):
            point, column = x, tf.constant(classes[:, j])
            for _ in range(AGI_STEPS):
                point, increment, any_active = step(point, targets, column)
                total += increment
                if not bool(any_active):
                    break
        return total

    return run


def _timings(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    np.asarray(fn())  # warm-up: tracing
    wall, cpu = [], []
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        np.asarray(fn())  # forces the result
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu)}


def _print_block(title: str, rows: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, float]]:
    """Times the rows, prints them with their ratio to the first row, returns the medians."""
    times = {name: _timings(fn, repeats) for name, fn in rows.items()}
    reference = times[next(iter(rows))]
    print(f"\n{title}")
    print(f"{'':58s} {'wall s':>8s} {'ratio':>6s} {'cpu s':>8s} {'ratio':>6s}")
    for name, t in times.items():
        print(
            f"{name:58s} {t['wall']:8.3f} {t['wall'] / reference['wall']:6.2f}"
            f" {t['cpu']:8.3f} {t['cpu'] / reference['cpu']:6.2f}"
        )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats after the warm-up (>= 5)")
    parser.add_argument("--batch_size", type=int, default=16)
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error(f"--repeats must be >= 5. Received: {args.repeats}")

    tf.keras.utils.set_random_seed(0)
    model = build("lenet5", (28, 28, 1), 10)
    batch = args.batch_size
    x_np = np.random.default_rng(0).uniform(size=(batch, 28, 28, 1)).astype("float32")
    x = tf.constant(x_np)
    predicted = tf.argmax(model(x, training=False), axis=-1, output_type=tf.int32)
    bound = _bound(model)
    print(
        f"LeNet-5 (untrained), batch {batch} x 28x28x1, median of {args.repeats} repeats after warm-up, "
        f"TF {tf.__version__}, {os.cpu_count()} CPUs"
    )

    ig = IntegratedGradients(model, steps=IG_STEPS)
    ig_rows = tf.tile(x, [IG_STEPS, 1, 1, 1])
    _print_block(
        f"IG, {IG_STEPS} steps ({batch * IG_STEPS} rows)",
        {
            f"bound: 1 x (forward + backward) on {batch * IG_STEPS} rows": lambda: bound(
                ig_rows, tf.tile(predicted, [IG_STEPS])
            ),
            "tfxai IntegratedGradients": lambda: ig(x_np),
        },
        args.repeats,
    )

    for epsilon in (0.05, 1e-4):
        _agi_block(model, x, predicted, bound, epsilon, args.repeats)


def _agi_block(
    model: tf.keras.Model,
    x: tf.Tensor,
    predicted: tf.Tensor,
    bound: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
    epsilon: float,
    repeats: int,
) -> None:
    """Times AGI against its bound and the per-class loop for one step size."""
    batch, x_np = int(x.shape[0]), x.numpy()
    agi = AGI(model, epsilon=epsilon, max_steps=AGI_STEPS, num_false_classes=AGI_CLASSES, return_per_class=True)
    _, details = agi(x_np)
    classes, steps = details["false_classes"].numpy(), details["num_steps"].numpy()
    evaluated = int(np.sum(steps + (steps < AGI_STEPS)))  # steps taken + the check that stopped the row
    rows = tf.tile(x, [evaluated // batch + 1, 1, 1, 1])[:evaluated]
    zeros = tf.zeros([evaluated], tf.int32)
    two_gradients = _two_gradient_bound(model)
    loop = _per_class_loop(model, epsilon)
    agi_name, loop_name = "tfxai AGI (batched [B*k] rows, masked)", f"per-class loop (authors' shape), batch of {batch}"
    times = _print_block(
        f"AGI, k={AGI_CLASSES}, m={AGI_STEPS}, epsilon={epsilon}: mean path length "
        f"{steps.mean():.1f} steps, {evaluated} row evaluations",
        {
            f"bound: 1 x (forward + backward) on {evaluated} rows": lambda: bound(rows, zeros),
            f"floor: 1 x (forward + 2 backward) on {evaluated} rows": lambda: two_gradients(rows, zeros, zeros + 1),
            agi_name: lambda: agi(x_np)[0],
            loop_name: lambda: loop(x, predicted, classes),
        },
        repeats,
    )
    batched, looped = times[agi_name], times[loop_name]
    print(
        f"{'speed-up of batched AGI over the per-class loop':58s} {looped['wall'] / batched['wall']:15.2f}"
        f" {looped['cpu'] / batched['cpu']:15.2f}"
    )


if __name__ == "__main__":
    main()

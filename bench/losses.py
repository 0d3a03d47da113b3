"""Times one training step (forward, backward, Adam update) of CNN2C with CE, LGL-INR and PC loss.

    python bench/losses.py [--batch_sizes 64 256] [--repeats 15] [--steps 10] [--threads 0]

Each loss gets its own copy of the same model (same initial weights), compiled with that loss;
the step is Keras' `train_step` inside one `tf.function`. After a warm-up (tracing), the losses
are timed in interleaved rounds of `--steps` steps, so that load from other processes hits all
of them alike. Printed per loss: the median wall-clock ms per step over the rounds, the median
of the per-round ratios to CE in wall-clock and in process CPU time (target <= 1.10), and the
median time of the loss alone (forward + gradient w.r.t. the logits, in its own `tf.function`),
in microseconds, which shows how much of a step is the loss. On a shared machine the CPU-time
ratio is the steadier figure (waiting for a core does not count); the load average is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxai import losses  # noqa: E402

LOSSES = ("ce", "lgl_inr", "pc")


@dataclasses.dataclass
class Result:
    step_ms: float  # median wall-clock ms per training step
    wall_ratio: float  # median over the rounds of (this loss / CE), wall clock
    cpu_ratio: float  # the same in process CPU time
    loss_us: float  # median wall-clock µs of the loss alone (forward + gradient)


def build_model() -> tuple[keras.Model, str]:
    """CNN2C from the zoo, or the same architecture inline if the zoo is not importable."""
    try:
        from tfxai import models

        return models.build("cnn2c", (28, 28, 1), 10), "tfxai.models cnn2c"
    except (ImportError, AttributeError):
        inputs = keras.Input((28, 28, 1))
        x = keras.layers.Conv2D(20, 5, activation="relu")(inputs)
        x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.Conv2D(50, 5, activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
        outputs = keras.layers.Dense(10)(keras.layers.Flatten()(x))
        return keras.Model(inputs, outputs), "inline CNN2C"


def make_step(loss_name: str, seed: int):
    """A traced train step of a fresh CNN2C compiled with the named loss."""
    keras.utils.set_random_seed(seed)
    model, _ = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.get(loss_name))
    return tf.function(model.train_step)


def make_loss_only(loss_name: str):
    """A traced forward + backward pass of the named loss alone, on given logits."""
    loss = losses.get(loss_name)

    @tf.function
    def loss_and_gradient(labels, logits):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            value = loss(labels, logits)
        return {"loss": value, "gradient": tape.gradient(value, logits)}

    return lambda data: loss_and_gradient(*data)


def time_steps(step, data, steps: int) -> tuple[float, float]:
    """Wall-clock and process CPU milliseconds per step over `steps` consecutive steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        logs = step(data)
    float(logs["loss"])  # wait for the last step
    return 1000 * (time.perf_counter() - wall) / steps, 1000 * (time.process_time() - cpu) / steps


def bench(batch_size: int, repeats: int, steps: int, warmup: int, seed: int) -> dict[str, Result]:
    rng = np.random.default_rng(seed)
    labels = tf.constant(rng.integers(0, 10, size=batch_size).astype("int32"))
    images = tf.constant(rng.uniform(size=(batch_size, 28, 28, 1)).astype("float32"))
    logits = tf.constant(rng.normal(size=(batch_size, 10)).astype("float32"))
    step_fns = {name: make_step(name, seed) for name in LOSSES}
    loss_fns = {name: make_loss_only(name) for name in LOSSES}
    for name in LOSSES:
        time_steps(step_fns[name], (images, labels), warmup)
        time_steps(loss_fns[name], (labels, logits), warmup)
    wall: dict[str, list[float]] = {name: [] for name in LOSSES}
    cpu: dict[str, list[float]] = {name: [] for name in LOSSES}
    loss_only: dict[str, list[float]] = {name: [] for name in LOSSES}
    for _ in range(repeats):
        for name in LOSSES:
            wall_ms, cpu_ms = time_steps(step_fns[name], (images, labels), steps)
            wall[name].append(wall_ms)
            cpu[name].append(cpu_ms)
            loss_only[name].append(1000 * time_steps(loss_fns[name], (labels, logits), 10 * steps)[0])

    def ratio(times: dict[str, list[float]], name: str) -> float:
        return statistics.median(t / ce for t, ce in zip(times[name], times["ce"]))

    return {
        name: Result(
            statistics.median(wall[name]), ratio(wall, name), ratio(cpu, name), statistics.median(loss_only[name])
        )
        for name in LOSSES
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per loss (medians reported)")
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (tracing)")
    parser.add_argument("--threads", type=int, default=0, help="TF intra- and inter-op threads (0: TF's default)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error(f"--repeats: expected >= 5 for a stable median. Received: {args.repeats}")
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    print(
        f"model: {build_model()[1]}, TF {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU(s), "
        f"threads {args.threads or 'default'}, {args.repeats} rounds x {args.steps} steps"
    )
    print(
        f"{'batch':>5}  {'loss':<8} {'ms/step':>8}  {'vs CE (wall)':>12}  {'vs CE (CPU)':>11}  {'loss alone (us)':>15}"
    )
    for batch_size in args.batch_sizes:
        for name, result in bench(batch_size, args.repeats, args.steps, args.warmup, args.seed).items():
            print(
                f"{batch_size:>5}  {name:<8} {result.step_ms:>8.2f}  {result.wall_ratio:>11.2f}x  "
                f"{result.cpu_ratio:>10.2f}x  {result.loss_us:>15.0f}"
            )
    print("load average (1, 5, 15 min): " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()

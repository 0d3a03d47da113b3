"""The classifier trainer: data -> model -> loss -> fit -> evaluate -> artefacts in a workdir.

`trainers/classifier.py` is a thin absl app around `train_and_evaluate(config, workdir)`.
The work directory receives:

| path | what |
|---|---|
| `backup/` | the resume state (weights, optimizer, epoch), written every epoch and removed at the end |
| `checkpoints/epoch_NNN.weights.h5` | weights after every epoch |
| `history.csv` | per-epoch metrics, appended across interruptions |
| `tensorboard/` | TensorBoard logs |
| `model.keras` | the final model (compiled with its tfxai loss; loads without `custom_objects`) |
| `results.json` | config, data summary, test accuracy (overall, per class, minority classes), timing |

An interrupted run started again with the same `workdir` resumes from the last
finished epoch (`keras.callbacks.BackupAndRestore`); a finished run is not trained again.
"""

from __future__ import annotations

import csv
import json
import pathlib
import platform
import time
from typing import Any

import keras
import ml_collections
import numpy as np
import tensorflow as tf

import tfxai
from tfxai import data as data_lib
from tfxai import losses as losses_lib
from tfxai import models as models_lib
from tfxai.training import schedules

_OPTIMIZERS = ("sgd", "adam")
_PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def default_config() -> ml_collections.ConfigDict:
    """Every field the trainer reads, with its default (configs in `configs/` override some)."""
    config = ml_collections.ConfigDict()
    config.dataset = "digits"  # a name of tfxai.data.NAMES
    config.data_dir = ""  # folder of mnist_5k.csv.gz, or a TFDS data dir
    config.data_path = ""  # the .npz file of dataset="npz"
    config.test_size = ml_collections.config_dict.placeholder(float)  # None: the data set's default
    config.validation_size = 0.0  # fraction (or count) of the training split held out
    config.minority_classes = ()  # classes subsampled in the training split (imbalanced variants)
    config.minority_fraction = 1.0  # fraction of each minority class kept
    config.model = "cnn2c"  # a name of tfxai.models.MODELS
    config.model_kwargs = ml_collections.ConfigDict()
    config.loss = "ce"  # ce | sml | lgl | lgl_inr | pc
    config.loss_kwargs = ml_collections.ConfigDict()
    config.warmup_epochs = 0  # > 0: train with warmup_loss for that many epochs, then with loss
    config.warmup_loss = "ce"
    config.optimizer = "adam"  # sgd | adam
    config.learning_rate = 1e-3
    config.momentum = 0.0  # sgd only
    config.batch_size = 64
    config.epochs = 10
    config.precision = "float32"  # float32 | mixed_float16 | mixed_bfloat16
    config.seed = 0
    config.verbose = 1  # Keras progress: 1 = progress bar, 2 = one line per epoch
    return config


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Checks a trainer config early, with messages naming the field."""
    required = ("dataset", "model", "loss", "optimizer", "learning_rate", "batch_size", "epochs", "seed")
    missing = [key for key in required if key not in config]
    if missing:
        raise ValueError(f"The config lacks the fields {missing}. See configs/digits_pc.py for a complete config.")
    if config.dataset not in data_lib.NAMES:
        raise ValueError(f"config.dataset: unknown data set {config.dataset!r}. Expected one of {list(data_lib.NAMES)}.")
    if config.model not in models_lib.MODELS:
        raise ValueError(f"config.model: unknown model {config.model!r}. Expected one of {sorted(models_lib.MODELS)}.")
    for key in ("loss", "warmup_loss"):
        if config.get(key, "ce") not in losses_lib.NAMES:
            raise ValueError(f"config.{key}: Unknown loss name {config[key]!r}. Expected one of {list(losses_lib.NAMES)}.")
    if config.optimizer not in _OPTIMIZERS:
        raise ValueError(f"config.optimizer: expected one of {_OPTIMIZERS}. Received: {config.optimizer!r}.")
    if config.get("precision", "float32") not in _PRECISIONS:
        raise ValueError(f"config.precision: expected one of {_PRECISIONS}. Received: {config.precision!r}.")
    for key in ("batch_size", "epochs"):
        if not isinstance(config[key], int) or config[key] < 1:
            raise ValueError(f"config.{key}: expected a positive int. Received: {config[key]!r}.")
    warmup = config.get("warmup_epochs", 0)
    if not isinstance(warmup, int) or not 0 <= warmup < config.epochs:
        raise ValueError(
            f"config.warmup_epochs: expected an int in [0, epochs={config.epochs}). Received: {warmup!r}."
        )
    if not config.learning_rate > 0:
        raise ValueError(f"config.learning_rate: expected > 0. Received: {config.learning_rate!r}.")


def load_dataset(config: ml_collections.ConfigDict) -> data_lib.Dataset:
    """The configured data set (`dataset`, `data_dir`, `data_path`, splits, imbalance)."""
    minority = tuple(config.get("minority_classes", ()))
    fraction = config.get("minority_fraction", 1.0)
    return data_lib.load(
        config.dataset,
        data_dir=config.get("data_dir") or None,
        path=config.get("data_path") or None,
        seed=config.seed,
        test_size=config.get("test_size"),
        validation_size=config.get("validation_size", 0),
        train_class_fraction={c: fraction for c in minority} if minority and fraction < 1 else None,
    )


def build_loss(config: ml_collections.ConfigDict) -> keras.losses.Loss:
    """The configured loss, wrapped in a CE warm-up when `warmup_epochs > 0`."""
    loss = losses_lib.get(config.loss, **dict(config.get("loss_kwargs", {})))
    if config.get("warmup_epochs", 0):
        return schedules.WarmupLoss(losses_lib.get(config.get("warmup_loss", "ce")), loss, config.warmup_epochs)
    return loss


def build_optimizer(config: ml_collections.ConfigDict) -> keras.optimizers.Optimizer:
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate, momentum=config.get("momentum", 0.0))
    return keras.optimizers.Adam(config.learning_rate)


def _finished_results(workdir: pathlib.Path) -> dict | None:
    results = workdir / "results.json"
    if results.exists() and (workdir / "model.keras").exists():
        return json.loads(results.read_text())
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # CSVLogger writes "NA" for a metric missing in an epoch
        return None


def _read_history(path: pathlib.Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with path.open() as handle:
        rows = [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(handle)]
    # An interruption between two epoch-end callbacks can repeat an epoch's row; keep the last one.
    return list({row["epoch"]: row for row in rows}.values())


def evaluate_classifier(model: keras.Model, images: np.ndarray, labels: np.ndarray, num_classes: int,
                        minority_classes=(), batch_size: int = 512) -> dict[str, Any]:
    """Accuracy overall, per class and over the minority classes, in percent."""
    logits = model.predict(images, batch_size=batch_size, verbose=0)
    correct = np.argmax(logits, axis=-1) == labels
    per_class = [float(100 * correct[labels == k].mean()) if np.any(labels == k) else None for k in range(num_classes)]
    results = {"accuracy": float(100 * correct.mean()), "per_class_accuracy": per_class, "examples": int(len(labels))}
    if minority_classes:
        mask = np.isin(labels, minority_classes)
        results["minority_accuracy"] = float(100 * correct[mask].mean())
        results["majority_accuracy"] = float(100 * correct[~mask].mean())
    return results


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | pathlib.Path) -> dict[str, Any]:
    """Trains the configured classifier in `workdir` (resuming if interrupted) and evaluates it.

    Args:
        config: a trainer config (see `configs/digits_pc.py` for every field).
        workdir: output folder; an interrupted run in it resumes, a finished one is returned as is.

    Returns:
        The results written to `workdir/results.json`.
    """
    validate_config(config)
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    finished = _finished_results(workdir)
    if finished is not None:
        print(f"{workdir} already holds a finished run (results.json, model.keras); not training again.")
        return finished
    (workdir / "config.json").write_text(config.to_json_best_effort(indent=2))

    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(config.get("precision", "float32"))
    try:
        dataset = load_dataset(config)
        print(dataset.summary())
        model = models_lib.build(config.model, dataset.input_shape, dataset.num_classes,
                                 **dict(config.get("model_kwargs", {})))
        model.compile(optimizer=build_optimizer(config), loss=build_loss(config), metrics=["accuracy"])
        callbacks = [
            keras.callbacks.BackupAndRestore(str(workdir / "backup")),
            keras.callbacks.ModelCheckpoint(str(workdir / "checkpoints" / "epoch_{epoch:03d}.weights.h5"),
                                            save_weights_only=True),
            keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True),
            keras.callbacks.TensorBoard(str(workdir / "tensorboard")),
        ]
        if config.get("warmup_epochs", 0):
            callbacks.append(schedules.WarmupCallback())
        validation = dataset.pipeline("validation", config.batch_size) if len(dataset.x_val) else None
        started = time.time()
        model.fit(
            dataset.pipeline("train", config.batch_size, seed=config.seed),
            validation_data=validation,
            epochs=config.epochs,
            callbacks=callbacks,
            verbose=config.get("verbose", 1),
            shuffle=False,  # the training pipeline reshuffles itself, seeded, every epoch
        )
        seconds = time.time() - started
        minority = tuple(config.get("minority_classes", ()))
        results = {
            "config": json.loads(config.to_json_best_effort()),
            "data": dataset.summary(),
            "test": evaluate_classifier(model, dataset.x_test, dataset.y_test, dataset.num_classes, minority),
            "history": _read_history(workdir / "history.csv"),
            "fit_seconds_last_session": round(seconds, 1),
            "versions": {"tfxai": tfxai.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
                         "python": platform.python_version()},
        }
        model.save(workdir / "model.keras")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    (workdir / "results.json").write_text(json.dumps(results, indent=2))
    print(f"test accuracy: {results['test']['accuracy']:.2f} %  ({workdir / 'results.json'})")
    return results

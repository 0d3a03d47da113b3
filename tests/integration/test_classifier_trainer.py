"""The classifier trainer end to end: artefacts, resume after a kill, and the errors users see."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tfxai.training import classifier, comparison

REPO = pathlib.Path(__file__).resolve().parents[2]
TRAINER = REPO / "trainers" / "classifier.py"


def _run(*args, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(TRAINER), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO
    )


def _digits_config(**overrides):
    config = classifier.default_config()
    config.update(dict(dataset="digits", model="cnn2c", epochs=2, batch_size=128, verbose=0))
    config.model_kwargs.padding = "same"
    config.update(overrides)
    return config


def test_artefacts_and_reload(tmp_path):
    results = classifier.train_and_evaluate(_digits_config(loss="pc", warmup_epochs=1), tmp_path)
    assert {"results.json", "model.keras", "history.csv", "config.json"} <= {p.name for p in tmp_path.iterdir()}
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch_001.weights.h5", "epoch_002.weights.h5"]
    assert [row["epoch"] for row in results["history"]] == [0.0, 1.0]
    assert len(results["test"]["per_class_accuracy"]) == 10 and results["test"]["examples"] == 360
    assert json.loads((tmp_path / "results.json").read_text())["test"] == results["test"]
    model = keras.models.load_model(tmp_path / "model.keras")  # no custom_objects needed
    assert type(model.loss).__name__ == "WarmupLoss"
    x_test = np.zeros((2, 8, 8, 1), np.float32)
    assert model.predict(x_test, verbose=0).shape == (2, 10)
    # A finished workdir is returned, not trained again.
    assert classifier.train_and_evaluate(_digits_config(), tmp_path)["test"] == results["test"]


def test_killed_trainer_resumes_where_it_stopped(tmp_path):
    args = ["--config=configs/digits.py:ce", f"--workdir={tmp_path}", "--config.epochs=4",
            "--config.batch_size=16", "--config.verbose=2"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen([sys.executable, str(TRAINER), *args], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second_checkpoint = tmp_path / "checkpoints" / "epoch_002.weights.h5"
    deadline = time.time() + 300
    while not second_checkpoint.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let the epoch-end callbacks finish writing
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert second_checkpoint.exists() and not (tmp_path / "results.json").exists(), "the kill came too late"

    resumed = _run(*args)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Epoch 1/4" not in resumed.stdout and "Epoch 4/4" in resumed.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert [row["epoch"] for row in results["history"]] == [0.0, 1.0, 2.0, 3.0]
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config=configs/no_such_config.py"], "no_such_config.py"),
        (["--config=configs/digits.py:ce", "--config.model=lenet"], "config.model: unknown model 'lenet'"),
        (["--config=configs/digits.py:ce", "--config.dataset=imagenet"], "config.dataset: unknown data set"),
        (["--config=configs/digits.py:ce", "--config.warmup_epochs=40"], "config.warmup_epochs"),
        (["--config=configs/digits.py:nope"], "Unknown loss name"),
        (["--config=configs/digits.py:ce", "surplus"], "Too many command-line arguments"),
        (["--config=configs/mnist5k_cnn2c.py:sml"], "mnist_5k.csv.gz"),
    ],
)
def test_bad_input_gives_a_message_naming_the_problem(tmp_path, args, message):
    completed = _run(*args, f"--workdir={tmp_path}", timeout=120)
    assert completed.returncode != 0
    assert message in completed.stdout + completed.stderr


@pytest.mark.parametrize("name", ["digits", "digits_pc", "mnist5k_cnn2c", "mnist5k_pc", "mnist_pc_full"])
def test_config_files_load_and_validate(name):
    classifier.validate_config(comparison.load_config(REPO / "configs" / f"{name}.py"))

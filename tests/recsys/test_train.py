"""The AMCF trainer: parameter-group optimisers, configs, artefacts, resume, and `trainers/amcf.py` end to end."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.recsys import ml100k_or_skip, write_grouplens
from tfxai.recsys import train

REPO = pathlib.Path(__file__).resolve().parents[2]
TRAINER = REPO / "trainers" / "amcf.py"
CONFIG = REPO / "configs" / "amcf_ml100k.py"


def _config_module():
    spec = importlib.util.spec_from_file_location("amcf_ml100k", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("optimizer_class", [train.GroupSGD, train.GroupAdam])
def test_parameter_groups_scale_learning_rates_and_decay(optimizer_class):
    variables = [
        keras.Variable(np.full(2, 2.0, np.float32), name=name) for name in ("user_bias", "aspect_embedding", "other")
    ]
    groups = [
        {"pattern": "bias", "learning_rate_multiplier": 1.0, "l2": 0.5},
        {"pattern": "aspect", "learning_rate_multiplier": 10.0, "l2": 0.0},
    ]
    optimizer = optimizer_class(0.1, parameter_groups=groups, l2=0.25)
    gradient = np.ones(2, np.float32)
    optimizer.apply([gradient] * 3, variables)
    if optimizer_class is train.GroupSGD:  # θ − lr · multiplier · (g + l2 · θ)
        expected = [2 - 0.1 * (1 + 0.5 * 2), 2 - 1.0 * 1, 2 - 0.1 * (1 + 0.25 * 2)]
    else:  # Adam's first step moves every variable by lr · multiplier, whatever the gradient's scale
        expected = [2 - 0.1, 2 - 1.0, 2 - 0.1]
    np.testing.assert_allclose([v.numpy()[0] for v in variables], expected, rtol=1e-4)
    restored = optimizer_class.from_config(optimizer.get_config())
    assert restored.parameter_groups == groups and restored.l2 == 0.25


def test_bad_parameter_groups():
    with pytest.raises(ValueError, match="Expected the keys"):
        train.GroupSGD(0.1, parameter_groups=[{"pattern": "bias"}])
    with pytest.raises(ValueError, match="Invalid parameter group pattern '\\('"):
        train.GroupSGD(0.1, parameter_groups=[{"pattern": "(", "learning_rate_multiplier": 1.0, "l2": 0.0}])
    with pytest.raises(ValueError, match="learning_rate_multiplier > 0"):
        train.GroupSGD(0.1, parameter_groups=[{"pattern": "x", "learning_rate_multiplier": 0.0, "l2": 0.0}])


@pytest.mark.parametrize("arg", ["svd,120", "ncf,80", "fm,20", "svd,120,authors", "ncf,20,adam"])
def test_configs_validate(arg):
    config = _config_module().get_config(arg)
    config.data_dir = "/some/folder"
    train.validate_config(config)
    assert config.base == arg.split(",")[0] and config.dim == int(arg.split(",")[1])


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(data_dir=""), "config.data_dir: required"),
        (dict(base="mf"), "config.base: unknown base model 'mf'"),
        (dict(models=("amcf", "lr")), "config.models: expected a non-empty subset"),
        (dict(epochs=0), "config.epochs: expected a positive int. Received: 0"),
        (dict(test_size=1.0), "config.test_size"),
        (dict(optimizer="rmsprop"), "config.optimizer"),
    ],
)
def test_config_validation_names_the_field(change, message):
    config = train.default_config()
    config.data_dir = "/some/folder"
    config.update(change)
    with pytest.raises(ValueError, match=message):
        train.validate_config(config)
    with pytest.raises(ValueError, match=r"Expected the config argument 'base,dim\[,recipe\]'"):
        _config_module().get_config("svd")


def _small_config(folder, **overrides):
    config = train.default_config()
    config.update(dict(data_dir=str(folder), dim=4, epochs=1, batch_size=64, verbose=0))
    config.update(overrides)
    return config


def test_artefacts_identical_base_and_finished_workdir(tmp_path, monkeypatch, capsys):
    folder = write_grouplens(tmp_path / "ml")
    config = _small_config(folder, explain_user_id=3, validation_size=0.25)  # early stopping on 25 % of train
    results = train.train_and_evaluate(config, tmp_path / "run")
    run = tmp_path / "run"
    assert {"config.json", "results.json", "results.md"} <= {p.name for p in run.iterdir()}
    assert {p.name for p in (run / "holdout" / "amcf").iterdir()} == {"history.csv", "model.keras"}  # backup removed
    rows = results["mean"]
    assert list(rows) == ["SVD", "AMCF(SVD)", "LR", "non-personalised", "random"]
    assert rows["AMCF(SVD)"]["RMSE"] == pytest.approx(rows["SVD"]["RMSE"], abs=1e-6)  # shielding: the same base
    assert set(rows["AMCF(SVD)"]) == {"RMSE", "MAE", "T1@3", "B1@3", "T3@5", "B3@5", "score_s"}
    assert results["splits"][0]["users_scored"] == 30 and results["explanation"]["user_id"] == 3
    assert results["explanation"]["aspects"] and "| AMCF(SVD) |" in (run / "results.md").read_text()
    assert "Why does user 3 like item" in capsys.readouterr().out
    monkeypatch.setattr(train, "fit_model", lambda *args: pytest.fail("a finished workdir was trained again"))
    assert train.train_and_evaluate(_small_config(folder), run)["mean"] == rows


def test_interrupted_training_resumes(tmp_path, monkeypatch, capsys):
    folder = write_grouplens(tmp_path / "ml")
    config = _small_config(folder, epochs=3, verbose=2, models=("amcf",))
    original = train._EpochSeconds.on_epoch_end

    def interrupt_once(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1 and not (tmp_path / "interrupted").exists():
            (tmp_path / "interrupted").touch()
            raise KeyboardInterrupt  # after epoch 2 ran, before its backup: epoch 1's backup is the last

    monkeypatch.setattr(train._EpochSeconds, "on_epoch_end", interrupt_once)
    with pytest.raises(KeyboardInterrupt):
        train.train_and_evaluate(config, tmp_path / "run")
    assert (tmp_path / "run" / "holdout" / "amcf" / "backup").exists()
    capsys.readouterr()
    train.train_and_evaluate(config, tmp_path / "run")
    output = capsys.readouterr().out
    assert "Epoch 1/3" not in output and "Epoch 2/3" in output and "Epoch 3/3" in output
    history = (tmp_path / "run" / "holdout" / "amcf" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["0", "1", "2"]


def test_divergence_is_an_error_and_nothing_is_saved(tmp_path):
    folder = write_grouplens(tmp_path / "ml")
    config = _small_config(folder, optimizer="sgd", learning_rate=1e6, embeddings_stddev=10.0)
    with pytest.raises(FloatingPointError, match=r"Training svd diverged: the loss became nan in epoch 1"):
        train.train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run" / "holdout" / "base" / "model.keras").exists()


def test_markdown_table_over_splits():
    splits = [
        {"rows": {"AMCF(SVD)": {"RMSE": 0.9, "T1@3": 0.5}, "random": {"T1@3": 0.1}}},
        {"rows": {"AMCF(SVD)": {"RMSE": 0.8, "T1@3": 0.7}, "random": {"T1@3": 0.3}}},
    ]
    mean, std = train._aggregate(splits)
    assert mean["AMCF(SVD)"] == pytest.approx({"RMSE": 0.85, "T1@3": 0.6})
    assert mean["random"] == pytest.approx({"T1@3": 0.2}) and std["random"] == pytest.approx({"T1@3": 0.1})
    lines = train.markdown_table(mean, std, 2).splitlines()
    assert lines[0] == "| model | RMSE | MAE | T1@3 | B1@3 | T3@5 | B3@5 | score_s |"
    assert lines[2] == "| AMCF(SVD) | 0.850 ± 0.050 | – | 0.600 ± 0.100 | – | – | – | – |"
    assert lines[3].startswith("| random | – | – | 0.200 ± 0.100 |")


def _run(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(TRAINER), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO
    )


def test_trainer_end_to_end_on_a_movielens_subsample(tmp_path):
    data_dir = ml100k_or_skip()
    completed = _run(
        f"--config={CONFIG}:svd,20",
        f"--config.data_dir={data_dir}",
        f"--workdir={tmp_path}",
        "--config.max_users=50",
        "--config.epochs=1",
        "--config.dim=8",
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["splits"][0]["users_scored"] == 50 and "50 users" in results["data"]
    assert all(np.isfinite(value) for value in results["mean"]["AMCF(SVD)"].values())
    assert "Why does user" in completed.stdout and "general preference: likes" in completed.stdout
    explanation = results["explanation"]
    assert explanation["aspects"] and explanation["title"]


def test_trainer_rejects_extra_arguments(tmp_path):
    completed = _run(
        f"--config={CONFIG}:svd,20", "--config.data_dir=/x", "surplus", f"--workdir={tmp_path}", timeout=120
    )
    assert completed.returncode != 0 and "Too many command-line arguments" in completed.stdout + completed.stderr


def test_unknown_sample_user_fails_before_training(tmp_path, monkeypatch):
    folder = write_grouplens(tmp_path / "ml")
    monkeypatch.setattr(train, "fit_model", lambda *args: pytest.fail("trained before checking the sample user"))
    with pytest.raises(ValueError, match="Unknown user id 999"):
        train.train_and_evaluate(_small_config(folder, explain_user_id=999), tmp_path / "run")

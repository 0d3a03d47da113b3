"""Real training to the foundation's acceptance numbers (slow: `python -m pytest -m slow`)."""

import pathlib

import pytest

from tfxai.training import classifier, comparison

CONFIGS = pathlib.Path(__file__).resolve().parents[2] / "configs"
pytestmark = pytest.mark.slow


def _train(tmp_path, config_file, arg, **overrides):
    config = comparison.load_config(CONFIGS / config_file, arg)
    config.update(dict(verbose=0, **overrides))
    return classifier.train_and_evaluate(config, tmp_path / arg)["test"]["accuracy"]


def test_digits_cnn_ce_reaches_97_percent(tmp_path):
    assert _train(tmp_path, "digits.py", "ce") >= 97.0


def test_mnist5k_lenet_ce_96_percent_and_pc_within_one_point(tmp_path, shared_data_dir):
    ce = _train(tmp_path, "mnist5k_pc.py", "ce", data_dir=str(shared_data_dir))
    pc = _train(tmp_path, "mnist5k_pc.py", "pc", data_dir=str(shared_data_dir))
    assert ce >= 96.0
    assert pc >= ce - 1.0

"""The explain trainer end to end on a digits classifier trained for one epoch in a tmp workdir."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

import tfxai.attribution
from tfxai.attribution.boundary import BIG, BSM
from tfxai.training import classifier

REPO = pathlib.Path(__file__).resolve().parents[2]
TRAINER = REPO / "trainers" / "explain.py"


def _load(path: pathlib.Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    config = classifier.default_config()
    config.update({"dataset": "digits", "model": "cnn2c", "epochs": 1, "batch_size": 128, "verbose": 0})
    config.model_kwargs.padding = "same"
    path = tmp_path_factory.mktemp("digits_run")
    classifier.train_and_evaluate(config, path)
    return path


def _small_config():
    config = _load(REPO / "configs" / "explain_digits.py", "explain_digits_config").get_config()
    config.num_examples = 4
    config.methods.IntegratedGradients.steps = 32
    config.methods.SmoothGrad.num_samples = 4
    config.methods.BlurIG.steps = 16
    config.methods.AGI.max_steps = 4
    config.methods.BIG.search.update({"epsilons": [0.1, 0.3], "steps": 10, "cw_steps": 10, "cw_binary_search_steps": 2})
    return config


def test_explain_writes_grid_and_metrics(workdir, monkeypatch):
    for cls in (BSM, BIG):  # until tfxai/attribution/__init__.py exports them
        monkeypatch.setattr(tfxai.attribution, cls.__name__, cls, raising=False)
    config = _small_config()
    results = _load(TRAINER, "explain_trainer").explain(config, workdir)

    methods = list(config.methods)
    saved = json.loads((workdir / "explain" / "explanations.json").read_text())
    assert saved == results and len(saved["test_indices"]) == 4 and len(saved["predictions"]) == 4
    for name in methods:
        row = saved[name]
        for fill in ("black", "blurred"):
            for score in ("insertion", "deletion"):
                values = np.array(row[f"{score}_{fill}"])
                assert values.shape == (4,) and np.all((values >= 0) & (values <= 1))
        assert ("completeness" in row) == (name in ("IntegratedGradients", "BlurIG", "BIG"))
    assert max(np.abs(saved["IntegratedGradients"]["completeness"])) < 0.05  # 32 trapezoid steps on logits
    assert saved["BIG"]["mean"]["completeness"] < 0.05

    png = matplotlib.image.imread(workdir / "explain" / "heatmaps.png")
    cell = 1.2 * 100  # pixels per grid cell at the default dpi
    assert png.shape[0] == pytest.approx((1 + len(methods)) * cell, abs=2)  # the inputs + one row per method
    assert png.shape[1] == pytest.approx(4 * cell + 80, abs=2)


def test_command_line(workdir, tmp_path):
    config_file = tmp_path / "explain_small.py"  # a complete config, smaller than configs/explain_digits.py
    config_file.write_text(
        "import ml_collections\n"
        "def get_config():\n"
        "    return ml_collections.ConfigDict({'num_examples': 5, 'seed': 1, 'batch_size': 2, 'overlay_alpha': 0.5,\n"
        "        'substrates': ('blurred',), 'methods': {'Saliency': {}, 'IntegratedGradients': {'steps': 8}}})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [
        sys.executable,
        str(TRAINER),
        f"--config={config_file}",
        f"--workdir={workdir}",
        "--config.num_examples=3",
    ]
    process = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert process.returncode == 0, process.stderr[-3000:]
    saved = json.loads((workdir / "explain" / "explanations.json").read_text())
    assert set(saved) == {"test_indices", "labels", "predictions", "Saliency", "IntegratedGradients"}
    assert set(saved["Saliency"]) == {"insertion_blurred", "deletion_blurred", "mean"}
    assert len(saved["IntegratedGradients"]["completeness"]) == 3
    assert matplotlib.image.imread(workdir / "explain" / "heatmaps.png").shape[0] == pytest.approx(3 * 120, abs=2)

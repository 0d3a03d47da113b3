"""trainers/robustness.py end to end: a killed evaluation resumes from its cache; a clear error without runs."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from tfxai.training import classifier

REPO = pathlib.Path(__file__).resolve().parents[2]
TRAINER = REPO / "trainers" / "robustness.py"
# configs/robustness_mnist5k.py shrunk to seconds on 40 digits; the protocol's structure is kept.
SHRINK = [
    "--config=configs/robustness_mnist5k.py",
    "--config.num_examples=40",
    "--config.attacks.bim.steps=2",
    "--config.attacks.pgd.steps=3",
    "--config.attacks.pgd.step_size=0.1",
    "--config.attacks.mim.steps=3",
    "--config.attacks.mim.step_size=0.1",
    "--config.attacks.cw_l2.steps=5",
    "--config.attacks.cw_l2.binary_search_steps=1",
    "--config.attacks.spsa.steps=2",
    "--config.attacks.spsa.num_samples=8",
    "--config.transfer_attacks.pgd.steps=3",
    "--config.transfer_attacks.mim.steps=3",
    "--config.false_class_attacks.mim.steps=3",
    "--config.false_class_attacks.mim.step_size=0.1",
    "--config.false_class_epsilons=(0.1,0.2,0.3)",
    "--config.substitute.epochs=1",
]


def _command(workdir, *extra):
    return [sys.executable, str(TRAINER), *SHRINK, f"--workdir={workdir}", *extra]


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("robustness_trainer")
    config = classifier.default_config()
    config.update(dict(dataset="digits", model="cnn2c", epochs=2, batch_size=128, verbose=0))
    config.model_kwargs.padding = "same"
    classifier.train_and_evaluate(config, workdir)
    return workdir


def test_killed_evaluation_resumes_from_the_finished_cells(finished_run):
    cache = finished_run / "robustness_cache"
    process = subprocess.Popen(
        _command(finished_run), cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + 300
    while len(list(cache.glob("*.json"))) < 4 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_cells = len(list(cache.glob("*.json")))
    assert finished_cells >= 4 and not (finished_run / "robustness.json").exists(), "the kill came too late"

    resumed = subprocess.run(_command(finished_run), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.count("(cached") >= finished_cells
    report = json.loads((finished_run / "robustness.json").read_text())
    # 4 attacks x 3 eps, CW, SPSA at 0.3, 2 transfer attacks x 3 eps
    assert len(report["rows"]) == 20 and all(c["status"] in ("PASS", "FAIL") for c in report["checks"])
    assert report["checks"][0]["skipped"] == [
        "bim eps=0.1 (reach 0.02 < eps)",
        "bim eps=0.2 (reach 0.02 < eps)",
        "bim eps=0.3 (reach 0.02 < eps)",
    ]
    assert [a["attack"] for a in report["false_class"]] == ["fgsm", "mim"]
    markdown = (finished_run / "robustness.md").read_text()
    assert "| mim | black-box (transfer) | 0.2 |" in markdown and "Most probable false class, mim" in markdown


def test_a_workdir_without_runs_fails_clearly(tmp_path):
    empty = subprocess.run(_command(tmp_path), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert empty.returncode != 0 and "No finished classifier run" in empty.stderr

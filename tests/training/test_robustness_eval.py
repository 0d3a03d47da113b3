"""The trainer's robustness step: evaluating finished runs, the substitute, resuming, comparisons."""

from __future__ import annotations

import json
import pathlib
import shutil

import keras
import numpy as np
import pytest

from tfxai.metrics.robustness import QUERY, TRANSFER, WHITE_BOX
from tfxai.training import classifier, robustness_eval

SMALL = {"steps": 3, "step_size": 0.1}


def _eval_config():
    """The default evaluation config, shrunk to seconds."""
    config = robustness_eval.default_config()
    config.num_examples = 40
    config.epsilons = (0.1, 0.3)
    config.attacks = {
        "fgsm": {},
        "pgd": SMALL,
        "cw_l2": {"steps": 5, "binary_search_steps": 1},
        "spsa": {"epsilons": (0.3,), "steps": 2, "num_samples": 8},
    }
    config.transfer_attacks = {"pgd": SMALL}
    config.false_class_attacks = {"fgsm": {}}
    config.false_class_epsilons = (0.1, 0.2, 0.3)
    config.substitute.epochs = 1
    config.verbose = False
    return config


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> pathlib.Path:
    """A classifier run on digits, as trainers/classifier.py leaves it."""
    workdir = tmp_path_factory.mktemp("runs") / "run"
    config = classifier.default_config()
    config.update(dict(dataset="digits", model="cnn2c", epochs=2, batch_size=128, verbose=0))
    config.model_kwargs.padding = "same"
    classifier.train_and_evaluate(config, workdir)
    return workdir


def test_default_config_is_the_papers_protocol():
    config = robustness_eval.default_config()
    assert tuple(config.epsilons) == (0.1, 0.2, 0.3)
    assert config.attacks.bim.to_dict() == {"steps": 10, "step_size": 0.01}
    assert config.attacks.pgd.steps == 40 and config.attacks.mim.steps == 40
    assert config.attacks.cw_l2.confidence == 0.0 and tuple(config.attacks.spsa.epsilons) == (0.3,)
    assert sorted(config.transfer_attacks) == ["mim", "pgd"]


def test_evaluates_a_run_and_resumes_from_its_cache(finished_run, capsys):
    workdir = finished_run.parent / "single"
    shutil.copytree(finished_run, workdir)
    config = _eval_config()
    results = robustness_eval.evaluate_workdir(config, workdir)
    report = results[str(workdir)]
    assert list(results) == [str(workdir)]  # one run: no comparison
    assert report == json.loads((workdir / "robustness.json").read_text())
    markdown = (workdir / "robustness.md").read_text()
    assert "| pgd | black-box (transfer) | 0.3 |" in markdown and "gradient-masking" in markdown.lower()
    threats = {(r["attack"], r["threat"]) for r in report["rows"]}
    assert threats == {
        ("fgsm", WHITE_BOX),
        ("pgd", WHITE_BOX),
        ("cw_l2", WHITE_BOX),
        ("spsa", QUERY),
        ("pgd", TRANSFER),
    }
    # The evaluation images are the first 40 of the run's own test split.
    dataset = classifier.load_dataset(classifier.default_config())
    model = keras.models.load_model(workdir / "model.keras")
    predictions = np.argmax(model.predict(dataset.x_test[:40], verbose=0), axis=-1)
    assert report["examples"] == 40 and report["clean_accuracy"] == 100 * np.mean(predictions == dataset.y_test[:40])
    substitute = workdir / "substitutes" / "digits_split0.keras"
    assert (
        substitute.exists() and len(list((workdir / "robustness_cache").glob("*.json"))) == 9
    )  # 8 table cells + FGSM at 0.2
    written = substitute.stat().st_mtime_ns
    capsys.readouterr()

    config.verbose = True
    again = robustness_eval.evaluate_workdir(config, workdir)[str(workdir)]
    out = capsys.readouterr().out
    assert "(computed" not in out and out.count("(cached") == 9
    assert substitute.stat().st_mtime_ns == written  # read back, not trained again
    assert [r["accuracy"] for r in again["rows"]] == [r["accuracy"] for r in report["rows"]]


def test_a_folder_of_runs_gets_a_comparison(finished_run):
    root = finished_run.parent / "comparison"
    for variant in ("ce", "pc"):
        for seed in (0, 1):
            shutil.copytree(finished_run, root / variant / f"seed_{seed}")
    config = _eval_config()
    config.substitute.model = ""  # no transfer rows
    results = robustness_eval.evaluate_workdir(config, root)
    assert len(results) == 5 and not (root / "substitutes").exists()
    comparison = json.loads((root / "robustness_comparison.json").read_text())
    assert comparison["variants"] == ["ce", "pc"]
    clean = comparison["rows"][0]
    assert clean["attack"] == "clean" and clean["ce"]["std"] == 0.0 and len(clean["pc"]["values"]) == 2
    assert set(comparison["checks"]["ce"].values()) <= {"0/2 PASS", "1/2 PASS", "2/2 PASS"}
    markdown = (root / "robustness_comparison.md").read_text()
    assert "| attack | threat model | ε | ce | pc |" in markdown and "| fgsm | white-box | 0.1 |" in markdown
    assert "| ce | fgsm |" in markdown


def test_compare_reports_by_hand():
    def report(clean, pgd, status, shares):
        return {
            "clean_accuracy": clean,
            "rows": [
                {"attack": "pgd", "method": "pgd", "threat": WHITE_BOX, "epsilon": 0.1, "kwargs": {}, "accuracy": pgd}
            ],
            "checks": [{"name": "check", "status": status}],
            "false_class": [{"attack": "fgsm", "ranks": [2, 3], "total": {"new_successes": 5, "shares": shares}}],
        }

    comparison = robustness_eval.compare_reports(
        {
            "ce": [report(97.0, 50.0, "PASS", [0.6, 0.2]), report(99.0, 40.0, "FAIL", [0.8, 0.1])],
            "pc": [report(98.0, 70.0, "PASS", None)],
        }
    )
    pgd = comparison["rows"][1]
    assert pgd["ce"]["mean"] == 45.0 and pgd["ce"]["std"] == pytest.approx(np.std([50, 40], ddof=1))
    assert pgd["pc"] == {"mean": 70.0, "std": 0.0, "values": [70.0]}
    assert comparison["checks"] == {"ce": {"check": "1/2 PASS"}, "pc": {"check": "1/1 PASS"}}
    assert comparison["false_class"]["ce"]["fgsm"]["shares"][0]["mean"] == pytest.approx(0.7)
    assert comparison["false_class"]["pc"]["fgsm"]["shares"] is None  # no new successes in any run
    assert "| pc | fgsm | 5 | - | - |" in robustness_eval.format_comparison(comparison)
    assert "| pgd | white-box | 0.1 | 45.0 ± 7.1 | 70.0 ± 0.0 |" in robustness_eval.format_comparison(comparison)


def test_train_substitute_saves_then_loads(tmp_path):
    config = classifier.default_config()
    dataset = classifier.load_dataset(config)
    substitute_config = robustness_eval.default_config().substitute
    substitute_config.epochs = 1
    path = tmp_path / "substitute.keras"
    trained = robustness_eval.train_substitute(dataset, substitute_config, path)
    loaded = robustness_eval.train_substitute(dataset, substitute_config, path)
    assert trained.name == "substitute" and [p.name for p in tmp_path.iterdir()] == ["substitute.keras"]
    np.testing.assert_allclose(
        loaded.predict(dataset.x_test[:5], verbose=0), trained.predict(dataset.x_test[:5], verbose=0), atol=1e-6
    )


def test_no_run_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="No finished classifier run"):
        robustness_eval.evaluate_workdir(_eval_config(), tmp_path)

"""Variant x seed comparisons: every run lands in its own workdir and the table aggregates them."""

import json
import pathlib

import pytest

from tfxai.training import comparison

CONFIGS = pathlib.Path(__file__).resolve().parents[2] / "configs"


def test_format_table_mean_and_std():
    table = {"sml": {"accuracy": {"mean": 97.5, "std": 0.25}}, "lgl+imbalanced": {
        "accuracy": {"mean": 90.0, "std": 1.0}, "minority_accuracy": {"mean": 70.0, "std": 2.0},
        "majority_accuracy": {"mean": 95.0, "std": 0.5}}}
    text = comparison.format_table(table, 2)
    assert "| sml | 97.50 ± 0.25 | – | – |" in text
    assert "| lgl, imbalanced | 90.00 ± 1.00 | 70.00 ± 2.00 | 95.00 ± 0.50 |" in text


def test_runs_variants_over_seeds_and_resumes(tmp_path):
    overrides = {"epochs": "1", "batch_size": "256", "verbose": "0"}
    table = comparison.run_comparison(CONFIGS / "digits.py", ["ce", "lgl"], [0, 1], tmp_path, overrides)
    assert set(table) == {"ce", "lgl"} and len(table["ce"]["runs"]) == 2
    runs = [json.loads((tmp_path / v / f"seed_{s}" / "results.json").read_text()) for v in ("ce", "lgl") for s in (0, 1)]
    assert [r["config"]["seed"] for r in runs] == [0, 1, 0, 1] and {r["config"]["epochs"] for r in runs} == {1}
    assert (tmp_path / "comparison.md").read_text().count("±") >= 2
    mtime = (tmp_path / "ce" / "seed_0" / "model.keras").stat().st_mtime
    comparison.run_comparison(CONFIGS / "digits.py", ["ce"], [0], tmp_path, overrides)  # finished: read back
    assert (tmp_path / "ce" / "seed_0" / "model.keras").stat().st_mtime == mtime


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.py"):
        comparison.load_config(tmp_path / "nope.py")

"""Runs several variants of one trainer config over seeds and tabulates test accuracy.

Used for the loss comparisons of the LGL-INR and PC papers, e.g. SML vs LGL vs LGL-INR on
balanced and imbalanced mnist5k:

    python trainers/compare.py --config=configs/mnist5k_cnn2c.py \
        --variants=sml,lgl,lgl_inr,sml+imbalanced,lgl+imbalanced,lgl_inr+imbalanced \
        --seeds=0,1,2 --override=data_dir=DIR --workdir=runs/lgl_inr_table

Each run is an ordinary classifier run in `workdir/<variant>/seed_<s>/`, so an interrupted
comparison resumes run by run (finished runs are read back, not retrained).
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
from typing import Any, Mapping, Sequence

import ml_collections
import numpy as np

from tfxai.training import classifier


def load_config(path: str | pathlib.Path, arg: str | None = None) -> ml_collections.ConfigDict:
    """Calls `get_config(arg)` of a config file (`get_config()` when `arg` is None)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Config file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"tfxai_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config() if arg is None else module.get_config(arg)


def _parse_value(config: ml_collections.ConfigDict, key: str, text: str) -> Any:
    current = config[key]
    if isinstance(current, bool):
        return text.lower() in ("1", "true", "yes")
    if isinstance(current, (int, float)) and not isinstance(current, bool):
        return type(current)(text)
    return text


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def run_comparison(
    config_path: str | pathlib.Path,
    variants: Sequence[str],
    seeds: Sequence[int],
    workdir: str | pathlib.Path,
    overrides: Mapping[str, str] = (),
) -> dict[str, Any]:
    """Trains every `variant` (a `get_config` argument; `+` stands for `,`) for every seed.

    Returns:
        `{variant: {"accuracy": {mean, std}, "minority_accuracy": ..., "runs": [...]}}`, also
        written to `workdir/comparison.json` and, as a table, `workdir/comparison.md`.
    """
    workdir = pathlib.Path(workdir)
    table: dict[str, Any] = {}
    for variant in variants:
        runs = []
        for seed in seeds:
            config = load_config(config_path, variant.replace("+", ","))
            for key, text in dict(overrides).items():
                config[key] = _parse_value(config, key, text)
            config.seed = int(seed)
            print(f"=== {variant} seed {seed}")
            runs.append(classifier.train_and_evaluate(config, workdir / variant / f"seed_{seed}")["test"])
        table[variant] = {"accuracy": _mean_std([run["accuracy"] for run in runs]), "runs": runs}
        if "minority_accuracy" in runs[0]:
            table[variant]["minority_accuracy"] = _mean_std([run["minority_accuracy"] for run in runs])
            table[variant]["majority_accuracy"] = _mean_std([run["majority_accuracy"] for run in runs])
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "comparison.json").write_text(json.dumps(table, indent=2))
    markdown = format_table(table, len(seeds))
    (workdir / "comparison.md").write_text(markdown)
    print(markdown)
    return table


def format_table(table: Mapping[str, Any], num_seeds: int) -> str:
    """A markdown table of test accuracy (mean ± std over seeds), minority/majority when present."""
    columns = ["accuracy", "minority_accuracy", "majority_accuracy"]
    header = f"| variant | {' | '.join(c.replace('_', ' ') + ' (%)' for c in columns)} |"
    lines = [f"Test accuracy, mean ± std over {num_seeds} seed(s).", "", header, "|---" * (len(columns) + 1) + "|"]
    for variant, row in table.items():
        cells = [f"{row[c]['mean']:.2f} ± {row[c]['std']:.2f}" if c in row else "–" for c in columns]
        lines.append(f"| {variant.replace('+', ', ')} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"

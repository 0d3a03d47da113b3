"""Robustness evaluation of trained classifiers: the trainer's attack step.

`evaluate_workdir(config, workdir)` (behind `trainers/robustness.py`) evaluates a finished
classifier run (a folder holding `model.keras` and the trainer's `config.json`), or every run
below a comparison folder (`<variant>/seed_<s>/`, as `trainers/compare.py` writes them):

| path | what |
|---|---|
| `<run>/robustness.json`, `<run>/robustness.md` | `tfxai.metrics.robustness.robustness_report` of the run |
| `<run>/robustness_cache/` | one file per finished attack cell: a re-run resumes there |
| `<workdir>/substitutes/<data set>_split<seed>.keras` | the black-box adversary's model, trained once per data split |
| `<workdir>/robustness_comparison.{json,md}` | with several runs: mean ± std over seeds per variant |

The evaluation data are the first `num_examples` images of the run's own test split (the
trainer's seeded split, rebuilt from its config). The substitute is trained on the same
split's training images, never on the evaluated test images.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import ml_collections
import numpy as np

from tfxai import data as data_lib
from tfxai import models as models_lib
from tfxai.metrics import robustness
from tfxai.training import (
    adversarial,  # noqa: F401 - registers AdversarialModel for keras.models.load_model
    classifier,
)
from tfxai.training.comparison import _mean_std

SUBSTITUTES = "substitutes"
CACHE = "robustness_cache"


def default_config() -> ml_collections.ConfigDict:
    """Every field of an evaluation config (see `configs/robustness_mnist5k.py`)."""
    config = ml_collections.ConfigDict()
    config.num_examples = 1000  # the first N images of the test split; 0: all of them
    config.data_dir = ""  # "" reads the data where the run was trained (its config.json)
    config.epsilons = (0.1, 0.2, 0.3)
    config.attacks = {label: dict(kwargs) for label, kwargs in robustness.DEFAULT_ATTACKS.items()}
    config.transfer_attacks = {label: dict(kwargs) for label, kwargs in robustness.DEFAULT_TRANSFER_ATTACKS.items()}
    config.false_class_attacks = {
        label: dict(kwargs) for label, kwargs in robustness.DEFAULT_FALSE_CLASS_ATTACKS.items()
    }
    config.false_class_epsilons = robustness.DEFAULT_FALSE_CLASS_EPSILONS
    config.num_ranks = 4
    config.tolerance = 1.0  # percentage points
    config.batch_size = 500  # examples attacked at a time
    config.substitute = ml_collections.ConfigDict()
    config.substitute.model = "substitute"  # a name of tfxai.models.MODELS; "" disables transfer attacks
    config.substitute.epochs = 10
    config.substitute.batch_size = 128
    config.substitute.learning_rate = 1e-3
    config.substitute.seed = 1000  # differs from the evaluated runs' seeds
    config.verbose = True
    return config


def _plain(value: Any) -> Any:
    """ConfigDicts (and their tuples) as plain dicts and lists, for the library calls."""
    if isinstance(value, ml_collections.ConfigDict):
        return value.to_dict()
    return value


def train_substitute(
    dataset: data_lib.Dataset, config: ml_collections.ConfigDict, path: str | pathlib.Path
) -> keras.Model:
    """The black-box adversary's model: trained on `dataset`'s training split with CE, or read from `path`.

    Args:
        dataset: the data set of the evaluated model (its training split is used).
        config: the `substitute` part of an evaluation config (`model`, `epochs`,
            `batch_size`, `learning_rate`, `seed`).
        path: the `.keras` file the substitute is saved to; if it exists it is loaded instead.

    Returns:
        The substitute, a `keras.Model` outputting logits.
    """
    path = pathlib.Path(path)
    if path.exists():
        return keras.models.load_model(path)
    keras.utils.set_random_seed(config.seed)
    model = models_lib.build(config.model, dataset.input_shape, dataset.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(
        dataset.pipeline("train", config.batch_size, seed=config.seed), epochs=config.epochs, verbose=2, shuffle=False
    )  # the pipeline reshuffles itself, seeded, every epoch
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"partial_{path.name}")  # a .keras name; renamed once complete
    model.save(temporary)
    temporary.replace(path)
    return model


def evaluate_model(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    config: ml_collections.ConfigDict,
    workdir: str | pathlib.Path,
    substitute: keras.Model | None = None,
) -> dict[str, Any]:
    """Runs the configured `robustness_report` and writes `robustness.json` and `robustness.md`.

    Args:
        model: the evaluated classifier (logits).
        x: test images `[N, ...]` in the model's input scale.
        y: test labels `[N]`.
        config: an evaluation config (`default_config()`).
        workdir: the run folder receiving the report and the attack cache.
        substitute: the black-box adversary's model, or `None` (no transfer rows).

    Returns:
        The report.
    """
    workdir = pathlib.Path(workdir)
    report = robustness.robustness_report(
        model,
        x,
        y,
        attacks=_plain(config.attacks),
        epsilons=tuple(config.epsilons),
        substitute=substitute,
        transfer_attacks=_plain(config.transfer_attacks),
        false_class_attacks=_plain(config.false_class_attacks),
        false_class_epsilons=tuple(config.false_class_epsilons),
        num_ranks=config.num_ranks,
        tolerance=config.tolerance,
        batch_size=config.batch_size,
        cache_dir=workdir / CACHE,
        verbose=config.verbose,
    )
    (workdir / "robustness.json").write_text(json.dumps(report, indent=2))
    markdown = robustness.format_markdown(report, title=f"Robustness of {workdir}")
    (workdir / "robustness.md").write_text(markdown)
    print(markdown, flush=True)
    return report


def find_runs(workdir: str | pathlib.Path) -> list[pathlib.Path]:
    """Finished classifier runs at or below `workdir`: folders holding `model.keras` and `config.json`."""
    workdir = pathlib.Path(workdir)
    runs = sorted(path.parent for path in workdir.rglob("model.keras") if (path.parent / "config.json").exists())
    if not runs:
        raise FileNotFoundError(
            f"No finished classifier run (model.keras + config.json) at or below {workdir}. "
            "Train one with trainers/classifier.py first."
        )
    return runs


def evaluate_run(run: pathlib.Path, config: ml_collections.ConfigDict, substitutes: pathlib.Path) -> dict[str, Any]:
    """Evaluates one run folder: rebuilds its test split, loads its model, trains or loads the substitute."""
    trainer_config = ml_collections.ConfigDict(json.loads((run / "config.json").read_text()))
    if config.data_dir:
        trainer_config.data_dir = config.data_dir
    dataset = classifier.load_dataset(trainer_config)
    count = config.num_examples or len(dataset.x_test)
    x, y = dataset.x_test[:count], dataset.y_test[:count]
    substitute = None
    if config.substitute.model and config.transfer_attacks:
        path = substitutes / f"{trainer_config.dataset}_split{trainer_config.seed}.keras"
        substitute = train_substitute(dataset, config.substitute, path)
    print(f"=== {run}: {len(x)} test images of {dataset.summary()}", flush=True)
    return evaluate_model(keras.models.load_model(run / "model.keras"), x, y, config, run, substitute)


def _variant(run: pathlib.Path, workdir: pathlib.Path) -> str:
    """`ce` for `workdir/ce/seed_0`; the relative path for other layouts; `.` for the workdir itself."""
    relative = run.relative_to(workdir)
    if relative.name.startswith("seed_"):
        relative = relative.parent
    return str(relative)


def _mean_shares(shares: Sequence[Sequence[float] | None]) -> list[dict[str, float]] | None:
    """Mean ± std per rank over the runs with new successes (`None` if none had any)."""
    shares = [s for s in shares if s is not None]
    return [_mean_std(values) for values in zip(*shares)] if shares else None


def compare_reports(reports: Mapping[str, Sequence[Mapping]]) -> dict[str, Any]:
    """Mean ± std over seeds of every table cell, check and false-class share, per variant.

    Args:
        reports: `{variant: [report of seed 0, report of seed 1, ...]}`.

    Returns:
        `{"variants", "rows": [{"attack", "threat", "budget", variant: {mean, std, values}}],
        "checks": {variant: {check name: "k/n PASS"}}, "false_class": {variant: {attack:
        {"ranks", "shares": [{mean, std}], "new_successes": [...]}}}}`.
    """
    variants = list(reports)
    cells: dict[tuple, dict[str, list[float]]] = {}
    for variant, runs in reports.items():
        for report in runs:
            cells.setdefault(("clean", "-", "0"), {}).setdefault(variant, []).append(report["clean_accuracy"])
            for row in report["rows"]:
                key = (row["attack"], row["threat"], robustness.format_budget(row))
                cells.setdefault(key, {}).setdefault(variant, []).append(row["accuracy"])
    rows = [
        {
            "attack": attack,
            "threat": threat,
            "budget": budget,
            **{v: {**_mean_std(values), "values": values} for v, values in by_variant.items()},
        }
        for (attack, threat, budget), by_variant in cells.items()
    ]
    checks = {
        variant: {
            check["name"]: f"{sum(r['checks'][i]['status'] == 'PASS' for r in runs)}/{len(runs)} PASS"
            for i, check in enumerate(runs[0]["checks"])
        }
        for variant, runs in reports.items()
    }
    false_class = {
        variant: {
            analysis["attack"]: {
                "ranks": analysis["ranks"],
                "shares": _mean_shares([r["false_class"][i]["total"]["shares"] for r in runs]),
                "new_successes": [r["false_class"][i]["total"]["new_successes"] for r in runs],
            }
            for i, analysis in enumerate(runs[0]["false_class"])
        }
        for variant, runs in reports.items()
    }
    return {"variants": variants, "rows": rows, "checks": checks, "false_class": false_class}


def format_comparison(comparison: Mapping[str, Any], title: str = "Robustness comparison") -> str:
    """Markdown for `compare_reports`: accuracy (%) mean ± std per variant, checks, false-class shares."""
    variants = comparison["variants"]
    seeds = {v: len(next(row[v]["values"] for row in comparison["rows"] if v in row)) for v in variants}
    lines = [
        f"## {title}",
        "",
        "Accuracy (%), mean ± std over seeds (" + ", ".join(f"{v}: {n}" for v, n in seeds.items()) + ").",
        "",
        f"| attack | threat model | ε | {' | '.join(variants)} |",
        "|---|---|---|" + "---|" * len(variants),
    ]
    for row in comparison["rows"]:
        cells = [f"{row[v]['mean']:.1f} ± {row[v]['std']:.1f}" if v in row else "-" for v in variants]
        lines.append(f"| {row['attack']} | {row['threat']} | {row['budget']} | {' | '.join(cells)} |")
    names = list(next(iter(comparison["checks"].values())))
    lines += [
        "",
        "Gradient-masking checks:",
        "",
        f"| check | {' | '.join(variants)} |",
        "|---|" + "---|" * len(variants),
    ]
    lines += [f"| {name} | {' | '.join(comparison['checks'][v][name] for v in variants)} |" for name in names]
    analyses = [(v, attack, a) for v, by_attack in comparison["false_class"].items() for attack, a in by_attack.items()]
    if analyses:
        ranks = analyses[0][2]["ranks"]
        lines += [
            "",
            "Most probable false class: share (%) of all newly successful attacks over the ε grid landing "
            "in the r-th most probable clean class (mean ± std over seeds).",
            "",
            f"| variant | attack | new successes | {' | '.join(f'rank {r}' for r in ranks)} |",
            "|---|---|---|" + "---|" * len(ranks),
        ]
    for variant, attack, analysis in analyses:
        if analysis["shares"] is None:
            shares = " | ".join(["-"] * len(ranks))
        else:
            shares = " | ".join(f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}" for s in analysis["shares"])
        new = "/".join(str(n) for n in analysis["new_successes"])
        lines.append(f"| {variant} | {attack} | {new} | {shares} |")
    return "\n".join(lines) + "\n"


def evaluate_workdir(config: ml_collections.ConfigDict, workdir: str | pathlib.Path) -> dict[str, Any]:
    """Evaluates every finished run at or below `workdir` (see the module docstring).

    Args:
        config: an evaluation config (`default_config()`, e.g. `configs/robustness_mnist5k.py`).
        workdir: a run folder or a comparison folder.

    Returns:
        `{run path: report}`, plus `"comparison"` with `compare_reports` when there are
        several runs.

    Raises:
        FileNotFoundError: no finished run below `workdir`.
    """
    workdir = pathlib.Path(workdir)
    runs = find_runs(workdir)
    results: dict[str, Any] = {}
    grouped: dict[str, list] = {}
    for run in runs:
        report = evaluate_run(run, config, workdir / SUBSTITUTES)
        results[str(run)] = report
        grouped.setdefault(_variant(run, workdir), []).append(report)
    if len(runs) > 1:
        comparison = compare_reports(grouped)
        (workdir / "robustness_comparison.json").write_text(json.dumps(comparison, indent=2))
        markdown = format_comparison(comparison, title=f"Robustness comparison of {workdir}")
        (workdir / "robustness_comparison.md").write_text(markdown)
        print(markdown, flush=True)
        results["comparison"] = comparison
    return results

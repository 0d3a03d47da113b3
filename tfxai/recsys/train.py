"""The AMCF trainer: MovieLens -> base model and AMCF(base) -> ratings and explainability -> workdir.

`trainers/amcf.py` is a thin absl app around `train_and_evaluate(config, workdir)`; the configs
live in `configs/amcf_ml100k.py`. For every split (one seeded hold-out split or k folds) it trains
the base model alone and AMCF around the same base (same seed, so the same initial weights and
batch order), then scores rating accuracy (RMSE, MAE) and explainability (T1@3, B1@3, T3@5, B3@5,
score_s against the surrogate truth of the *training* ratings, all users) for AMCF, the LR
baseline, the non-personalised baseline and the random baseline. The work directory receives:

| path | what |
|---|---|
| `config.json` | the config |
| `<split>/<model>/backup/` | resume state (weights, optimizer, epoch), written every epoch, removed when the model is done |
| `<split>/<model>/history.csv` | per-epoch losses, RMSE, seconds; `val_*` is the early-stopping part of the training ratings with `validation_size > 0`, else the held-out split, logged for the curve only (nothing is selected on it) |
| `<split>/<model>/model.keras` | the trained model (loads without `custom_objects` once `tfxai.recsys` is imported) |
| `<split>/evaluation.json` | that split's scores |
| `results.json`, `results.md` | scores (mean and std over splits), timing and a sample explanation |

Run the same command again after an interruption: finished models and splits are kept, an
interrupted fit resumes from its last finished epoch, and a finished workdir is not retrained.

The optimiser takes parameter groups (`GroupSGD`, `GroupAdam`): per-group learning-rate
multipliers and coupled L2 decay (PyTorch's SGD `weight_decay`), matched on variable paths. The
authors train with SGD and such groups; `configs/amcf_ml100k.py:svd,120,authors` converts their
recipe to tfxai's mean-squared loss.
"""

from __future__ import annotations

import csv
import json
import pathlib
import platform
import re
import shutil
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import ml_collections
import numpy as np
import tensorflow as tf

import tfxai
from tfxai.recsys import amcf as amcf_lib
from tfxai.recsys import data as data_lib
from tfxai.recsys import metrics as metrics_lib
from tfxai.recsys import models as models_lib

MODEL_KINDS = ("base", "amcf")
_OPTIMIZERS = ("sgd", "adam")
_GROUP_KEYS = {"pattern", "learning_rate_multiplier", "l2"}
_EVAL_BATCH = 4096


# --------------------------------------------------------------------------- optimisers


class _ParameterGroups:
    """Per-parameter-group learning-rate multipliers and coupled L2 decay for a Keras optimizer.

    A variable belongs to the first group whose `pattern` (a regular expression) matches its
    `path`; its step uses `learning_rate * learning_rate_multiplier` and the gradient
    `g + l2 * θ` (PyTorch's `weight_decay`: coupled, so it is scaled by the learning rate and,
    for Adam, normalised). Variables no group matches use multiplier 1 and `l2`.
    """

    def __init__(self, *args, parameter_groups: Sequence[dict] = (), l2: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.parameter_groups = [_check_group(group) for group in parameter_groups]
        if not l2 >= 0:
            raise ValueError(f"Invalid value for argument `l2`. Expected a float >= 0. Received: l2={l2!r}")
        self.l2 = float(l2)

    def group_settings(self, path: str) -> tuple[float, float]:
        """`(learning_rate_multiplier, l2)` of the variable at `path`."""
        for group in self.parameter_groups:
            if re.search(group["pattern"], path):
                return group["learning_rate_multiplier"], group["l2"]
        return 1.0, self.l2

    def build(self, variables):
        super().build(variables)
        self._group_settings = [self.group_settings(variable.path) for variable in variables]

    def update_step(self, gradient, variable, learning_rate):
        # `variable` may be the backend's tf.Variable (no path): look it up by index.
        multiplier, l2 = self._group_settings[self._get_variable_index(variable)]
        if l2:  # dense, as PyTorch's weight decay: every row of an embedding decays every step
            gradient = tf.convert_to_tensor(gradient) + l2 * tf.convert_to_tensor(variable)
        super().update_step(gradient, variable, learning_rate * multiplier)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "parameter_groups": [dict(group) for group in self.parameter_groups],
            "l2": self.l2,
        }


def _check_group(group) -> dict:
    group = dict(group)
    if set(group) != _GROUP_KEYS:
        raise ValueError(f"Invalid parameter group. Expected the keys {sorted(_GROUP_KEYS)}. Received: {group}")
    try:
        re.compile(group["pattern"])
    except re.error as error:
        raise ValueError(f"Invalid parameter group pattern {group['pattern']!r}: {error}") from None
    if not group["learning_rate_multiplier"] > 0 or not group["l2"] >= 0:
        raise ValueError(
            f"Invalid parameter group. Expected learning_rate_multiplier > 0 and l2 >= 0. Received: {group}"
        )
    return {
        "pattern": str(group["pattern"]),
        "learning_rate_multiplier": float(group["learning_rate_multiplier"]),
        "l2": float(group["l2"]),
    }


@keras.saving.register_keras_serializable(package="tfxai")
class GroupSGD(_ParameterGroups, keras.optimizers.SGD):
    """`keras.optimizers.SGD` with parameter groups (see `_ParameterGroups`): the authors' optimiser.

    Args:
        learning_rate, momentum, ...: as `keras.optimizers.SGD`.
        parameter_groups: dicts `{"pattern", "learning_rate_multiplier", "l2"}`. Defaults to none.
        l2: coupled L2 decay of the variables no group matches. Defaults to 0.
    """


@keras.saving.register_keras_serializable(package="tfxai")
class GroupAdam(_ParameterGroups, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with parameter groups (L2 added to the gradient, as PyTorch's Adam)."""


# --------------------------------------------------------------------------- config


def default_config() -> ml_collections.ConfigDict:
    """Every field the trainer reads, with its default (`configs/amcf_ml100k.py` overrides some)."""
    config = ml_collections.ConfigDict()
    config.data_source = "grouplens"  # grouplens (a folder) | tfds (movielens/100k-ratings)
    config.data_dir = ""  # grouplens: folder with u.data, u.item, u.genre (required); tfds: a TFDS data dir
    config.tfds_name = data_lib.TFDS_NAME
    config.max_users = 0  # > 0: keep that many users, drawn with `seed` (quick runs)
    config.split = "holdout"  # holdout (seeded, test_size) | kfold (num_folds)
    config.test_size = 0.2
    config.num_folds = 5
    config.base = "svd"  # svd | ncf | fm
    config.dim = 120
    config.embeddings_stddev = 0.1
    config.ncf_hidden_units = (64, 32)
    config.models = MODEL_KINDS  # train the base alone and AMCF(base)
    config.interpretation_weight = 0.05  # λ
    config.mask_attention = False
    config.attention_units = (50, 25)
    config.normalize_aspects = True
    config.optimizer = "adam"  # sgd | adam (both with parameter groups)
    config.learning_rate = 1e-3
    config.momentum = 0.0  # sgd only
    config.l2 = 0.0  # coupled L2 of the variables no parameter group matches
    config.parameter_groups = ml_collections.ConfigDict()  # name -> {pattern, learning_rate_multiplier, l2}
    config.batch_size = 256
    config.epochs = 20
    config.validation_size = 0.0  # > 0: hold out this fraction of the training ratings for early stopping
    config.early_stopping_patience = 3  # epochs without a better validation RMSE (with validation_size > 0)
    config.lr_baseline_l2 = 1.0  # ridge penalty of the LR baseline
    config.explain_user_id = 0  # user of the sample explanation (external id); 0: the most active user
    config.seed = 0
    config.verbose = 2  # Keras progress: 1 = progress bar, 2 = one line per epoch
    return config


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Checks a trainer config early, with messages naming the field."""
    missing = sorted(set(default_config()) - set(config))
    if missing:
        raise ValueError(f"The config lacks the fields {missing}. See configs/amcf_ml100k.py for a complete config.")
    if config.data_source not in ("grouplens", "tfds"):
        raise ValueError(f"config.data_source: expected 'grouplens' or 'tfds'. Received: {config.data_source!r}.")
    if config.data_source == "grouplens" and not config.data_dir:
        raise ValueError(
            "config.data_dir: required with data_source='grouplens': the MovieLens 100K folder holding "
            f"{list(data_lib.GROUPLENS_FILES)} (e.g. --config.data_dir=/path/to/ml-100k)."
        )
    if config.base not in models_lib.BASES:
        raise ValueError(
            f"config.base: unknown base model {config.base!r}. Expected one of {sorted(models_lib.BASES)}."
        )
    if config.split not in ("holdout", "kfold"):
        raise ValueError(f"config.split: expected 'holdout' or 'kfold'. Received: {config.split!r}.")
    if not config.models or not set(config.models) <= set(MODEL_KINDS):
        raise ValueError(f"config.models: expected a non-empty subset of {MODEL_KINDS}. Received: {config.models!r}.")
    if config.optimizer not in _OPTIMIZERS:
        raise ValueError(f"config.optimizer: expected one of {_OPTIMIZERS}. Received: {config.optimizer!r}.")
    for key in ("dim", "batch_size", "epochs", "num_folds", "early_stopping_patience"):
        if isinstance(config[key], bool) or not isinstance(config[key], int) or config[key] < 1:
            raise ValueError(f"config.{key}: expected a positive int. Received: {config[key]!r}.")
    if not 0 < config.test_size < 1:
        raise ValueError(f"config.test_size: expected a fraction in (0, 1). Received: {config.test_size!r}.")
    if not 0 <= config.validation_size < 1:
        raise ValueError(
            f"config.validation_size: expected a fraction in [0, 1). Received: {config.validation_size!r}."
        )
    if not config.learning_rate > 0:
        raise ValueError(f"config.learning_rate: expected > 0. Received: {config.learning_rate!r}.")
    for name, group in config.parameter_groups.items():
        try:
            _check_group(group)
        except ValueError as error:
            raise ValueError(f"config.parameter_groups.{name}: {error}") from None


# --------------------------------------------------------------------------- pieces


def load_data(config: ml_collections.ConfigDict) -> data_lib.RatingsData:
    """The configured ratings (`data_source`, `data_dir`, `max_users`)."""
    if config.data_source == "grouplens":
        data = data_lib.load_grouplens(config.data_dir)
    else:
        data = data_lib.load_tfds(config.tfds_name, data_dir=config.data_dir or None)
    if config.max_users:
        data = data.subsample_users(config.max_users, seed=config.seed)
    return data


def build_model(
    config: ml_collections.ConfigDict, data: data_lib.RatingsData, kind: str, global_mean: float
) -> keras.Model:
    """The base model (`kind="base"`) or AMCF around it (`kind="amcf"`), uncompiled."""
    extra = {"hidden_units": tuple(config.ncf_hidden_units)} if config.base == "ncf" else {}
    base = models_lib.build_base(
        config.base,
        data.num_users,
        data.num_items,
        config.dim,
        num_aspects=data.num_aspects,
        global_mean=global_mean,
        embeddings_stddev=config.embeddings_stddev,
        name=config.base,
        **extra,
    )
    if kind == "base":
        return base
    return amcf_lib.AMCF(
        base,
        data.num_aspects,
        interpretation_weight=config.interpretation_weight,
        attention_units=tuple(config.attention_units),
        mask_attention=config.mask_attention,
        normalize_aspects=config.normalize_aspects,
        name="amcf",
    )


def build_optimizer(config: ml_collections.ConfigDict) -> keras.optimizers.Optimizer:
    groups = [dict(group) for group in config.parameter_groups.values()]
    if config.optimizer == "sgd":
        return GroupSGD(config.learning_rate, momentum=config.momentum, parameter_groups=groups, l2=config.l2)
    return GroupAdam(config.learning_rate, parameter_groups=groups, l2=config.l2)


class _EpochSeconds(keras.callbacks.Callback):
    """Adds `seconds` (wall time of the epoch, validation included) to the epoch logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self._started


def fit_model(
    config: ml_collections.ConfigDict,
    data: data_lib.RatingsData,
    train: data_lib.Ratings,
    test: data_lib.Ratings,
    kind: str,
    model_dir: pathlib.Path,
) -> keras.Model:
    """Trains one model in `model_dir`, resuming an interrupted fit; a finished one is loaded.

    With `config.validation_size > 0` that fraction of `train` is held out and training stops
    early on its RMSE (best weights restored); otherwise `test` is only logged (`val_*`).

    Raises:
        FloatingPointError: the training loss became NaN (the model is not saved).
    """
    final = model_dir / "model.keras"
    if final.exists():
        print(f"{final} exists: loading it instead of training.")
        return keras.models.load_model(final)
    model_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)  # base and AMCF: same initial base weights, same batches
    model = build_model(config, data, kind, float(train.ratings.mean()))
    model.compile(
        optimizer=build_optimizer(config), loss="mse", metrics=[keras.metrics.RootMeanSquaredError(name="rmse")]
    )
    backup = model_dir / "backup"
    callbacks = [
        _EpochSeconds(),
        keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False),
        keras.callbacks.CSVLogger(str(model_dir / "history.csv"), append=True),
        keras.callbacks.TerminateOnNaN(),
    ]
    if config.validation_size:
        train, monitored = data_lib.split_ratings(train, config.validation_size, seed=config.seed + 1)
        callbacks.append(
            keras.callbacks.EarlyStopping(
                "val_rmse", patience=config.early_stopping_patience, restore_best_weights=True
            )
        )
    else:
        monitored = test
    history = model.fit(
        data.pipeline(train, config.batch_size, shuffle=True, seed=config.seed),
        validation_data=data.pipeline(monitored, _EVAL_BATCH),
        epochs=config.epochs,
        shuffle=False,  # the pipeline reshuffles every epoch itself
        callbacks=callbacks,
        verbose=config.verbose,
    )
    losses = history.history.get("loss", [])
    if losses and not np.isfinite(losses[-1]):
        raise FloatingPointError(
            f"Training {model.name} diverged: the loss became {losses[-1]} in epoch {len(history.epoch)} "
            f"(see {model_dir / 'history.csv'}). Lower config.learning_rate or config.embeddings_stddev."
        )
    model.save(final)
    shutil.rmtree(backup, ignore_errors=True)
    return model


def in_batches(function: Callable, arrays: Sequence[np.ndarray], batch_size: int = _EVAL_BATCH) -> np.ndarray:
    """`function(*arrays)` evaluated on row chunks of `batch_size` (bounded memory), concatenated."""
    compiled = tf.function(function, reduce_retracing=True)
    size = len(arrays[0])
    return np.concatenate(
        [
            compiled(*(array[start : start + batch_size] for array in arrays)).numpy()
            for start in range(0, size, batch_size)
        ]
    )


def _read_history(path: pathlib.Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with path.open() as handle:
        rows = [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]
    return list({row["epoch"]: row for row in rows}.values())  # a resumed epoch may repeat: keep its last row


def evaluate_split(
    config: ml_collections.ConfigDict,
    data: data_lib.RatingsData,
    train: data_lib.Ratings,
    test: data_lib.Ratings,
    split_dir: pathlib.Path,
) -> dict[str, Any]:
    """Trains the configured models on one split and scores them and the baselines."""
    done = split_dir / "evaluation.json"
    if done.exists():
        return json.loads(done.read_text())
    base_name = config.base.upper()
    names = {"base": base_name, "amcf": f"AMCF({base_name})"}
    truth_raw = metrics_lib.surrogate_preferences(
        train, data.item_aspects, data.num_users, max_rating=data.rating_scale[1], normalize=False
    )
    truth = metrics_lib.l1_normalize(truth_raw)
    all_users = np.arange(data.num_users, dtype=np.int32)
    test_aspects = data.item_aspects[test.items]
    rows, seconds = {}, {}

    def explainability(general, specific) -> dict[str, float]:
        scores = metrics_lib.preference_scores(truth, general, seed=config.seed)
        pairs = metrics_lib.specific_preference_scores(truth, test.users, test_aspects, specific)
        return {**scores, "score_s": float(np.nanmean(pairs)), "score_s_pairs": int(np.sum(~np.isnan(pairs)))}

    for kind in config.models:
        model = fit_model(config, data, train, test, kind, split_dir / kind)
        predicted = model.predict(data.pipeline(test, _EVAL_BATCH), verbose=0).reshape(-1)
        rows[names[kind]] = {
            "RMSE": metrics_lib.rmse(test.ratings, predicted),
            "MAE": metrics_lib.mae(test.ratings, predicted),
        }
        history = _read_history(split_dir / kind / "history.csv")
        seconds[kind] = float(np.median([row["seconds"] for row in history])) if history else None
        if kind == "amcf":
            general = in_batches(model.general_preference, [all_users])
            specific = in_batches(model.specific_preference, [test.users, test.items, test_aspects])
            if not (np.all(np.isfinite(general)) and np.all(np.isfinite(specific))):
                raise FloatingPointError(
                    f"AMCF produced non-finite preferences; see {split_dir / kind / 'history.csv'}."
                )
            rows[names[kind]].update(explainability(general, specific))

    regression = metrics_lib.UserLinearRegression(config.lr_baseline_l2).fit(train, data.item_aspects, data.num_users)
    predicted = regression.predict(test.users, test_aspects)
    rows["LR"] = {
        "RMSE": metrics_lib.rmse(test.ratings, predicted),
        "MAE": metrics_lib.mae(test.ratings, predicted),
        **explainability(
            regression.general_preference(all_users), regression.specific_preference(test.users, test_aspects)
        ),
    }
    population = metrics_lib.population_preferences(truth_raw)
    rows["non-personalised"] = explainability(population, population[test.users] * test_aspects)
    random = metrics_lib.random_preferences(data.num_users + len(test), data.num_aspects, seed=config.seed)
    rows["random"] = explainability(random[: data.num_users], random[data.num_users :] * test_aspects)
    evaluation = {
        "rows": rows,
        "median_epoch_seconds": seconds,
        "train_ratings": len(train),
        "test_ratings": len(test),
        "users_scored": data.num_users,
    }
    done.write_text(json.dumps(evaluation, indent=2))
    return evaluation


def explain_rating(model: amcf_lib.AMCF, data: data_lib.RatingsData, user_id, item_id) -> dict[str, Any]:
    """Why does user `user_id` like item `item_id`? AMCF's specific and general preferences.

    Args:
        model: a trained AMCF.
        data: the data it was trained on (ids, aspects, titles).
        user_id, item_id: external ids (GroupLens ids).

    Returns:
        A dict: `user_id`, `item_id`, `title`, `predicted_rating`, `aspects` (the item's aspects
        ranked by specific preference: name, L1-normalised preference as in the paper's Fig. 4, raw
        preference, attention weight), `likes` and `dislikes` (the user's top and bottom 3
        aspects of general preference, L1-normalised).

    Raises:
        ValueError: an unknown user or item id.
    """
    users, items = data.encode([user_id], [item_id])
    aspects = data.item_aspects[items]
    inputs = {"user": users, "item": items, "aspects": aspects}
    specific = model.specific_preference(users, items, aspects).numpy()[0]
    weights = model.interpret(items, aspects)["weights"].numpy()[0]
    general = metrics_lib.l1_normalize(model.general_preference(users).numpy())[0]
    share = metrics_lib.l1_normalize(specific)
    present = np.flatnonzero(aspects[0] > 0)
    ranked = present[np.argsort(-specific[present], kind="stable")]
    order = np.argsort(-general, kind="stable")
    return {
        "user_id": _plain(user_id),
        "item_id": _plain(item_id),
        "title": data.item_titles[items[0]],
        "predicted_rating": float(model(inputs).numpy()[0]),
        "aspects": [
            {
                "aspect": data.aspect_names[k],
                "preference": float(share[k]),
                "raw": float(specific[k]),
                "attention": float(weights[k]),
            }
            for k in ranked
        ],
        "likes": [(data.aspect_names[k], float(general[k])) for k in order[:3]],
        "dislikes": [(data.aspect_names[k], float(general[k])) for k in order[::-1][:3]],
    }


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def format_explanation(explanation: dict[str, Any], rating=None) -> str:
    """The `explain_rating` dict as text."""
    rated = f"rated {rating:g}, " if rating is not None else ""
    question = (
        f"Why does user {explanation['user_id']} like item {explanation['item_id']} "
        f"\"{explanation['title']}\" ({rated}predicted {explanation['predicted_rating']:.2f})?"
    )
    lines = [question]
    if not explanation["aspects"]:
        lines.append("  the item has no aspects: AMCF cannot explain it (all preferences are 0).")
    lines += [
        f"  {row['aspect']:<12} {row['preference']:+.3f}   (f = {row['raw']:+.4f}, attention {row['attention']:.3f})"
        for row in explanation["aspects"]
    ]
    likes = ", ".join(f"{name} {value:+.3f}" for name, value in explanation["likes"])
    dislikes = ", ".join(f"{name} {value:+.3f}" for name, value in explanation["dislikes"])
    lines.append(f"  general preference: likes {likes}; dislikes {dislikes}")
    return "\n".join(lines)


def _sample_user(config, data: data_lib.RatingsData) -> int:
    """Index of the sample user: `explain_user_id`, or the user with the most ratings."""
    if config.explain_user_id:
        (user,), _ = data.encode([config.explain_user_id], data.item_ids[:1])
        return int(user)
    return int(np.argmax(np.bincount(data.ratings.users, minlength=data.num_users)))


def _sample_explanation(config, data: data_lib.RatingsData, test: data_lib.Ratings, model) -> tuple[dict, str]:
    """Explains the sample user's held-out item with aspects that AMCF rates highest."""
    user = _sample_user(config, data)
    rows = test.take((test.users == user) & (data.item_aspects[test.items].sum(axis=1) > 0))
    if not len(rows):  # no held-out rating: explain a training one
        rows = data.ratings.take((data.ratings.users == user) & (data.item_aspects[data.ratings.items].sum(axis=1) > 0))
    best = int(np.argmax(model.predict(data.features(rows), verbose=0)))
    explanation = explain_rating(model, data, data.user_ids[user], data.item_ids[rows.items[best]])
    explanation["rating"] = float(rows.ratings[best])
    return explanation, format_explanation(explanation, rating=rows.ratings[best])


# --------------------------------------------------------------------------- report

_COLUMNS = ("RMSE", "MAE", "T1@3", "B1@3", "T3@5", "B3@5", "score_s")


def _aggregate(evaluations: list[dict]) -> tuple[dict, dict]:
    names = list(evaluations[0]["rows"])
    mean, std = {}, {}
    for name in names:
        columns = [column for column in _COLUMNS if column in evaluations[0]["rows"][name]]
        values = {column: np.array([e["rows"][name][column] for e in evaluations]) for column in columns}
        mean[name] = {column: float(v.mean()) for column, v in values.items()}
        std[name] = {column: float(v.std()) for column, v in values.items()}
    return mean, std


def markdown_table(mean: dict, std: dict, num_splits: int) -> str:
    """Rows = models and baselines, columns = `_COLUMNS`; `mean ± std` over splits when several."""
    lines = ["| model | " + " | ".join(_COLUMNS) + " |", "|---" * (len(_COLUMNS) + 1) + "|"]
    for name, row in mean.items():
        cells = [
            (f"{row[c]:.3f}" + (f" ± {std[name][c]:.3f}" if num_splits > 1 else "")) if c in row else "–"
            for c in _COLUMNS
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | pathlib.Path) -> dict[str, Any]:
    """Trains and evaluates the configured base model and AMCF in `workdir`.

    Args:
        config: a trainer config (`default_config()` lists every field).
        workdir: output folder; an interrupted run in it resumes, a finished one is returned as is.

    Returns:
        The results written to `workdir/results.json`.
    """
    validate_config(config)
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if (workdir / "results.json").exists():
        print(f"{workdir} already holds a finished run (results.json); not training again.")
        return json.loads((workdir / "results.json").read_text())
    (workdir / "config.json").write_text(config.to_json_best_effort(indent=2))
    data = load_data(config)
    print(data.summary())
    _sample_user(config, data)  # an unknown explain_user_id fails now, not after training
    if config.split == "kfold":
        splits = data.kfold(config.num_folds, seed=config.seed)
        split_names = [f"fold_{k}" for k in range(len(splits))]
        split_text = f"{config.num_folds}-fold cross-validation (shuffled, seed {config.seed})"
    else:
        splits = [data.split(config.test_size, seed=config.seed)]
        split_names = ["holdout"]
        split_text = f"seeded {1 - config.test_size:.0%}/{config.test_size:.0%} hold-out split (seed {config.seed})"
    started = time.time()
    evaluations = []
    for name, (train, test) in zip(split_names, splits):
        print(f"== {name}: {len(train)} training and {len(test)} test ratings")
        evaluations.append(evaluate_split(config, data, train, test, workdir / name))
        print(markdown_table(evaluations[-1]["rows"], {}, 1))
    mean, std = _aggregate(evaluations)
    explanation = text = None
    if "amcf" in config.models:
        model = keras.models.load_model(workdir / split_names[0] / "amcf" / "model.keras")
        explanation, text = _sample_explanation(config, data, splits[0][1], model)
        print(text)
    seconds = evaluations[0]["median_epoch_seconds"]
    results = {
        "config": json.loads(config.to_json_best_effort()),
        "data": data.summary(),
        "split": split_text,
        "optimizer": _recipe_text(config),
        "mean": mean,
        "std": std,
        "splits": evaluations,
        "median_epoch_seconds": seconds,
        "explanation": explanation,
        "seconds_this_session": round(time.time() - started, 1),
        "versions": {
            "tfxai": tfxai.__version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
    }
    table = markdown_table(mean, std, len(evaluations))
    report = [
        f"# AMCF({config.base.upper()}), dim {config.dim}",
        "",
        f"Data: {data.summary()}.",
        "",
        f"Split: {split_text}; surrogate truth from the training ratings, all {data.num_users} users scored.",
        "",
        f"Optimiser: {_recipe_text(config)}.",
        "",
        table,
        "",
    ]
    if text:
        report += ["```", text, "```", ""]
    (workdir / "results.md").write_text("\n".join(report))
    (workdir / "results.json").write_text(json.dumps(results, indent=2))
    print(table)
    print(f"results: {workdir / 'results.json'}, {workdir / 'results.md'}")
    return results


def _recipe_text(config) -> str:
    groups = "; ".join(
        f"{name}: /{group.pattern}/ lr x{group.learning_rate_multiplier:g}, l2 {group.l2:g}"
        for name, group in config.parameter_groups.items()
    )
    stopping = (
        f" (early stopping: {config.validation_size:g} of the training ratings, patience "
        f"{config.early_stopping_patience})"
        if config.validation_size
        else ""
    )
    return (
        f"{config.optimizer} lr {config.learning_rate:g}, l2 {config.l2:g}"
        + (f", groups [{groups}]" if groups else "")
        + f", batch {config.batch_size}, {'at most ' if stopping else ''}{config.epochs} epochs{stopping}, "
        f"λ {config.interpretation_weight:g}, attention {'masked' if config.mask_attention else 'unmasked (authors)'}"
    )

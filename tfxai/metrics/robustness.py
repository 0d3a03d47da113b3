"""Robustness metrics: adversarial accuracy, the PC-loss paper's robustness report, and the
rank statistics that compare attribution maps (top-k intersection, Kendall's tau).

`robustness_report(model, x, y, ...)` runs an attack x epsilon grid (white-box gradient
attacks, query-based black-box SPSA, and black-box transfer from a substitute model) and
returns a JSON-ready dict with

- `rows`: the accuracy table (percent), one row per attack, threat model and epsilon;
- `checks`: the three gradient-masking checks of the PC-loss paper ("Identifying Gradient
  Masking", after Athalye et al. 2018 and Carlini et al. 2019), each PASS / FAIL / SKIP:
  iterative attacks at least as strong as one-step, black-box attacks no stronger than
  white-box, accuracy decreasing as epsilon grows;
- `false_class`: the "most probable false class" analysis of the paper's Fig. 2: of the
  attacks that newly succeed when epsilon grows on a grid, the share landing in the 2nd,
  3rd, 4th and 5th most probable class of the clean prediction.

`format_markdown(report)` renders it. Every attack cell can be cached to disk
(`cache_dir`), so an interrupted evaluation resumes where it stopped.

Reference:
    [Li et al., 2021](https://arxiv.org/abs/2012.07688), Fig. 2, Tables 1-5 and
    "Identifying Gradient Masking"; [Chen et al., 2019](https://arxiv.org/abs/1905.09957)
    (paper 002), "Evaluation setup" (top-k intersection, Kendall's tau).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tfxai._validation import check_bool, check_float, check_int, invalid_value_message
from tfxai.attacks._common import prepare
from tfxai.attacks.transfer import ATTACKS

WHITE_BOX = "white-box"
QUERY = "black-box (query)"
TRANSFER = "black-box (transfer)"

# The PC-loss paper's protocol (Table 1 and 3); these are also the defaults of tfxai.attacks.
DEFAULT_ATTACKS: dict[str, dict] = {
    "fgsm": {},
    "bim": {"steps": 10, "step_size": 0.01},
    "pgd": {"steps": 40, "step_size": 0.01},
    "mim": {"steps": 40, "step_size": 0.01},
    "cw_l2": {"confidence": 0.0, "steps": 100, "learning_rate": 0.001},
    "spsa": {"epsilons": (0.3,), "learning_rate": 0.01, "delta": 0.01},
}
DEFAULT_TRANSFER_ATTACKS: dict[str, dict] = {"pgd": DEFAULT_ATTACKS["pgd"], "mim": DEFAULT_ATTACKS["mim"]}
DEFAULT_FALSE_CLASS_ATTACKS: dict[str, dict] = {"fgsm": {}, "mim": DEFAULT_ATTACKS["mim"]}
DEFAULT_FALSE_CLASS_EPSILONS = tuple(round(0.02 * i, 2) for i in range(1, 16))  # 0.02, 0.04, ..., 0.3

_ONE_STEP = ("fgsm",)
_ITERATIVE = ("bim", "pgd", "mim")
_RESERVED = ("model", "x", "y", "epsilon", "return_success", "return_distance")


# --------------------------------------------------------------------------------------------
# Attribution-map rank statistics (METHODS §5 "Attribution robustness", paper 002).


def _check_maps(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Flattens two batches of maps to float64 `[B, D]` after checking shapes and values."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim < 2 or a.shape[0] == 0 or a[0].size < 2:
        raise ValueError(
            "Invalid shapes for arguments `a` and `b`. Expected two batches of maps of the same shape [B, ...] "
            f"with B >= 1 and at least 2 features each. Received: a.shape={a.shape}, b.shape={b.shape}"
        )
    for name, array in (("a", a), ("b", b)):
        if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
            raise ValueError(invalid_value_message(name, "finite numbers", array))
    return a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)


def top_k_intersection(a: Any, b: Any, k: int) -> np.ndarray:
    """Top-k intersection of two attribution maps per example: `|topk(a) ∩ topk(b)| / k`.

    The k features with the largest values (ties broken by the lower flat index) of each
    map are compared. Rank by magnitude by passing `np.abs(a)`, `np.abs(b)`; aggregate
    channels first if features are pixels. Chen et al. evaluate only correctly classified
    examples; select them before calling.

    Args:
        a: attribution maps `[B, ...]` (numpy or tensor), e.g. of the clean inputs.
        b: maps of the same shape, e.g. of the perturbed inputs.
        k: the number of top features (k = 100 for 28x28, 1000 for 224x224 in paper 002).

    Returns:
        float64 `[B]` in [0, 1].

    Raises:
        ValueError: mismatched shapes, non-finite values, or k not in [1, D].

    Example:

    >>> top_k_intersection([[4.0, 3.0, 2.0, 1.0]], [[4.0, 1.0, 3.0, 2.0]], k=2)
    array([0.5])
    """
    a, b = _check_maps(a, b)
    k = check_int("k", k)
    if k > a.shape[1]:
        raise ValueError(invalid_value_message("k", f"k <= {a.shape[1]} (features per map)", k))
    rows = np.arange(len(a))[:, np.newaxis]
    in_a = np.zeros(a.shape, bool)
    in_b = np.zeros(b.shape, bool)
    in_a[rows, np.argsort(-a, axis=1, kind="stable")[:, :k]] = True
    in_b[rows, np.argsort(-b, axis=1, kind="stable")[:, :k]] = True
    return (in_a & in_b).sum(axis=1) / k


def _tied_pairs(sorted_rows: np.ndarray, new_run: np.ndarray) -> np.ndarray:
    """Sum over runs of equal values of t(t-1)/2, per row. `new_run[:, j]` marks run starts."""
    index = np.arange(sorted_rows.shape[1])
    run_start = np.maximum.accumulate(np.where(new_run, index, 0), axis=1)
    return (index - run_start).sum(axis=1)  # each element pairs with the earlier members of its run


def _inversions(values: np.ndarray) -> np.ndarray:
    """Per row, the number of pairs i < j with `values[i] > values[j]` (ties are no inversion).

    Bottom-up merge sort vectorised over rows and blocks: at width w, a stable argsort of each
    block of two sorted runs merges them, and a right-run element preceded by p - j left
    elements in the merge (p its merged position, j its index in the right run) is inverted
    with the other w - (p - j). Rows are padded with +inf, which adds no inversion.
    """
    rows, size = values.shape
    padded_size = 1 << max(0, (size - 1).bit_length())
    merged = np.concatenate([values, np.full((rows, padded_size - size), np.inf)], axis=1)
    count = np.zeros(rows, np.int64)
    width = 1
    while width < padded_size:
        blocks = merged.reshape(rows, padded_size // (2 * width), 2 * width)  # [B, blocks, left run + right run]
        order = np.argsort(blocks, axis=-1, kind="stable")  # equal values: the left element first
        from_right = order >= width
        left_before = np.arange(2 * width) - (np.cumsum(from_right, axis=-1) - 1)
        count += np.where(from_right, width - left_before, 0).sum(axis=(1, 2))
        merged = np.take_along_axis(blocks, order, axis=-1).reshape(rows, padded_size)
        width *= 2
    return count


def kendall_tau(a: Any, b: Any) -> np.ndarray:
    """Kendall's rank correlation tau-b between two attribution maps, per example.

    `tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2))` over the D flattened features,
    with n_c / n_d the concordant / discordant pairs, n_0 = D(D-1)/2 and n_1, n_2 the pairs
    tied in `a` and in `b` (Knight's O(D log^2 D) algorithm, vectorised over the batch; the
    same statistic as `scipy.stats.kendalltau`). Chen et al. evaluate only correctly
    classified examples; select them before calling.

    Args:
        a: attribution maps `[B, ...]` (numpy or tensor).
        b: maps of the same shape.

    Returns:
        float64 `[B]` in [-1, 1]; NaN for an example whose map is constant in `a` or `b`
        (as scipy).

    Raises:
        ValueError: mismatched shapes or non-finite values.

    Example:

    >>> kendall_tau([[1.0, 2.0, 3.0]], [[1.0, 3.0, 2.0]])  # 2 concordant, 1 discordant pair
    array([0.33333333])

    Reference:
        [Kendall, 1945](https://doi.org/10.1093/biomet/33.3.239), tau-b;
        [Knight, 1966](https://doi.org/10.1080/01621459.1966.10480879).
    """
    a, b = _check_maps(a, b)
    rows, size = a.shape
    total = size * (size - 1) // 2
    first = np.ones((rows, 1), bool)
    sorted_a, sorted_b = np.sort(a, axis=1), np.sort(b, axis=1)
    ties_a = _tied_pairs(sorted_a, np.hstack([first, sorted_a[:, 1:] != sorted_a[:, :-1]]))
    ties_b = _tied_pairs(sorted_b, np.hstack([first, sorted_b[:, 1:] != sorted_b[:, :-1]]))
    order = np.lexsort((b, a), axis=-1)  # by a, then by b
    a_by_a, b_by_a = np.take_along_axis(a, order, axis=1), np.take_along_axis(b, order, axis=1)
    joint_new = (a_by_a[:, 1:] != a_by_a[:, :-1]) | (b_by_a[:, 1:] != b_by_a[:, :-1])
    ties_joint = _tied_pairs(a_by_a, np.hstack([first, joint_new]))
    discordant = _inversions(b_by_a)
    concordant_minus_discordant = total - ties_a - ties_b + ties_joint - 2 * discordant
    with np.errstate(invalid="ignore", divide="ignore"):
        return concordant_minus_discordant / np.sqrt((total - ties_a).astype(np.float64) * (total - ties_b))


# --------------------------------------------------------------------------------------------
# Adversarial accuracy.


def _attack_function(method: Any) -> Callable:
    if method not in ATTACKS:
        raise ValueError(invalid_value_message("attack", f"one of {tuple(ATTACKS)}", method))
    return ATTACKS[method]


def _predict(model: Callable, x: np.ndarray) -> np.ndarray:
    return np.argmax(np.asarray(model(tf.constant(x), training=False)), axis=-1).astype(np.int32)


def _adversarial_predictions(
    model: Callable, x: np.ndarray, y: np.ndarray, method: str, kwargs: Mapping, source: Callable, batch_size: int
) -> np.ndarray:
    """The model's predictions `[N]` on adversarial examples crafted on `source` (the model: white-box)."""
    attack = _attack_function(method)
    predictions = []
    for start in range(0, len(x), batch_size):  # chunks of the batch, not examples
        chunk = slice(start, start + batch_size)
        x_adv = np.asarray(attack(source, x[chunk], y[chunk], **kwargs), np.float32)
        predictions.append(_predict(model, x_adv))
    return np.concatenate(predictions)


def _check_batch_size(batch_size: Any, size: int) -> int:
    if batch_size is None:
        return size
    return check_int("batch_size", batch_size)


def adversarial_accuracy(
    model: Callable,
    x: Any,
    y: Any,
    *,
    attack: str = "pgd",
    substitute: Callable | None = None,
    batch_size: int | None = None,
    return_per_example: bool = False,
    **attack_kwargs: Any,
) -> np.floating | tuple[np.floating, np.ndarray]:
    """Accuracy of `model` on adversarial examples of `(x, y)`.

    White-box by default: the attack differentiates (or, for SPSA, queries) `model`. With a
    `substitute` the examples are crafted on it and transferred to `model` (black-box
    transfer, Papernot et al., 2017). Examples already misclassified count as errors.

    Args:
        model: the evaluated model, mapping `x` to logits `[B, K]`.
        x: float inputs `[B, ...]` (numpy or tensor).
        y: integer labels `[B]` (or one-hot `[B, K]`).
        attack: a name of `tfxai.attacks.transfer.ATTACKS`: `"fgsm"`, `"bim"`, `"pgd"`,
            `"mim"`, `"cw_l2"`, `"spsa"`. Defaults to `"pgd"`.
        substitute: the model the attack is crafted on, or `None` (white-box).
            Defaults to `None`.
        batch_size: attack this many examples at a time (`None`: all at once). Defaults to `None`.
        return_per_example: also return the per-example correctness. Defaults to `False`.
        **attack_kwargs: arguments of the attack (`epsilon`, `steps`, `seed`, ...).

    Returns:
        The accuracy as a numpy float in [0, 1]; with `return_per_example=True`,
        `(accuracy, correct)` with `correct` a bool array `[B]`.

    Raises:
        TypeError, ValueError: invalid tensors or arguments (see `tfxai.attacks.pgd`).

    Example:

    >>> acc = adversarial_accuracy(model, x_test, y_test, attack="fgsm", epsilon=0.1)
    """
    if y is None:
        raise ValueError(invalid_value_message("y", "the true labels", y))
    inputs = prepare(model, x, y, clip=None, targeted=False)
    if substitute is not None:
        prepare(substitute, inputs.x, inputs.y, clip=None, targeted=False)
    if "return_success" in attack_kwargs or attack_kwargs.get("targeted", False):
        raise ValueError("`adversarial_accuracy` runs untargeted attacks and sets `return_success` itself.")
    x_np, y_np = inputs.x.numpy(), inputs.y.numpy()
    predictions = _adversarial_predictions(
        model,
        x_np,
        y_np,
        attack,
        attack_kwargs,
        model if substitute is None else substitute,
        _check_batch_size(batch_size, len(x_np)),
    )
    correct = predictions == y_np
    if check_bool("return_per_example", return_per_example):
        return np.mean(correct), correct
    return np.mean(correct)


# --------------------------------------------------------------------------------------------
# The most-probable-false-class analysis (PC-loss paper, Fig. 2).


def false_class_shares(
    clean_logits: Any, adversarial_predictions: Any, y: Any, epsilons: Sequence[float], *, num_ranks: int = 4
) -> dict[str, Any]:
    """Where newly successful attacks land, ranked by the clean prediction (Fig. 2 of Li et al.).

    For the examples the model classifies correctly, classes are ranked by their clean
    logit (rank 1 = the predicted = true class, rank 2 = the most probable false class, ...).
    An attack at grid value eps_m is *newly successful* on an example if it succeeds at eps_m
    but not at eps_{m-1} (eps_0 = 0: the clean input, correct by selection). For every grid
    step the function counts those examples and the share whose adversarial class has rank
    2, 3, ..., `num_ranks + 1` (the rest: `other`).

    Args:
        clean_logits: logits (or probabilities) on the clean inputs `[B, K]`.
        adversarial_predictions: predicted classes on the adversarial inputs `[M, B]`, one
            row per grid value.
        y: true labels `[B]`.
        epsilons: the grid eps_1 < ... < eps_M (for the labels of the steps).
        num_ranks: how many false-class ranks to report (2nd ... (num_ranks + 1)-th).
            Defaults to `4` (2nd-5th, as the paper).

    Returns:
        A dict with `correct` (examples used), `ranks` (`[2, ..., num_ranks + 1]`), and
        `steps`: per grid step `{"from", "to", "new_successes", "shares", "other"}` where
        `shares[r]` is the share of rank `ranks[r]`; `total` aggregates all steps. Shares are
        `None` for a step without new successes.

    Raises:
        ValueError: inconsistent shapes, labels out of range, or a grid that is not increasing.
    """
    logits = np.asarray(clean_logits, np.float64)
    predictions = np.asarray(adversarial_predictions)
    labels = np.asarray(y)
    epsilons = [float(e) for e in epsilons]
    if (
        logits.ndim != 2
        or predictions.ndim != 2
        or predictions.shape[1] != len(logits)
        or labels.shape != (len(logits),)
    ):
        raise ValueError(
            "Invalid shapes. Expected clean_logits [B, K], adversarial_predictions [M, B] and y [B]. Received: "
            f"clean_logits.shape={logits.shape}, adversarial_predictions.shape={predictions.shape}, y.shape={labels.shape}"
        )
    num_classes = logits.shape[1]
    for name, values in (("y", labels), ("adversarial_predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(invalid_value_message(name, f"class ids in [0, {num_classes - 1}]", values))
    if len(epsilons) != len(predictions) or np.any(np.diff([0.0] + epsilons) <= 0):
        raise ValueError(
            invalid_value_message(
                "epsilons",
                f"{len(predictions)} increasing values > 0 (one per row of adversarial_predictions)",
                epsilons,
            )
        )
    num_ranks = check_int("num_ranks", num_ranks)
    correct = np.argmax(logits, axis=1) == labels
    logits, predictions, labels = logits[correct], predictions[:, correct], labels[correct]
    adversarial_logit = np.take_along_axis(logits[np.newaxis], predictions[..., np.newaxis], axis=2)  # [M, B, 1]
    rank = 1 + (logits[np.newaxis] > adversarial_logit).sum(axis=2)  # [M, B]
    success = predictions != labels[np.newaxis]  # [M, B]
    new = success & ~np.vstack([np.zeros((1, success.shape[1]), bool), success[:-1]])  # [M, B]
    ranks = list(range(2, num_ranks + 2))

    def summary(new_mask: np.ndarray, new_rank: np.ndarray) -> dict[str, Any]:
        count = int(new_mask.sum())
        if count == 0:
            return {"new_successes": 0, "shares": None, "other": None}
        hits = [int(((new_rank == r) & new_mask).sum()) for r in ranks]
        return {"new_successes": count, "shares": [h / count for h in hits], "other": 1.0 - sum(hits) / count}

    steps = [
        {"from": low, "to": high, **summary(new[m], rank[m])}
        for m, (low, high) in enumerate(zip([0.0] + epsilons[:-1], epsilons))
    ]
    return {"correct": int(correct.sum()), "ranks": ranks, "steps": steps, "total": summary(new, rank)}


# --------------------------------------------------------------------------------------------
# Gradient-masking checks ("Identifying Gradient Masking" of the PC-loss paper).


def _reach(row: Mapping) -> float:
    """How far (L-inf) an iterative attack can move from its start: steps x step size."""
    defaults = inspect.signature(ATTACKS[row["method"]]).parameters
    steps = row["kwargs"].get("steps", defaults["steps"].default)
    step_size = row["kwargs"].get("step_size", defaults["step_size"].default)
    return steps * step_size


def _check(name: str, compared: int, failures: list[str], skipped: list[str]) -> dict[str, Any]:
    status = "SKIP" if compared == 0 else ("FAIL" if failures else "PASS")
    return {"name": name, "status": status, "compared": compared, "failures": failures, "skipped": skipped}


def gradient_masking_checks(rows: Sequence[Mapping], clean_accuracy: float, *, tolerance: float = 1.0) -> list[dict]:
    """The three gradient-masking checks of the PC-loss paper on a robustness table.

    1. *Iterative attacks are at least as strong as one-step attacks*: at every epsilon,
       the white-box accuracy under each iterative attack (BIM, PGD, MIM) is at most the
       FGSM accuracy (+ `tolerance`). Iterative attacks that cannot reach the ball's
       boundary (steps x step size < epsilon, e.g. BIM's 10 x 0.01 at epsilon 0.3) are
       skipped: their weakness is their budget, not masking.
    2. *Black-box attacks are no stronger than white-box attacks*: every black-box accuracy
       (transfer or SPSA) is at least the lowest white-box accuracy at the same epsilon
       (- `tolerance`). Masked gradients fail white-box attacks, not black-box ones.
    3. *Accuracy decreases as epsilon grows*: for every attack and threat model, from the
       clean accuracy (epsilon = 0) along the grid, no step up by more than `tolerance`,
       and the largest epsilon lowers the accuracy below the clean one by more than
       `tolerance` (an attack that changes nothing up to its largest budget fails).

    Args:
        rows: the `rows` of a `robustness_report` (dicts with `attack`, `method`,
            `threat`, `epsilon`, `kwargs`, `accuracy` in percent).
        clean_accuracy: accuracy on the clean inputs, percent.
        tolerance: differences up to this many percentage points count as ties.
            Defaults to `1.0`.

    Returns:
        Three dicts `{"name", "status" ("PASS" | "FAIL" | "SKIP"), "compared", "failures",
        "skipped"}`; SKIP when the table holds nothing to compare.

    Reference:
        [Athalye et al., 2018](https://arxiv.org/abs/1802.00420), Section 3.1;
        [Carlini et al., 2019](https://arxiv.org/abs/1902.06705), Section 5.
    """
    tolerance = check_float("tolerance", tolerance, minimum=0.0)
    graded = [row for row in rows if row["epsilon"] is not None]
    white = [row for row in graded if row["threat"] == WHITE_BOX]

    def label(row: Mapping) -> str:
        return f"{row['attack']} ({row['threat']}) eps={row['epsilon']:g}: {row['accuracy']:.1f} %"

    compared, failures, skipped = 0, [], []
    for one_step in (row for row in white if row["method"] in _ONE_STEP):
        for row in (r for r in white if r["method"] in _ITERATIVE and r["epsilon"] == one_step["epsilon"]):
            if _reach(row) < row["epsilon"] - 1e-9:
                skipped.append(f"{row['attack']} eps={row['epsilon']:g} (reach {_reach(row):g} < eps)")
                continue
            compared += 1
            if row["accuracy"] > one_step["accuracy"] + tolerance:
                failures.append(f"{label(row)} > {label(one_step)}")
    checks = [
        _check("iterative attacks at least as strong as one-step (accuracy <= FGSM)", compared, failures, skipped)
    ]

    compared, failures, skipped = 0, [], []
    for row in (r for r in graded if r["threat"] != WHITE_BOX):
        same_budget = [r for r in white if r["epsilon"] == row["epsilon"]]
        if not same_budget:
            skipped.append(f"{row['attack']} ({row['threat']}) eps={row['epsilon']:g} (no white-box row)")
            continue
        strongest = min(same_budget, key=lambda r: r["accuracy"])
        compared += 1
        if row["accuracy"] < strongest["accuracy"] - tolerance:
            failures.append(f"{label(row)} < {label(strongest)}")
    checks.append(_check("black-box accuracy >= white-box accuracy", compared, failures, skipped))

    compared, failures = 0, []
    for series_key in dict.fromkeys((row["attack"], row["threat"]) for row in graded):
        series = sorted((r for r in graded if (r["attack"], r["threat"]) == series_key), key=lambda r: r["epsilon"])
        clean = {"attack": "clean", "threat": "-", "epsilon": 0.0, "accuracy": clean_accuracy}
        for previous, row in zip([clean] + series[:-1], series):
            compared += 1
            if row["accuracy"] > previous["accuracy"] + tolerance:
                failures.append(f"{label(row)} > {label(previous)}")
        if series[-1]["accuracy"] >= clean_accuracy - tolerance:
            failures.append(f"{label(series[-1])}: no lower than the clean accuracy {clean_accuracy:.1f} %")
    checks.append(_check("accuracy decreasing in epsilon", compared, failures, []))
    return checks


# --------------------------------------------------------------------------------------------
# The report.


def _attack_specs(name: str, attacks: Mapping | Sequence[str]) -> dict[str, tuple[str, dict, tuple | None]]:
    """`{label: (method, kwargs, epsilons)}` from a mapping label -> kwargs or a list of names.

    A spec's kwargs may hold `"attack"` (the method; defaults to the label) and `"epsilons"`
    (this attack's own grid). `epsilons` is `None` for attacks without a budget (CW-L2) and
    `()` for "the report's grid".
    """
    if isinstance(attacks, str) or not isinstance(attacks, (Mapping, Sequence)):
        raise TypeError(
            invalid_value_message(name, "a mapping {label: attack kwargs} or a list of attack names", attacks)
        )
    if not isinstance(attacks, Mapping):
        attacks = {label: {} for label in attacks}
    specs = {}
    for label, kwargs in attacks.items():
        kwargs = dict(kwargs)
        method = kwargs.pop("attack", label)
        function = _attack_function(method)
        epsilons = kwargs.pop("epsilons", None)
        reserved = sorted(set(kwargs) & set(_RESERVED + ("targeted",)))
        unknown = sorted(set(kwargs) - set(inspect.signature(function).parameters))
        if reserved or unknown:
            raise ValueError(
                f"Invalid arguments for attack {label!r} ({method}) in `{name}`: {reserved + unknown}. The report sets "
                f"{list(_RESERVED)} itself (use 'epsilons' for a per-attack grid) and runs untargeted attacks."
            )
        if "epsilon" not in inspect.signature(function).parameters:
            if epsilons is not None:
                raise ValueError(f"Attack {label!r} ({method}) in `{name}` takes no epsilon; remove 'epsilons'.")
        elif epsilons is None:
            epsilons = ()
        else:
            epsilons = _check_epsilons(f"{name}[{label!r}]['epsilons']", epsilons)
        if "seed" in inspect.signature(function).parameters:
            kwargs.setdefault("seed", 0)
        specs[str(label)] = (method, kwargs, epsilons)
    return specs


def _check_epsilons(name: str, epsilons: Any) -> tuple[float, ...]:
    try:
        values = tuple(check_float(name, float(e), positive=True) for e in epsilons)
    except (TypeError, ValueError):
        values = ()
    if not values or np.any(np.diff(values) <= 0):
        raise ValueError(invalid_value_message(name, "increasing floats > 0", epsilons))
    return values


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha1()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _model_digest(model: Callable) -> str:
    weights = getattr(model, "weights", None)
    if weights is None:  # a plain callable: identify it by name only
        return hashlib.sha1(repr(model).encode()).hexdigest()
    return _digest(*(np.asarray(w) for w in weights))


class _Cells:
    """Computes attack cells (adversarial predictions `[N]`), memoised in memory and on disk."""

    def __init__(self, model, substitute, x, y, batch_size, cache_dir, total, verbose):
        self.model, self.substitute, self.x, self.y, self.batch_size = model, substitute, x, y, batch_size
        self.base_key = {
            "data": _digest(x, y),
            "model": _model_digest(model),
            "substitute": None if substitute is None else _model_digest(substitute),
            "batch_size": batch_size,
        }
        self.cache_dir = None if cache_dir is None else pathlib.Path(cache_dir)
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.memory: dict[str, tuple[np.ndarray, float]] = {}
        self.total, self.done, self.verbose = total, 0, verbose

    def __call__(self, label: str, method: str, kwargs: Mapping, epsilon: float | None, threat: str):
        """Returns `(predictions [N], seconds)`."""
        kwargs = dict(kwargs) if epsilon is None else {**kwargs, "epsilon": epsilon}
        key = {**self.base_key, "method": method, "kwargs": kwargs, "transfer": threat == TRANSFER}
        if threat != TRANSFER:
            key["substitute"] = None
        text = json.dumps(key, sort_keys=True, default=str)
        digest = hashlib.sha1(text.encode()).hexdigest()[:16]
        self.done += 1
        source = "computed"
        if digest in self.memory:
            predictions, seconds = self.memory[digest]
            source = "reused"
        else:
            path = None if self.cache_dir is None else self.cache_dir / f"{method}_{digest}.json"
            cached = json.loads(path.read_text()) if path is not None and path.exists() else None
            if cached is not None and cached["key"] == json.loads(text):
                predictions, seconds, source = np.asarray(cached["predictions"], np.int32), cached["seconds"], "cached"
            else:
                started = time.perf_counter()
                attacked = self.substitute if threat == TRANSFER else self.model
                predictions = _adversarial_predictions(
                    self.model, self.x, self.y, method, kwargs, attacked, self.batch_size
                )
                seconds = time.perf_counter() - started
                if path is not None:  # write-then-rename: an interruption never leaves a partial file
                    record = {"key": json.loads(text), "predictions": predictions.tolist(), "seconds": seconds}
                    temporary = path.with_suffix(".tmp")
                    temporary.write_text(json.dumps(record))
                    os.replace(temporary, path)
            self.memory[digest] = (predictions, seconds)
        if self.verbose:
            budget = "" if epsilon is None else f" eps={epsilon:g}"
            accuracy = 100.0 * np.mean(predictions == self.y)
            print(
                f"[{self.done}/{self.total}] {label} ({threat}){budget}: {accuracy:.1f} % ({source}, {seconds:.1f} s)",
                flush=True,
            )
        return predictions, seconds


def robustness_report(
    model: Callable,
    x: Any,
    y: Any,
    *,
    attacks: Mapping[str, Mapping] | Sequence[str] = DEFAULT_ATTACKS,
    epsilons: Sequence[float] = (0.1, 0.2, 0.3),
    substitute: Callable | None = None,
    transfer_attacks: Mapping[str, Mapping] | Sequence[str] = DEFAULT_TRANSFER_ATTACKS,
    false_class_attacks: Mapping[str, Mapping] | Sequence[str] = DEFAULT_FALSE_CLASS_ATTACKS,
    false_class_epsilons: Sequence[float] = DEFAULT_FALSE_CLASS_EPSILONS,
    num_ranks: int = 4,
    tolerance: float = 1.0,
    batch_size: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """The robustness table, gradient-masking checks and most-probable-false-class analysis.

    Runs every attack of `attacks` on `model` at every epsilon of `epsilons` (white-box;
    SPSA, which only queries the model, counts as black-box), every attack of
    `transfer_attacks` crafted on `substitute` and evaluated on `model` (black-box transfer,
    skipped without a substitute), and every attack of `false_class_attacks` on the finer
    grid `false_class_epsilons` (Fig. 2). Attacks are untargeted and use the true labels.
    Identical cells (same attack, arguments and epsilon) run once.

    Args:
        model: the evaluated model, mapping `x` to logits `[B, K]`.
        x: float inputs `[N, ...]` on the model's input scale (numpy or tensor).
        y: integer labels `[N]` (or one-hot).
        attacks: `{label: kwargs}` or a list of names; the method is `kwargs["attack"]` or
            the label, a name of `tfxai.attacks.transfer.ATTACKS`; `kwargs["epsilons"]`
            overrides the grid for that attack; the rest go to the attack (`seed` defaults to
            0). Attacks without epsilon (`cw_l2`) run once. Defaults to `DEFAULT_ATTACKS`
            (the PC-loss paper's protocol: FGSM, BIM 10 x 0.01, PGD and MIM 40 x 0.01,
            CW-L2 kappa = 0 with 100 steps of lr 0.001, SPSA at epsilon 0.3).
        epsilons: the L-inf budgets, increasing. Defaults to `(0.1, 0.2, 0.3)`.
        substitute: the black-box adversary's model, or `None`. Defaults to `None`.
        transfer_attacks: attacks crafted on `substitute`, same format. Defaults to
            `DEFAULT_TRANSFER_ATTACKS` (PGD and MIM, as the paper's Table 3).
        false_class_attacks: attacks of the false-class analysis, same format (an
            attack's `epsilons` is its grid). Attacks without epsilon are ignored.
            Defaults to FGSM and MIM (the paper's Fig. 2).
        false_class_epsilons: the analysis grid of attacks without their own.
            Defaults to 0.02, 0.04, ..., 0.3.
        num_ranks: false-class ranks reported (2nd ... (num_ranks + 1)-th). Defaults to `4`.
        tolerance: percentage points within which the gradient-masking checks count
            accuracies as equal. Defaults to `1.0`.
        batch_size: examples attacked at a time (`None`: all). Defaults to `None`.
        cache_dir: a folder where every cell's predictions are stored as soon as computed
            and read back by a later call with the same model weights, data, attack and
            arguments (an interrupted evaluation resumes). `None`: no cache. Defaults to `None`.
        verbose: print one progress line per cell. Defaults to `True`.

    Returns:
        A JSON-ready dict: `examples`, `num_classes`, `clean_accuracy` (%), `epsilons`,
        `tolerance`, `rows` (`{"attack", "method", "threat", "epsilon", "kwargs",
        "accuracy" (%), "seconds"}`), `checks` (see `gradient_masking_checks`),
        `false_class` (per attack `{"attack", "method", "kwargs", **false_class_shares}`)
        and `seconds`.

    Raises:
        TypeError, ValueError: invalid tensors, attack names or arguments.

    Example:

    >>> report = robustness_report(model, x_test[:500], y_test[:500], substitute=substitute,
    ...                            cache_dir="workdir/robustness_cache")
    >>> print(format_markdown(report))
    """
    started = time.perf_counter()
    if y is None:
        raise ValueError(invalid_value_message("y", "the true labels", y))
    inputs = prepare(model, x, y, clip=None, targeted=False)
    x_np, y_np = inputs.x.numpy(), inputs.y.numpy()
    if substitute is not None:
        prepare(substitute, x_np, y_np, clip=None, targeted=False)
    epsilons = _check_epsilons("epsilons", epsilons)
    specs = _attack_specs("attacks", attacks)
    transfer_specs = _attack_specs("transfer_attacks", transfer_attacks) if substitute is not None else {}
    false_class_specs = _attack_specs("false_class_attacks", false_class_attacks)
    false_class_epsilons = _check_epsilons("false_class_epsilons", false_class_epsilons)
    num_ranks = check_int("num_ranks", num_ranks)
    tolerance = check_float("tolerance", tolerance, minimum=0.0)
    verbose = check_bool("verbose", verbose)

    def budgets(spec: tuple) -> tuple:
        _, _, own = spec
        return (None,) if own is None else (own or epsilons)

    def in_paper_order(items: Mapping) -> list:  # FGSM, BIM, PGD, MIM, CW-L2, SPSA (config files sort keys)
        return sorted(items.items(), key=lambda item: list(ATTACKS).index(item[1][0]))

    plan = [
        (label, spec, eps, WHITE_BOX if spec[0] != "spsa" else QUERY)
        for label, spec in in_paper_order(specs)
        for eps in budgets(spec)
    ]
    plan += [(label, spec, eps, TRANSFER) for label, spec in in_paper_order(transfer_specs) for eps in budgets(spec)]
    grids = {
        label: spec[2] or false_class_epsilons
        for label, spec in in_paper_order(false_class_specs)
        if spec[2] is not None
    }
    batch_size = _check_batch_size(batch_size, len(x_np))
    cells = _Cells(
        model, substitute, x_np, y_np, batch_size, cache_dir, len(plan) + sum(map(len, grids.values())), verbose
    )

    clean_logits = np.concatenate(
        [
            np.asarray(model(inputs.x[start : start + batch_size], training=False), np.float64)
            for start in range(0, len(x_np), batch_size)
        ]
    )
    clean_accuracy = 100.0 * np.mean(np.argmax(clean_logits, axis=1) == y_np)
    rows = []
    for label, (method, kwargs, _), epsilon, threat in plan:
        predictions, seconds = cells(label, method, kwargs, epsilon, threat)
        rows.append(
            {
                "attack": label,
                "method": method,
                "threat": threat,
                "epsilon": epsilon,
                "kwargs": kwargs,
                "accuracy": 100.0 * float(np.mean(predictions == y_np)),
                "seconds": round(seconds, 2),
            }
        )
    false_class = []
    for label, grid in grids.items():
        method, kwargs, _ = false_class_specs[label]
        predictions = np.stack([cells(label, method, kwargs, eps, WHITE_BOX)[0] for eps in grid])
        shares = false_class_shares(clean_logits, predictions, y_np, grid, num_ranks=num_ranks)
        false_class.append({"attack": label, "method": method, "kwargs": kwargs, **shares})
    return {
        "examples": len(x_np),
        "num_classes": int(clean_logits.shape[1]),
        "clean_accuracy": clean_accuracy,
        "epsilons": list(epsilons),
        "tolerance": tolerance,
        "rows": rows,
        "checks": gradient_masking_checks(rows, clean_accuracy, tolerance=tolerance),
        "false_class": false_class,
        "seconds": round(time.perf_counter() - started, 1),
    }


def format_budget(row: Mapping) -> str:
    """The budget column of a table row: epsilon, `κ=<confidence>` for CW-L2, else `-`."""
    if row["epsilon"] is not None:
        return f"{row['epsilon']:g}"
    if row["method"] == "cw_l2":
        return f"κ={row['kwargs'].get('confidence', 0.0):g}"
    return "-"


def format_checks(checks: Sequence[Mapping]) -> list[str]:
    """One `PASS` / `FAIL` / `SKIP` line per gradient-masking check, failures indented below."""
    lines = []
    for check in checks:
        skipped = f"; skipped: {', '.join(check['skipped'])}" if check["skipped"] else ""
        lines.append(f"{check['status']} {check['name']} ({check['compared']} comparisons{skipped})")
        lines.extend(f"    - {failure}" for failure in check["failures"])
    return lines


def format_markdown(report: Mapping, title: str = "Robustness") -> str:
    """Renders a `robustness_report` as markdown: the table, the checks, the false-class shares.

    Args:
        report: the dict `robustness_report` returns (or its JSON, read back).
        title: the heading. Defaults to `"Robustness"`.

    Returns:
        Markdown text.
    """
    lines = [
        f"## {title}",
        "",
        f"{report['examples']} examples, clean accuracy {report['clean_accuracy']:.1f} %. "
        "Accuracy (%) under untargeted L-inf attacks (CW-L2: confidence κ).",
        "",
        "| attack | threat model | ε | accuracy (%) |",
        "|---|---|---|---|",
        f"| clean | - | 0 | {report['clean_accuracy']:.1f} |",
    ]
    lines += [f"| {r['attack']} | {r['threat']} | {format_budget(r)} | {r['accuracy']:.1f} |" for r in report["rows"]]
    lines += ["", f"Gradient-masking checks (tolerance {report['tolerance']:g} percentage points):", "", "```"]
    lines += format_checks(report["checks"]) + ["```"]
    for analysis in report["false_class"]:
        ranks = [f"{r}{'nd' if r == 2 else 'rd' if r == 3 else 'th'}" for r in analysis["ranks"]]
        lines += [
            "",
            f"Most probable false class, {analysis['attack']}: share (%) of the newly successful attacks per ε step "
            f"landing in the r-th most probable clean class ({analysis['correct']} correctly classified examples).",
            "",
            "| ε step | new successes | " + " | ".join(ranks) + " | other |",
            "|---|---|" + "---|" * (len(ranks) + 1),
        ]
        for step in analysis["steps"] + [{"from": None, **analysis["total"]}]:
            span = "all" if step["from"] is None else f"{step['from']:g} → {step['to']:g}"
            if step["shares"] is None:
                cells = ["-"] * (len(ranks) + 1)
            else:
                cells = [f"{100 * s:.1f}" for s in step["shares"] + [step["other"]]]
            lines.append(f"| {span} | {step['new_successes']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

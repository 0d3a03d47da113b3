"""Rating and explainability metrics of the AMCF paper (Sec. 4.3), and the baselines they compare.

- `rmse`, `mae`: rating errors.
- `surrogate_preferences`: the surrogate ground truth `p_i` of user general preferences,
  `w_ij = (r_ij − b_i − b_j − r̄) / A`, `p_i^t = Σ_{j∈V_i} w_ij s_j^t`, L1-normalised.
- `top_recall_at_k` / `bottom_recall_at_k` (TM@K / BM@K): the share of the user's `M` most
  (least) preferred aspects of `p_i` found among the `K` highest (lowest) of the prediction `p̂_i`.
- `specific_preference_scores` (score_s): cosine between `p_i ⊙ s_j` and the predicted specific
  preference `p̂_ij` of each (user, item) pair.
- Baselines: `UserLinearRegression` (the paper's LR: per-user regression on aspect indicators),
  `population_preferences` (non-personalised: every user gets the same genre totals) and
  `random_preferences`.

Notes (METHODS §9, "AMCF metrics"): ties in a ranking are broken by a seeded random order (the
authors' code collapses tied values onto the first index), every user is scored (the authors'
code averages the first 643 of 943), and score_s is implemented as the paper defines it (the
authors' code never computes it). Metrics take numpy arrays and return per-user or per-pair values;
average them for the paper's figures.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from tfxai.recsys.data import Ratings


def rmse(y_true, y_pred) -> float:
    """Root mean squared error."""
    y_true, y_pred = _same_shape(y_true, y_pred)
    return float(np.sqrt(np.mean(np.square(y_true - y_pred))))


def mae(y_true, y_pred) -> float:
    """Mean absolute error."""
    y_true, y_pred = _same_shape(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def _same_shape(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"Expected non-empty `y_true` and `y_pred` of one shape. Received: {a.shape} and {b.shape}")
    return a, b


def l1_normalize(x) -> np.ndarray:
    """Rows divided by their L1 norm; all-zero rows stay zero."""
    x = np.asarray(x, np.float64)
    norms = np.abs(x).sum(axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def surrogate_preferences(
    ratings: Ratings, item_aspects, num_users: int, *, max_rating: float = 5.0, normalize: bool = True
) -> np.ndarray:
    """Surrogate ground truth of user general preferences (Sec. 4.3, "General Preference").

    Formula:
        `w_ij = (r_ij − b_i − b_j − r̄) / A` with `b_i = mean_{j∈V_i} r_ij − r̄`,
        `b_j = mean_{i∈U_j} r_ij − r̄`; `p_i^t = Σ_{j∈V_i} w_ij s_j^t`, then `p_i / ‖p_i‖₁`.

    Args:
        ratings: the ratings to build it from (the training split: test ratings must not leak).
        item_aspects: `[num_items, m]` multi-hot aspects `s_j`.
        num_users: number of users (rows of the result).
        max_rating: the constant `A` (the top of the rating scale). Defaults to 5.
        normalize: L1-normalise each user's vector. Defaults to `True`.

    Returns:
        `[num_users, m]`; users without ratings get zeros.
    """
    item_aspects = np.asarray(item_aspects, np.float64)
    values = ratings.ratings.astype(np.float64)
    global_mean = values.mean()
    user_mean = _group_mean(ratings.users, values, num_users)
    item_mean = _group_mean(ratings.items, values, len(item_aspects))
    weights = (values - user_mean[ratings.users] - item_mean[ratings.items] + global_mean) / max_rating
    preferences = np.zeros((num_users, item_aspects.shape[1]))
    np.add.at(preferences, ratings.users, weights[:, None] * item_aspects[ratings.items])
    return l1_normalize(preferences) if normalize else preferences


def _group_mean(groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    counts = np.bincount(groups, minlength=size)
    sums = np.bincount(groups, weights=values, minlength=size)
    return np.divide(sums, counts, out=np.zeros(size), where=counts > 0)


def _check_preferences(truth, predicted) -> tuple[np.ndarray, np.ndarray]:
    truth, predicted = np.asarray(truth, np.float64), np.asarray(predicted, np.float64)
    if truth.ndim != 2 or truth.shape != predicted.shape:
        raise ValueError(
            "Expected `truth` and `predicted` of one shape [num_users, num_aspects]. "
            f"Received: truth.shape={truth.shape}, predicted.shape={predicted.shape}"
        )
    if not (np.all(np.isfinite(truth)) and np.all(np.isfinite(predicted))):
        raise ValueError("Expected finite `truth` and `predicted` preferences. Received NaN or inf.")
    return truth, predicted


def _ranking(values: np.ndarray, rng: np.random.Generator, largest: bool) -> np.ndarray:
    """Column indices of each row sorted by value (descending if `largest`), ties in random order."""
    tie_break = rng.random(values.shape)
    return np.lexsort((tie_break, -values if largest else values), axis=-1)


def _recall_at_k(truth, predicted, m: int, k: int, seed: int, largest: bool) -> np.ndarray:
    truth, predicted = _check_preferences(truth, predicted)
    num_aspects = truth.shape[1]
    for name, value in (("m", m), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= num_aspects:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected an int in [1, {num_aspects}]. "
                f"Received: {name}={value!r}"
            )
    rng = np.random.default_rng(seed)
    relevant = _ranking(truth, rng, largest)[:, :m]  # [U, M]
    retrieved = _ranking(predicted, rng, largest)[:, :k]  # [U, K]
    hits = (relevant[:, :, None] == retrieved[:, None, :]).any(axis=-1).sum(axis=-1)
    return hits / m


def top_recall_at_k(truth, predicted, *, m: int, k: int, seed: int = 0) -> np.ndarray:
    """TM@K: the share of each user's `m` most preferred aspects among the `k` highest predicted.

    Args:
        truth: `[U, A]` ground-truth preferences (e.g. `surrogate_preferences`).
        predicted: `[U, A]` predicted preferences (e.g. `AMCF.general_preference`).
        m: `M`, the number of top true aspects.
        k: `K`, the number of top predicted aspects.
        seed: seed of the random order that breaks ties in both rankings. Defaults to 0.

    Returns:
        `[U]` recalls in {0, 1/m, ..., 1}. A random prediction scores `k / A` on average.

    Example:

    >>> top_recall_at_k([[3., 2., 1., 0.]], [[0., 5., 4., 1.]], m=2, k=2)  # {0, 1} vs {1, 2}
    array([0.5])
    """
    return _recall_at_k(truth, predicted, m, k, seed, largest=True)


def bottom_recall_at_k(truth, predicted, *, m: int, k: int, seed: int = 0) -> np.ndarray:
    """BM@K: as `top_recall_at_k` for the least preferred aspects (lowest values)."""
    return _recall_at_k(truth, predicted, m, k, seed, largest=False)


def specific_preference_scores(truth, users, aspects, predicted) -> np.ndarray:
    """score_s per (user, item) pair: `cos(p_i ⊙ s_j, p̂_ij)` (Sec. 4.3, "Specific Preference").

    Args:
        truth: `[U, A]` ground-truth general preferences `p_i`.
        users: `[N]` user index of each pair.
        aspects: `[N, A]` multi-hot aspects `s_j` of each pair's item.
        predicted: `[N, A]` predicted specific preferences `p̂_ij`.

    Returns:
        `[N]` cosines; NaN where `p_i ⊙ s_j = 0` (an item without aspects, or none the user's
        training ratings touch), where the score is undefined. A zero prediction scores 0.
        score_s is `np.nanmean` of it.
    """
    truth = np.asarray(truth, np.float64)
    aspects, predicted = np.asarray(aspects, np.float64), np.asarray(predicted, np.float64)
    users = np.asarray(users).reshape(-1)
    if aspects.shape != predicted.shape or aspects.shape != (len(users), truth.shape[1]):
        raise ValueError(
            f"Expected `aspects` and `predicted` of shape [{len(users)}, {truth.shape[1]}]. "
            f"Received: aspects.shape={aspects.shape}, predicted.shape={predicted.shape}"
        )
    target = truth[users] * aspects
    target_norm, predicted_norm = np.linalg.norm(target, axis=-1), np.linalg.norm(predicted, axis=-1)
    dot = np.sum(target * predicted, axis=-1)
    cosine = np.divide(
        dot, target_norm * predicted_norm, out=np.zeros_like(dot), where=(predicted_norm > 0) & (target_norm > 0)
    )
    return np.where(target_norm > 0, cosine, np.nan)


def random_preferences(num_users: int, num_aspects: int, *, seed: int = 0) -> np.ndarray:
    """The random baseline: independent standard normal preferences, `[num_users, num_aspects]`.

    Symmetric around 0, so its expected score_s is 0 and its expected TM@K = BM@K = K / A.
    """
    return np.random.default_rng(seed).standard_normal((num_users, num_aspects))


def population_preferences(raw_truth) -> np.ndarray:
    """The non-personalised baseline: every user gets the genre totals `Σ_i p_i` (unnormalised `p_i`).

    Args:
        raw_truth: `[U, A]` `surrogate_preferences(..., normalize=False)` of the training ratings.

    Returns:
        `[U, A]`, every row the same.
    """
    raw_truth = np.asarray(raw_truth, np.float64)
    return np.broadcast_to(raw_truth.sum(axis=0), raw_truth.shape).copy()


class UserLinearRegression:
    """The LR baseline: one ridge regression of ratings on aspect indicators per user.

    `r̂_ij = r̄ + c_i + β_i·s_j`, fitted in closed form for all users at once; `β_i` is user i's
    general preference and `β_i ⊙ s_j` the specific one (Sec. 4.3). Users without ratings predict `r̄`.

    Args:
        l2: ridge penalty on `β_i` (the intercept `c_i` is unpenalised). Defaults to 1.0.
    """

    def __init__(self, l2: float = 1.0):
        if not l2 >= 0:
            raise ValueError(f"Invalid value for argument `l2`. Expected a float >= 0. Received: l2={l2!r}")
        self.l2 = float(l2)

    def fit(self, ratings: Ratings, item_aspects, num_users: int) -> UserLinearRegression:
        """Fits every user's regression on `ratings` (items described by `item_aspects [num_items, A]`)."""
        item_aspects = np.asarray(item_aspects, np.float64)
        num_items = len(item_aspects)
        self.global_mean_ = float(ratings.ratings.mean())
        design = np.concatenate([np.ones((num_items, 1)), item_aspects], axis=1)  # [I, 1 + A], one row per item
        size = design.shape[1]
        # Per user, X^T X = Σ_j count_ij x_j x_j^T and X^T y = Σ_j (Σ residuals_ij) x_j: two sparse products.
        counts = sparse.csr_matrix(
            (np.ones(len(ratings)), (ratings.users, ratings.items)), shape=(num_users, num_items)
        )
        residuals = sparse.csr_matrix(
            (ratings.ratings - self.global_mean_, (ratings.users, ratings.items)), shape=(num_users, num_items)
        )
        gram = (counts @ (design[:, :, None] * design[:, None, :]).reshape(num_items, -1)).reshape(-1, size, size)
        moment = residuals @ design  # [U, 1 + A]
        penalty = np.diag([1e-8] + [self.l2 + 1e-8] * (size - 1))  # 1e-8: solvable for users without ratings
        solution = np.linalg.solve(gram + penalty, moment[:, :, None])[:, :, 0]
        self.intercepts_, self.coefficients_ = solution[:, 0], solution[:, 1:]
        return self

    def predict(self, users, aspects) -> np.ndarray:
        """Ratings `[N]` of users `[N]` for items with aspects `[N, A]`."""
        users = np.asarray(users)
        return self.global_mean_ + self.intercepts_[users] + np.sum(self.coefficients_[users] * aspects, axis=-1)

    def general_preference(self, users) -> np.ndarray:
        """`β_i`, `[N, A]`."""
        return self.coefficients_[np.asarray(users)]

    def specific_preference(self, users, aspects) -> np.ndarray:
        """`β_i ⊙ s_j`, `[N, A]`."""
        return self.coefficients_[np.asarray(users)] * np.asarray(aspects)


def preference_scores(truth, predicted, *, seed: int = 0) -> dict[str, float]:
    """The paper's Table 3 general-preference columns: mean T1@3, B1@3, T3@5, B3@5 over all users."""
    return {
        f"{side}{m}@{k}": float(recall(truth, predicted, m=m, k=k, seed=seed).mean())
        for m, k in ((1, 3), (3, 5))
        for side, recall in (("T", top_recall_at_k), ("B", bottom_recall_at_k))
    }

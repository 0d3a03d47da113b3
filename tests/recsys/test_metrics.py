"""Rating and explainability metrics against hand-computed values, including ties; the baselines."""

import numpy as np
import pytest

from tfxai.recsys import metrics
from tfxai.recsys.data import Ratings

# Aspects: Adventure, Drama, Thriller, Comedy, Children, Crime, Horror.
TRUTH = np.array([[9.0, 8.0, 7.0, 1.0, 2.0, 3.0, 0.0]])
PREDICTED = np.array([[10.0, 7.0, 1.0, 9.0, 8.0, 6.0, 0.0]])


def test_rmse_and_mae():
    assert metrics.rmse([1, 2, 3], [2, 2, 5]) == pytest.approx(np.sqrt(5 / 3))
    assert metrics.mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="of one shape"):
        metrics.rmse([1, 2], [1, 2, 3])


def test_surrogate_preferences_by_hand():
    # r̄ = 3; user means 3, 3; item means 4.5, 2, 2.
    # w = (r − b_u − b_i − r̄)/5 = (r − mean_u − mean_i + r̄)/5.
    ratings = Ratings(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 0, 2, 1]), np.array([5.0, 1.0, 4.0, 2.0, 3.0]))
    aspects = np.array([[1, 0], [0, 1], [1, 1]], np.float32)
    raw = metrics.surrogate_preferences(ratings, aspects, 3, normalize=False)
    # user 0: w = 0.1 (item 0), −0.2 (item 1); user 1: −0.1 (item 0), 0 (item 2), 0.2 (item 1); user 2: no ratings.
    np.testing.assert_allclose(raw, [[0.1, -0.2], [-0.1, 0.2], [0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(
        metrics.surrogate_preferences(ratings, aspects, 3), [[1 / 3, -2 / 3], [-1 / 3, 2 / 3], [0, 0]], atol=1e-12
    )
    np.testing.assert_allclose(metrics.population_preferences(raw), [[0.0, 0.0]] * 3, atol=1e-12)


def test_top_and_bottom_recall_by_hand():
    # The paper's example: true top 3 {Adventure, Drama, Thriller}; predicted top 5
    # {Adventure, Comedy, Children, Drama, Crime} -> T3@5 = 2/3; the top 1 (Adventure) is in the predicted top 3.
    assert metrics.top_recall_at_k(TRUTH, PREDICTED, m=3, k=5).tolist() == [pytest.approx(2 / 3)]
    assert metrics.top_recall_at_k(TRUTH, PREDICTED, m=1, k=3).tolist() == [1.0]
    # Bottom: true {Horror} / {Horror, Comedy, Children}; predicted bottom 3 {Horror, Thriller, Crime},
    # bottom 5 adds {Drama, Children}.
    assert metrics.bottom_recall_at_k(TRUTH, PREDICTED, m=1, k=3).tolist() == [1.0]
    assert metrics.bottom_recall_at_k(TRUTH, PREDICTED, m=3, k=5).tolist() == [pytest.approx(2 / 3)]
    scores = metrics.preference_scores(np.repeat(TRUTH, 2, 0), np.repeat(PREDICTED, 2, 0))
    assert list(scores) == ["T1@3", "B1@3", "T3@5", "B3@5"]
    assert scores == pytest.approx({"T1@3": 1.0, "B1@3": 1.0, "T3@5": 2 / 3, "B3@5": 2 / 3})


def test_ties_are_broken_by_a_seeded_random_order():
    users = 4000
    # Two aspects tie for the true top 1; the prediction ranks aspect 0 first: a recall of 1 half the time.
    truth, predicted = np.tile([1.0, 1.0, 0.0, 0.0], (users, 1)), np.tile([5.0, 0.0, 0.0, 0.0], (users, 1))
    recall = metrics.top_recall_at_k(truth, predicted, m=1, k=1, seed=0)
    assert set(np.unique(recall)) == {0.0, 1.0} and recall.mean() == pytest.approx(0.5, abs=0.03)
    np.testing.assert_array_equal(recall, metrics.top_recall_at_k(truth, predicted, m=1, k=1, seed=0))
    assert not np.array_equal(recall, metrics.top_recall_at_k(truth, predicted, m=1, k=1, seed=1))
    # A prediction with all values tied is a random guess: 1 / 4 for the top 1 at K = 1.
    flat = np.ones((users, 4))
    truth = np.tile([3.0, 2.0, 1.0, 0.0], (users, 1))
    assert metrics.top_recall_at_k(truth, flat, m=1, k=1).mean() == pytest.approx(0.25, abs=0.03)
    assert metrics.bottom_recall_at_k(truth, flat, m=1, k=2).mean() == pytest.approx(0.5, abs=0.03)
    # Ties inside the predicted top K do not matter (the authors' code would count index 0 twice).
    assert metrics.top_recall_at_k(truth, np.tile([1.0, 1.0, 0.0, 0.0], (users, 1)), m=2, k=2).min() == 1.0


def test_recall_validation():
    with pytest.raises(ValueError, match=r"Expected an int in \[1, 7\]. Received: k=8"):
        metrics.top_recall_at_k(TRUTH, PREDICTED, m=1, k=8)
    with pytest.raises(ValueError, match="of one shape"):
        metrics.top_recall_at_k(TRUTH, PREDICTED[:, :3], m=1, k=1)
    with pytest.raises(ValueError, match="Received NaN or inf"):
        metrics.top_recall_at_k(TRUTH, PREDICTED * np.nan, m=1, k=1)


def test_specific_preference_scores_by_hand():
    truth = np.array([[0.5, -0.25, 0.25]])
    aspects = np.array([[1, 1, 0], [0, 0, 0], [0, 1, 0], [1, 0, 0]], np.float32)
    predicted = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-2.0, 0.0, 0.0]])
    scores = metrics.specific_preference_scores(truth, np.zeros(4, int), aspects, predicted)
    # pair 0: cos([0.5, −0.25, 0], [1, −1, 0]) = 0.75 / (√0.3125 · √2); pair 1: undefined (no aspect);
    # pair 2: a zero prediction scores 0; pair 3: opposite directions.
    np.testing.assert_allclose(scores[[0, 2, 3]], [0.75 / np.sqrt(0.3125 * 2), 0.0, -1.0])
    assert np.isnan(scores[1])
    with pytest.raises(ValueError, match=r"Expected `aspects` and `predicted` of shape \[4, 3\]"):
        metrics.specific_preference_scores(truth, np.zeros(4, int), aspects, predicted[:, :2])


def test_user_linear_regression_recovers_noiseless_coefficients():
    rng = np.random.default_rng(0)
    num_users, num_items = 5, 40
    aspects = rng.integers(0, 2, size=(num_items, 3)).astype(np.float32)
    coefficients, intercepts = rng.normal(size=(num_users, 3)), rng.normal(size=num_users)
    users, items = np.repeat(np.arange(num_users), num_items), np.tile(np.arange(num_items), num_users)
    values = 3.0 + intercepts[users] + np.sum(coefficients[users] * aspects[items], axis=1)
    ratings = Ratings(users, items, values)
    model = metrics.UserLinearRegression(l2=0.0).fit(ratings, aspects, num_users + 1)  # the last user has no ratings
    np.testing.assert_allclose(model.general_preference(np.arange(num_users)), coefficients, atol=1e-5)
    np.testing.assert_allclose(model.predict(users, aspects[items]), values, atol=1e-5)
    np.testing.assert_allclose(model.predict([num_users], aspects[:1]), [values.mean()], atol=1e-5)
    np.testing.assert_allclose(model.specific_preference([0], aspects[:1]), coefficients[:1] * aspects[:1], atol=1e-5)
    ridge = metrics.UserLinearRegression(l2=100.0).fit(ratings, aspects, num_users)
    assert np.abs(ridge.coefficients_).sum() < np.abs(coefficients).sum()
    with pytest.raises(ValueError, match="l2=-1"):
        metrics.UserLinearRegression(l2=-1)


def test_random_baseline_matches_theory():
    truth = np.random.default_rng(5).normal(size=(6000, 18))
    guess = metrics.random_preferences(6000, 18, seed=0)
    np.testing.assert_array_equal(guess, metrics.random_preferences(6000, 18, seed=0))
    scores = metrics.preference_scores(truth, guess)
    assert scores["T1@3"] == pytest.approx(3 / 18, abs=0.015) and scores["B3@5"] == pytest.approx(5 / 18, abs=0.015)

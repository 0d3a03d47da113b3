"""Table 1 of the LGL paper: samplers, the fitting objective, Eq. (10) on training and test data,
and the absl app."""

import json
import os
import pathlib
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tfxai.experiments import lgl_table1
from tfxai.metrics.probability_equations import eq10_lhs, eq10_rhs

REPO = pathlib.Path(__file__).resolve().parents[2]
N0, N1 = 1000, 10000


@pytest.fixture(scope="module")
def few_runs():
    return lgl_table1.reproduce_table1(runs=3, seed=0)


def test_lambda0_settings_give_the_papers_rhs():
    rhs = [eq10_rhs(lambda0, N0, N1) for lambda0 in lgl_table1.lambda0_settings(N0, N1)]
    np.testing.assert_allclose(rhs, [10.0, 1.0, 0.5])


@pytest.mark.parametrize(
    "simulation, dim, means, variances",
    [("sim1", 1, [1.25, -1.25], [1.0 + 1 / 48, 1.0 + 1 / 48]), ("sim2", 3, [1.0, 0.0], [1.0, 1.2])],
)
def test_sample_simulation(simulation, dim, means, variances):
    x, y = lgl_table1.sample_simulation(simulation, 20_000, 30_000, np.random.default_rng(0))
    assert x.shape == (50_000, dim) and x.dtype == np.float64
    np.testing.assert_array_equal(np.bincount(y), [20_000, 30_000])
    for label in (0, 1):
        np.testing.assert_allclose(x[y == label].mean(axis=0), means[label], atol=0.03)
        np.testing.assert_allclose(x[y == label].var(axis=0), variances[label], rtol=0.05)
    with pytest.raises(ValueError, match=re.escape("Received: simulation='sim3'")):
        lgl_table1.sample_simulation("sim3", 1, 1, np.random.default_rng(0))


@pytest.mark.parametrize("hidden_units, weight_decay", [(0, 0.0), (0, 0.1), (4, 0.1)])
def test_objective_gradient_and_hessian_match_finite_differences(rng, hidden_units, weight_decay):
    x = rng.normal(size=(40, 3))
    y = (rng.random(40) < 0.4).astype(int)
    objective = lgl_table1._Objective(x, y, np.where(y == 0, 0.3, 0.7), hidden_units, weight_decay)
    theta = rng.normal(size=4 if hidden_units == 0 else 5 * hidden_units + 1)
    eps = 1e-6
    steps = np.eye(theta.size) * eps
    grad_fd = [
        (objective.value_and_grad(theta + s)[0] - objective.value_and_grad(theta - s)[0]) / (2 * eps) for s in steps
    ]
    hess_fd = [
        (objective.value_and_grad(theta + s)[1] - objective.value_and_grad(theta - s)[1]) / (2 * eps) for s in steps
    ]
    np.testing.assert_allclose(objective.value_and_grad(theta)[1], grad_fd, atol=1e-8)
    np.testing.assert_allclose(objective.hessian(theta), hess_fd, atol=1e-8)


def test_logistic_regression_matches_sklearn():
    x, y = lgl_table1.sample_simulation("sim1", N0, N1, np.random.default_rng(1))
    fit = lgl_table1.fit_weighted_logistic(x, y, lambda0=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # `penalty=None` is spelled `C=inf` from 1.8 on.
        reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(x, y, sample_weight=np.full(y.size, 0.5))
    np.testing.assert_allclose(fit.params, [reference.coef_[0, 0], reference.intercept_[0]], rtol=1e-5)
    np.testing.assert_allclose(fit.predict_proba(x), reference.predict_proba(x), atol=1e-6)


@pytest.mark.parametrize("simulation", lgl_table1.SIMULATIONS)
def test_eq10_is_exact_on_the_training_sample_at_a_stationary_point(simulation):
    rng = np.random.default_rng(7)
    x, y = lgl_table1.sample_simulation(simulation, N0, N1, rng)
    model = {} if simulation == "sim1" else dict(hidden_units=10, weight_decay=1e-5)
    for lambda0 in lgl_table1.lambda0_settings(N0, N1):
        fit = lgl_table1.fit_weighted_logistic(x, y, lambda0, rng=rng, **model)
        assert fit.grad_norm < 1e-7
        assert eq10_lhs(fit.predict_proba(x), y) == pytest.approx(eq10_rhs(lambda0, N0, N1), rel=1e-6)


def test_reproduce_table1_matches_the_rhs_on_test_data(few_runs):
    # Loose: 3 runs; the paper's standard deviations over runs are about 10 % of the RHS.
    for simulation in lgl_table1.SIMULATIONS:
        result = few_runs[simulation]
        np.testing.assert_allclose(result["mean"], [10.0, 1.0, 0.5], rtol=0.25)
        assert np.array(result["lhs_test"]).shape == (3, 3) and all(s > 0 for s in result["std"])
        assert result["unconverged_fits"] == 0 and result["max_train_rel_error"] < 1e-6
    json.dumps(few_runs)  # JSON-serialisable as returned


def test_runs_do_not_depend_on_the_number_of_runs(few_runs):
    two = lgl_table1.reproduce_table1(runs=2, seed=0, simulations=("sim1",))
    np.testing.assert_allclose(two["sim1"]["lhs_test"], few_runs["sim1"]["lhs_test"][:2], rtol=1e-9)
    other_seed = lgl_table1.reproduce_table1(runs=2, seed=1, simulations=("sim1",))
    assert other_seed["sim1"]["lhs_test"] != two["sim1"]["lhs_test"]


def test_format_table1(few_runs):
    table = lgl_table1.format_table1(few_runs)
    assert "| RHS of Eq. (10) | 10 | 1 | 0.5 |" in table
    assert "| LHS sim1 (paper, 100 runs) | 10.05 (1.13) | 1.00 (0.09) | 0.50 (0.04) |" in table
    mean, std = few_runs["sim2"]["mean"][0], few_runs["sim2"]["std"][0]
    assert f"| LHS sim2 (tfxai, 3 runs) | {mean:.2f} ({std:.2f}) |" in table


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(runs=1), "runs=1"),
        (dict(runs=2, n1=0), "n1=0"),
        (dict(runs=2, simulations=("sim3",)), "simulations=('sim3',)"),
        (dict(runs=2, simulations=()), "simulations=()"),
    ],
)
def test_reproduce_table1_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        lgl_table1.reproduce_table1(**kwargs)


def test_fit_invalid_arguments():
    x, y = np.zeros((2, 1)), np.array([0, 1])
    with pytest.raises(ValueError, match=re.escape("lambda0=1.5")):
        lgl_table1.fit_weighted_logistic(x, y, 1.5)
    with pytest.raises(ValueError, match=re.escape("hidden_units=-1")):
        lgl_table1.fit_weighted_logistic(x, y, 0.5, hidden_units=-1)
    with pytest.raises(ValueError, match=re.escape("y with shape (2,) and values [0, 2]")):
        lgl_table1.fit_weighted_logistic(x, np.array([0, 2]), 0.5)
    with pytest.raises(ValueError, match=re.escape("x with shape (2,)")):
        lgl_table1.fit_weighted_logistic(np.zeros(2), y, 0.5)


def _run_app(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, str(REPO / "trainers" / "lgl_table1.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)


def test_app_writes_results_and_table(tmp_path):
    process = _run_app("--runs=2", "--seed=3", f"--output_dir={tmp_path}")
    assert process.returncode == 0, process.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["runs"] == 2 and results["config"]["seed"] == 3
    table = (tmp_path / "table1.md").read_text()
    assert table in process.stdout and "LHS sim2 (tfxai, 2 runs)" in table
    assert "sim2: run 2/2 done" in process.stdout


def test_app_rejects_extra_arguments(tmp_path):
    process = _run_app("--runs=2", f"--output_dir={tmp_path}", "extra")
    assert process.returncode != 0 and "Too many command-line arguments: ['extra']" in process.stderr
    assert not (tmp_path / "results.json").exists()

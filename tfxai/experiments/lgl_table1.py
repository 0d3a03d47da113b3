"""Table 1 of the LGL paper: simulations that check the binary probability equation, Eq. (10).

A binary problem with N_0 = 1000 class-0 and N_1 = 10000 class-1 training examples is fitted with
the weighted logistic loss `Σ_i λ_{y_i} ℓ(y_i, p(x_i))` (λ_1 = 1 − λ_0) for three λ_0, and the left
side of Eq. (10), `(1 − p̄_{0→0}) / p̄_{1→0}`, is measured on a fresh test sample of 1000 + 1000
examples; its right side is `λ_1 N_1 / (λ_0 N_0)` = 10, 1 and 0.5.

- Sim1: class 1 ~ N(−1.5, 1) + U(0, 0.5), class 0 ~ N(1.5, 1) + U(−0.5, 0) (1-D); unpenalised
  weighted logistic regression.
- Sim2: class 1 ~ N((0, 0, 0), 1.2·I), class 0 ~ N((1, 1, 1), I) (covariances); a (3, 10, 1)
  network with sigmoid hidden units.

Every model is fitted to a stationary point by a trust-region Newton method with the exact
Hessian, so Eq. (10) holds to ~1e-8 on the training sample; the gradient norm of each fit is
recorded. See `reproduce_table1`.

Reference:
    [Li et al., 2020, "On the Learning Property of Logistic and Softmax Losses for Deep Neural
    Networks"](https://arxiv.org/abs/2003.02309), AAAI 2020, Eq. (10) and Table 1.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np
import threadpoolctl
from scipy import optimize, special

from tfxai.metrics.probability_equations import eq10_lhs, eq10_rhs

SIMULATIONS = ("sim1", "sim2")
LAMBDA0_NAMES = ("1/2", "N1/(N0+N1)", "2N1/(2N1+N0)")
# Table 1 of the paper: LHS of Eq. (10), mean and standard deviation over 100 runs.
PAPER_TABLE1 = {
    "sim1": ((10.05, 1.13), (1.00, 0.09), (0.50, 0.04)),
    "sim2": ((10.12, 0.67), (1.01, 0.05), (0.50, 0.03)),
}
_GTOL = 1e-10
_CONVERGED_GRAD_NORM = 1e-6


def lambda0_settings(n0: int, n1: int) -> tuple[float, float, float]:
    """The three class-0 weights of Table 1: 1/2, N_1/(N_0+N_1) and 2N_1/(2N_1+N_0).

    With λ_1 = 1 − λ_0 they give the right-hand sides of Eq. (10) `N_1/N_0`, 1 and 1/2. (The
    paper's λ_0 row prints N_0 and N_1 swapped; only this reading gives its RHS row 10, 1, 0.5.)

    Args:
        n0: number of class-0 training examples.
        n1: number of class-1 training examples.

    Returns:
        The three λ_0 values.
    """
    return (0.5, n1 / (n0 + n1), 2 * n1 / (2 * n1 + n0))


def sample_simulation(simulation: str, n0: int, n1: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draws a sample of one of the Table 1 simulations.

    Args:
        simulation: `"sim1"` (1-D, normal plus uniform noise) or `"sim2"` (3-D Gaussians; the
            paper's σ_1 = 1.2·I and σ_0 = I are read as covariance matrices).
        n0: number of class-0 examples.
        n1: number of class-1 examples.
        rng: the random generator to draw from.

    Returns:
        `(x, y)`: `x` float64 `[n0 + n1, d]` (d = 1 or 3), `y` int64 `[n0 + n1]`, class 0 first.

    Raises:
        ValueError: for an unknown `simulation`.
    """
    if simulation == "sim1":
        x0 = rng.normal(1.5, 1.0, (n0, 1)) + rng.uniform(-0.5, 0.0, (n0, 1))
        x1 = rng.normal(-1.5, 1.0, (n1, 1)) + rng.uniform(0.0, 0.5, (n1, 1))
    elif simulation == "sim2":
        x0 = rng.normal(1.0, 1.0, (n0, 3))
        x1 = rng.normal(0.0, np.sqrt(1.2), (n1, 3))
    else:
        raise ValueError(
            f"Invalid value for argument `simulation`. Expected one of {SIMULATIONS}. "
            f"Received: simulation={simulation!r}"
        )
    return np.concatenate([x0, x1]), np.repeat(np.array([0, 1]), [n0, n1])


@dataclasses.dataclass(frozen=True)
class BinaryFit:
    """A binary classifier fitted with the weighted logistic loss.

    Attributes:
        params: flat parameter vector (see `fit_weighted_logistic`).
        hidden_units: 0 for logistic regression, else the width of the sigmoid hidden layer.
        grad_norm: Euclidean norm of the gradient of the training objective at `params`.
        iterations: Newton iterations used.
    """

    params: np.ndarray
    hidden_units: int
    grad_norm: float
    iterations: int

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities `[N, 2]` (columns: class 0, class 1) for inputs `x` `[N, d]`."""
        z, _ = _forward_pass(self.params, _with_bias_column(np.asarray(x, dtype=np.float64)), self.hidden_units)
        return np.stack([special.expit(-z), special.expit(z)], axis=1)


def fit_weighted_logistic(
    x: np.ndarray,
    y: np.ndarray,
    lambda0: float,
    *,
    hidden_units: int = 0,
    weight_decay: float = 0.0,
    rng: np.random.Generator | None = None,
    max_iter: int = 1000,
) -> BinaryFit:
    """Fits `p(y=1|x) = sigmoid(z(x))` to a stationary point of the weighted logistic loss.

    Formula:

    ```
    L(θ) = Σ_i w_i [log(1 + exp(z_i)) − y_i z_i] / Σ_i w_i + weight_decay/2 · ‖weights‖²,
    w_i = lambda0 if y_i = 0 else 1 − lambda0,
    z(x) = v·x + c                                      (hidden_units = 0)
    z(x) = w_2 · sigmoid(W_1ᵀ x + b_1) + b_2            (hidden_units = h > 0)
    ```

    The penalty covers `v`, `W_1` and `w_2` but no bias, so the output-bias condition ∂L/∂b = 0,
    which is Eq. (10) on the training sample, holds exactly at any stationary point. The method is
    scipy's `trust-exact` (Newton steps in a trust region, exact analytic Hessian).

    Args:
        x: `[N, d]` inputs.
        y: `[N]` labels in {0, 1}.
        lambda0: weight λ_0 of class 0 in (0, 1); class 1 gets `1 − lambda0`.
        hidden_units: 0 for logistic regression, else the number of sigmoid hidden units.
            Defaults to `0`.
        weight_decay: L2 coefficient on the non-bias weights. Defaults to `0.0`.
        rng: generator for the Glorot-uniform initialisation of a network (logistic regression
            starts at zero and ignores it). Defaults to `None` (`np.random.default_rng(0)`).
        max_iter: maximum number of Newton iterations. Defaults to `1000`.

    Returns:
        A `BinaryFit`. Parameters are laid out as `[v, c]` (logistic regression) or
        `[W_1 (d, h) row-major, b_1, w_2, b_2]` with `W_1` and `b_1` stored as one `(d + 1, h)` block.

    Raises:
        ValueError: if `x` is not `[N, d]`, `y` is not `[N]` labels in {0, 1}, `lambda0` is not in
            (0, 1) or `hidden_units`/`weight_decay` is negative.

    Notes:
        BLAS runs single-threaded during the fit (`threadpoolctl`, a scikit-learn dependency): the
        matrices are small ([N, 51] for the Sim2 network) and multi-threaded BLAS was about ten
        times slower on shared CPUs.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    if x.ndim != 2 or y.shape != (x.shape[0],) or not np.isin(y, (0, 1)).all():
        raise ValueError(
            "Invalid value for arguments `x`, `y`. Expected x of shape [N, d] and N labels in {0, 1}. "
            f"Received: x with shape {x.shape}, y with shape {y.shape} and values {np.unique(y)[:5].tolist()}"
        )
    if not 0.0 < lambda0 < 1.0:
        raise ValueError(
            f"Invalid value for argument `lambda0`. Expected a float in (0, 1). Received: lambda0={lambda0}"
        )
    if hidden_units < 0 or weight_decay < 0:
        raise ValueError(
            "Invalid value for arguments `hidden_units`/`weight_decay`. Expected non-negative values. "
            f"Received: hidden_units={hidden_units}, weight_decay={weight_decay}"
        )
    objective = _Objective(x, y, np.where(y == 0, lambda0, 1.0 - lambda0), hidden_units, weight_decay)
    theta0 = _initial_params(x.shape[1], hidden_units, rng or np.random.default_rng(0))
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        result = optimize.minimize(
            objective.value_and_grad,
            theta0,
            jac=True,
            hess=objective.hessian,
            method="trust-exact",
            options={"gtol": _GTOL, "maxiter": max_iter},
        )
        grad_norm = float(np.linalg.norm(objective.value_and_grad(result.x)[1]))
    return BinaryFit(params=result.x, hidden_units=hidden_units, grad_norm=grad_norm, iterations=int(result.nit))


def reproduce_table1(
    runs: int = 100,
    seed: int = 0,
    *,
    simulations: tuple[str, ...] = SIMULATIONS,
    n0: int = 1000,
    n1: int = 10000,
    n_test: int = 1000,
    hidden_units: int = 10,
    weight_decay: float = 1e-5,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Runs the Table 1 simulations: LHS of Eq. (10) on test data for the three λ_0 settings.

    Run `r` of simulation `s` draws its training sample (`n0` + `n1`), its test sample
    (`n_test` + `n_test`) and the network initialisations from `np.random.default_rng([seed, s, r])`,
    so a run's numbers do not depend on `runs`. The same samples serve the three λ_0 settings.

    Args:
        runs: number of independent runs (paper: 100); at least 2 for a standard deviation.
            Defaults to `100`.
        seed: base seed. Defaults to `0`.
        simulations: which of `"sim1"`, `"sim2"` to run. Defaults to both.
        n0: class-0 training examples N_0. Defaults to `1000`.
        n1: class-1 training examples N_1. Defaults to `10000`.
        n_test: test examples per class. Defaults to `1000`.
        hidden_units: hidden width of the Sim2 network. Defaults to `10`.
        weight_decay: L2 coefficient on the Sim2 network's non-bias weights. Without it, Newton
            runs on these data drove hidden units into saturation with weights growing past 1e5
            while the gradient only crept towards 0 (no finite minimiser in reach); the tiny
            penalty makes a stationary point exist without touching Eq. (10), which needs only
            the unpenalised output bias (the paper's remark after Eq. 8). Sim1 is unpenalised.
            Defaults to `1e-5`.
        progress: called with a one-line status message after every run. Defaults to `None`.

    Returns:
        A JSON-serialisable dict: `"config"`; `"lambda0"`, `"rhs"` (3 each); `"paper"`
        (`PAPER_TABLE1`); and per simulation `"lhs_test"`, `"lhs_train"`, `"grad_norm"` and
        `"iterations"` (`[runs][3]` lists), `"mean"` and `"std"` of `lhs_test` (3 each; sample
        standard deviation, ddof = 1), `"max_grad_norm"`, `"unconverged_fits"` (gradient norm above
        1e-6), `"max_train_rel_error"` (max |LHS_train / RHS − 1|) and `"seconds"`.

    Raises:
        ValueError: if `runs < 2`, a count is not positive or a simulation name is unknown.
    """
    if runs < 2:
        raise ValueError(
            f"Invalid value for argument `runs`. Expected at least 2 (for a standard deviation). Received: runs={runs}"
        )
    for name, value in (("n0", n0), ("n1", n1), ("n_test", n_test)):
        if value < 1:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected a positive count. Received: {name}={value}"
            )
    unknown = [s for s in simulations if s not in SIMULATIONS]
    if unknown or not simulations:
        raise ValueError(
            f"Invalid value for argument `simulations`. Expected names from {SIMULATIONS}. "
            f"Received: simulations={simulations}"
        )

    lambda0s = lambda0_settings(n0, n1)
    rhs = [eq10_rhs(lambda0, n0, n1) for lambda0 in lambda0s]
    results = {
        "config": dict(
            runs=runs, seed=seed, n0=n0, n1=n1, n_test=n_test, hidden_units=hidden_units, weight_decay=weight_decay
        ),
        "lambda0": list(lambda0s),
        "rhs": rhs,
        "paper": {s: PAPER_TABLE1[s] for s in simulations},
    }
    for simulation in simulations:
        start = time.perf_counter()
        model = {} if simulation == "sim1" else dict(hidden_units=hidden_units, weight_decay=weight_decay)
        per_run = []  # per run: [(lhs_test, lhs_train, grad_norm, iterations) for each λ_0]
        for run in range(runs):
            rng = np.random.default_rng([seed, SIMULATIONS.index(simulation), run])
            x, y = sample_simulation(simulation, n0, n1, rng)
            x_test, y_test = sample_simulation(simulation, n_test, n_test, rng)
            fits = [fit_weighted_logistic(x, y, lambda0, rng=rng, **model) for lambda0 in lambda0s]
            per_run.append(
                [
                    (
                        eq10_lhs(f.predict_proba(x_test), y_test),
                        eq10_lhs(f.predict_proba(x), y),
                        f.grad_norm,
                        f.iterations,
                    )
                    for f in fits
                ]
            )
            if progress is not None:
                progress(f"{simulation}: run {run + 1}/{runs} done, {time.perf_counter() - start:.1f} s")
        lhs_test, lhs_train, grad_norm, iterations = (np.array(a) for a in np.moveaxis(np.array(per_run), -1, 0))
        results[simulation] = {
            "lhs_test": lhs_test.tolist(),
            "lhs_train": lhs_train.tolist(),
            "grad_norm": grad_norm.tolist(),
            "iterations": iterations.astype(int).tolist(),
            "mean": lhs_test.mean(axis=0).tolist(),
            "std": lhs_test.std(axis=0, ddof=1).tolist(),
            "max_grad_norm": float(grad_norm.max()),
            "unconverged_fits": int(np.sum(grad_norm > _CONVERGED_GRAD_NORM)),
            "max_train_rel_error": float(np.max(np.abs(lhs_train / np.array(rhs) - 1.0))),
            "seconds": time.perf_counter() - start,
        }
    return results


def format_table1(results: dict) -> str:
    """Formats `reproduce_table1` results as a markdown table next to the paper's values.

    Args:
        results: the dict returned by `reproduce_table1`.

    Returns:
        Markdown: the table (cells "mean (std)"), then one line of convergence diagnostics per
        simulation.
    """
    runs = results["config"]["runs"]
    lines = [
        "| λ0 | " + " | ".join(LAMBDA0_NAMES) + " |",
        "|---|---|---|---|",
        "| λ0 value | " + " | ".join(f"{v:.4f}" for v in results["lambda0"]) + " |",
        "| RHS of Eq. (10) | " + " | ".join(f"{v:g}" for v in results["rhs"]) + " |",
    ]
    simulations = [s for s in SIMULATIONS if s in results]
    for simulation in simulations:
        ours = zip(results[simulation]["mean"], results[simulation]["std"])
        lines.append(
            f"| LHS {simulation} (tfxai, {runs} runs) | " + " | ".join(f"{m:.2f} ({s:.2f})" for m, s in ours) + " |"
        )
        lines.append(
            f"| LHS {simulation} (paper, 100 runs) | "
            + " | ".join(f"{m:.2f} ({s:.2f})" for m, s in PAPER_TABLE1[simulation])
            + " |"
        )
    lines.append("")
    for simulation in simulations:
        r = results[simulation]
        lines.append(
            f"{simulation}: max gradient norm {r['max_grad_norm']:.1e} ({r['unconverged_fits']} fits above "
            f"{_CONVERGED_GRAD_NORM:g}), max |LHS_train/RHS − 1| = {r['max_train_rel_error']:.1e}, "
            f"{r['seconds']:.0f} s."
        )
    return "\n".join(lines) + "\n"


def _with_bias_column(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)


def _forward_pass(theta: np.ndarray, u: np.ndarray, hidden_units: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits `[N]` and hidden activations `[N, h]` (None without hidden layer) for `u` `[N, d + 1]`."""
    if hidden_units == 0:
        return u @ theta, None
    split = u.shape[1] * hidden_units
    hidden = special.expit(u @ theta[:split].reshape(u.shape[1], hidden_units))  # [N, h]
    return hidden @ theta[split:-1] + theta[-1], hidden


def _initial_params(dim: int, hidden_units: int, rng: np.random.Generator) -> np.ndarray:
    if hidden_units == 0:
        return np.zeros(dim + 1)
    w1 = rng.uniform(-1.0, 1.0, (dim, hidden_units)) * np.sqrt(6.0 / (dim + hidden_units))
    w2 = rng.uniform(-1.0, 1.0, hidden_units) * np.sqrt(6.0 / (hidden_units + 1))
    return np.concatenate([w1.ravel(), np.zeros(hidden_units), w2, [0.0]])


class _Objective:
    """Weighted mean logistic loss with its gradient and exact Hessian (see `fit_weighted_logistic`).

    The Hessian is `Jᵀ diag(w p (1 − p)) J + Σ_i w_i (p_i − y_i) ∇²z_i + weight_decay · diag(mask)`
    with `J = ∂z/∂θ`; for the network `∇²z_i` couples only the parameters of one hidden unit.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, hidden_units: int, weight_decay: float):
        self._u = _with_bias_column(np.asarray(x, dtype=np.float64))  # [N, d1], d1 = d + 1
        self._y = np.asarray(y, dtype=np.float64)
        self._w = sample_weight / sample_weight.sum()
        self._h = hidden_units
        n, d1 = self._u.shape
        if hidden_units == 0:
            mask = np.r_[np.ones(d1 - 1), 0.0]
        else:
            # Penalise W_1 (first d rows of the (d1, h) block) and w_2; not b_1 (last row) nor b_2.
            mask = np.r_[np.ones((d1 - 1) * hidden_units), np.zeros(hidden_units), np.ones(hidden_units), 0.0]
            self._uu = (self._u[:, :, None] * self._u[:, None, :]).reshape(n, d1 * d1)  # [N, d1²]
        self._decay = weight_decay * mask
        self._key: bytes | None = None
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None

    def _forward(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Logits `[N]`, Jacobian `J` `[N, P]` and hidden activations `[N, h]` (cached per θ)."""
        key = theta.tobytes()
        if key != self._key:
            u, h = self._u, self._h
            z, hidden = _forward_pass(theta, u, h)
            if hidden is None:
                jac = u
            else:
                n, d1 = u.shape
                slope = theta[d1 * h : -1] * hidden * (1.0 - hidden)  # [N, h]: ∂z/∂(pre-activation)
                jac = np.concatenate(
                    [(u[:, :, None] * slope[:, None, :]).reshape(n, d1 * h), hidden, np.ones((n, 1))], axis=1
                )
            self._cache = (z, jac, hidden)
            self._key = key
        return self._cache

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        z, jac, _ = self._forward(theta)
        loss = np.sum(self._w * (np.logaddexp(0.0, z) - self._y * z)) + 0.5 * np.sum(self._decay * theta**2)
        residual = self._w * (special.expit(z) - self._y)  # [N]
        return float(loss), jac.T @ residual + self._decay * theta

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        z, jac, hidden = self._forward(theta)
        p = special.expit(z)
        hess = jac.T @ (jac * (self._w * p * (1.0 - p))[:, None]) + np.diag(self._decay)
        if hidden is None:
            return hess
        h, d1 = self._h, self._u.shape[1]
        split = d1 * h
        w2 = theta[split:-1]
        residual = self._w * (p - self._y)
        slope = hidden * (1.0 - hidden)  # σ'
        curvature = slope * (1.0 - 2.0 * hidden)  # σ''
        # ∂²z/∂V_{·j}² = w2_j σ''_j u uᵀ: one (d1, d1) block per hidden unit j.
        blocks = ((residual[:, None] * w2 * curvature).T @ self._uu).reshape(h, d1, d1)
        block_diag = np.zeros((d1, h, d1, h))
        units = np.arange(h)
        block_diag[:, units, :, units] = blocks
        hess[:split, :split] += block_diag.reshape(split, split)
        # ∂²z/∂V_{aj}∂w2_j = σ'_j u_a.
        cross = (self._u.T @ (residual[:, None] * slope))[:, :, None] * np.eye(h)  # [d1, h, h]
        hess[:split, split:-1] += cross.reshape(split, h)
        hess[split:-1, :split] += cross.reshape(split, h).T
        return hess

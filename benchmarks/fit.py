"""Benchmark: fit_law against plain scipy L-BFGS-B over Hoffmann/Epoch's 4,500-start grid.

Setting (issue 4): data simulated from the params_tokens law with Chinchilla's fitted
values (E = 1.69, A = 406.4, alpha = 0.34, B = 410.7, beta = 0.28; Hoffmann et al.
2022, as replicated by Epoch AI), N from 7e7 to 1.6e10, D from 5e9 to 5e11, 2% log-normal
noise.  The grid is the one of Hoffmann et al. / Epoch AI's replication:
alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}
(5 x 5 x 5 x 6 x 6 = 4,500 starts), in the log-space parameterisation
``log y_hat = LSE(e, a - alpha log N, b - beta log D)``, Huber delta = 1e-3, summed.

Compared in the same run, with BLAS limited to one thread on both sides:

* **baseline**: ``scipy.optimize.minimize(method="L-BFGS-B")`` from every start, default
  options, numerical (2-point) gradients, best objective kept;
* **fit_law**: the 4,500 starts evaluated at once in numpy, the best 32 improved together
  by a vectorised Gauss-Newton (IRLS) pre-polish, the best 3 distinct polished with
  L-BFGS-B and the analytic gradient.

Prints both times, the speed ratio (goal >= 20x) and the relative objective difference
(goal <= 1e-6; negative means fit_law found the lower objective).

    python benchmarks/fit.py [--points 96] [--starts 4500] [--seed 0]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from lm_eval_scaling.fit import fit_law
from lm_eval_scaling.fit._threads import single_blas_thread

CHINCHILLA = {"E0": 1.69, "N0": 406.4, "beta": 0.34, "D0": 410.7, "gamma": 0.28}
DELTA = 1e-3


def simulate(points: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(points)))
    N, D = np.meshgrid(np.geomspace(7e7, 1.6e10, side), np.geomspace(5e9, 5e11, side))
    N, D = N.ravel()[:points], D.ravel()[:points]
    p = CHINCHILLA
    y = p["E0"] + p["N0"] * N ** -p["beta"] + p["D0"] * D ** -p["gamma"]
    return y * np.exp(rng.normal(0.0, 0.02, y.size)), N, D


def hoffmann_grid() -> np.ndarray:
    """Starts (e, a, alpha, b, beta) in fit_law's internal order for params_tokens."""
    exps = np.arange(0.0, 2.01, 0.5)
    es = np.arange(-1.0, 1.01, 0.5)
    prefs = np.arange(0.0, 25.1, 5.0)
    return np.array([(e, a, al, b, be) for e, a, al, b, be in
                     itertools.product(es, prefs, exps, prefs, exps)])


def baseline_objective(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray,
                       log_y: np.ndarray) -> float:
    """Huber(delta) of LSE(e, a - alpha log N, b - beta log D) - log y, summed (plain numpy)."""
    e, a, alpha, b, beta = theta
    pred = logsumexp([np.full_like(log_n, e), a - alpha * log_n, b - beta * log_d], axis=0)
    r = pred - log_y
    ar = np.abs(r)
    return float(np.sum(np.where(ar <= DELTA, 0.5 * r * r, DELTA * (ar - 0.5 * DELTA))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=96)
    ap.add_argument("--starts", type=int, default=4500,
                    help="use the first S starts of the grid (default: all 4,500)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    y, N, D = simulate(args.points, args.seed)
    grid = hoffmann_grid()[: args.starts]
    log_n, log_d, log_y = np.log(N), np.log(D), np.log(y)

    with single_blas_thread():
        t0 = time.perf_counter()
        best_f, best_x = np.inf, np.full(5, np.nan)
        for x0 in grid:
            res = minimize(baseline_objective, x0, args=(log_n, log_d, log_y), method="L-BFGS-B")
            if res.fun < best_f:
                best_f, best_x = float(res.fun), res.x
        t_base = time.perf_counter() - t0

    t0 = time.perf_counter()
    fit = fit_law("params_tokens", y, N=N, D=D, grid=grid, warn=False)
    t_fast = time.perf_counter() - t0

    rel = (fit.objective - best_f) / best_f
    print(f"data: {y.size} points simulated from Chinchilla's params_tokens law; "
          f"{len(grid)} starts (Hoffmann/Epoch grid)")
    print(f"baseline  scipy L-BFGS-B, numerical gradients, every start: {t_base:8.2f} s  "
          f"objective {best_f:.10g}")
    print(f"fit_law   vectorised grid + GN + 3 L-BFGS-B, analytic grad: {t_fast:8.3f} s  "
          f"objective {fit.objective:.10g}  converged={fit.converged}")
    print(f"speed ratio baseline / fit_law: {t_base / t_fast:.1f}x (goal >= 20x)")
    print(f"relative objective difference (fit_law - baseline) / baseline: {rel:+.3e} "
          f"(goal |.| <= 1e-6, negative = fit_law lower)")
    e, a, alpha, b, beta = best_x
    print("baseline params: " + ", ".join(f"{k}={v:.5g}" for k, v in zip(
        ("E0", "N0", "beta", "D0", "gamma"), (np.exp(e), np.exp(a), alpha, np.exp(b), beta))))
    print("fit_law  params: " + ", ".join(f"{k}={v:.5g}" for k, v in fit.params.items()))
    print("true     params: " + ", ".join(f"{k}={v:.5g}" for k, v in CHINCHILLA.items()))


if __name__ == "__main__":
    main()

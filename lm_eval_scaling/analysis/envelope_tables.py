"""Compute-allocation tables of a fitted ladder, per k.

From the params_tokens and compute fits at every k: the envelope of the former next to
the latter, the optimal split at chosen budgets, and every checkpoint's
misallocation ratio, penalty and effective compute.  The numerics live in
:mod:`lm_eval_scaling.analysis.envelope`; this module joins them to tidy tables.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..fit.result import FitResult
from .envelope import envelope_from_fit
from .points import usable_mask

__all__ = ["envelope_tables"]

log = logging.getLogger(__name__)


def envelope_tables(points: pd.DataFrame, fits: Sequence[FitResult], *,
                    budgets: Sequence[float] | None = None) -> dict[str, pd.DataFrame]:
    """``{"summary", "budgets", "checkpoints"}`` tables of the envelope per k.

    ``fits``: the fits of ``points`` (:func:`lm_eval_scaling.analysis.fits.fit_table`);
    every k with a params_tokens fit gets a row, next to the compute law's fit at that k
    where there is one (NaN otherwise).  Nothing is refitted, so these tables and the fits
    agree by construction.

    summary: k, envelope_alpha, compute_alpha, envelope_C0, compute_C0, the params_tokens
    parameters, both fits' convergence.  budgets: k, budget, n_opt, d_opt,
    tokens_per_param, y_opt.  checkpoints: k, checkpoint, compute, parameters, tokens,
    ratio (r), penalty (Phi), effective compute, for checkpoints that entered the fit.
    """
    used = points[usable_mask(points, "compute")]
    c_top = float(used["compute"].max()) if len(used) else float("nan")
    budget_list = list(budgets) if budgets else [c_top, 10 * c_top, 100 * c_top]
    by_law_k = {(f.law, f.k): f for f in fits}
    summary, budget_rows, ckpt_rows = [], [], []
    for k in sorted(int(v) for v in np.unique(points["k"])):
        pt = by_law_k.get(("params_tokens", k))
        cl = by_law_k.get(("compute", k))
        if pt is None:
            log.warning("envelope: no params_tokens fit at k=%d", k)
            continue
        try:
            env = envelope_from_fit(pt)
        except ParameterError as exc:
            log.warning("envelope: the params_tokens fit at k=%d has no envelope: %s", k, exc)
            continue
        nan = float("nan")
        summary.append({"k": k, "envelope_alpha": env.alpha,
                        "compute_alpha": cl.params["alpha"] if cl else nan,
                        "envelope_C0": env.C0, "compute_C0": cl.params["C0"] if cl else nan,
                        **{f"pt_{n}": v for n, v in pt.params.items()},
                        "params_tokens_converged": pt.converged,
                        "compute_converged": cl.converged if cl else False,
                        "n_points": pt.n_points})
        for b in budget_list:
            budget_rows.append({"k": k, "budget": b, "n_opt": float(env.n_opt(b)),
                                "d_opt": float(env.d_opt(b)),
                                "tokens_per_param": float(env.tokens_per_param_opt(b)),
                                "y_opt": float(env.loss_opt(b))})
        sub = points[(points["k"] == k) & points["checkpoint"].isin(pt.labels)]
        N = sub["parameters"].to_numpy(np.float64)
        C = sub["compute"].to_numpy(np.float64)
        r = np.asarray(env.ratio(N, C), dtype=np.float64)
        ckpt_rows.append(pd.DataFrame({
            "k": k, "checkpoint": sub["checkpoint"].to_numpy(), "compute": C, "parameters": N,
            "tokens": sub["tokens"].to_numpy(np.float64), "ratio": r,
            "penalty": np.asarray(env.penalty(r), dtype=np.float64),
            "effective_compute": np.asarray(env.effective_compute(C, r), dtype=np.float64)}))
    checkpoints = (pd.concat(ckpt_rows, ignore_index=True) if ckpt_rows else pd.DataFrame(
        columns=["k", "checkpoint", "compute", "parameters", "tokens", "ratio", "penalty",
                 "effective_compute"]))
    return {"summary": pd.DataFrame(summary), "budgets": pd.DataFrame(budget_rows),
            "checkpoints": checkpoints}

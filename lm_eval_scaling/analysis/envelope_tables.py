"""Compute-allocation tables of a fitted ladder (SPEC.md section 5), per k.

Fits the params_tokens and compute laws at every k and tabulates the envelope of the
former next to the latter, the optimal split at chosen budgets, and every checkpoint's
misallocation ratio, penalty and effective compute.  The numerics live in
:mod:`lm_eval_scaling.analysis.envelope`; this module joins them to tidy tables.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import FitError, ParameterError
from ..passk.benchmark import ShortProblemPolicy
from .envelope import envelope_from_fit
from .fits import fit_points
from .points import passk_points, usable_mask

__all__ = ["envelope_tables"]

log = logging.getLogger(__name__)


def envelope_tables(counts: pd.DataFrame, ladder: pd.DataFrame, *, ks: Sequence[int],
                    budgets: Sequence[float] | None = None, exclude: Sequence[str] = (),
                    policy: ShortProblemPolicy = "drop_problems") -> dict[str, pd.DataFrame]:
    """``{"summary", "budgets", "checkpoints"}`` tables of the envelope per k.

    summary: k, envelope_alpha, compute_alpha, envelope_C0, compute_C0, the params_tokens
    parameters, both fits' convergence.  budgets: k, budget, n_opt, d_opt,
    tokens_per_param, y_opt.  checkpoints: k, checkpoint, compute, parameters, tokens,
    ratio (r), penalty (Phi), effective_compute, for checkpoints that entered the fit.
    """
    points = passk_points(counts, ladder, ks=ks, exclude=exclude, policy=policy)
    used = points[usable_mask(points, "compute")]
    c_top = float(used["compute"].max()) if len(used) else float("nan")
    budget_list = list(budgets) if budgets else [c_top, 10 * c_top, 100 * c_top]
    summary, budget_rows, ckpt_rows = [], [], []
    for k in sorted(int(v) for v in np.unique(points["k"])):
        try:
            pt = fit_points(points, "params_tokens", k=k, warn=False)
            cl = fit_points(points, "compute", k=k, warn=False)
        except FitError as exc:
            log.warning("envelope: no fit at k=%d: %s", k, exc)
            continue
        try:
            env = envelope_from_fit(pt)
        except ParameterError as exc:
            log.warning("envelope: the params_tokens fit at k=%d has no envelope: %s", k, exc)
            continue
        summary.append({"k": k, "envelope_alpha": env.alpha, "compute_alpha": cl.params["alpha"],
                        "envelope_C0": env.C0, "compute_C0": cl.params["C0"],
                        **{f"pt_{n}": v for n, v in pt.params.items()},
                        "params_tokens_converged": pt.converged,
                        "compute_converged": cl.converged, "n_points": pt.n_points})
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

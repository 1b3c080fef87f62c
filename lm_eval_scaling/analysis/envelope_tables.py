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

__all__ = ["ENVELOPE_CAVEAT", "FAR_FROM_RIDGE_DECADES", "envelope_tables"]

log = logging.getLogger(__name__)

#: Checkpoints whose median misallocation |log10 r| exceeds this are "far from the ridge".
FAR_FROM_RIDGE_DECADES = 0.5
#: Why the envelope's alpha is no test of the fitted compute law on a misallocated ladder.
ENVELOPE_CAVEAT = (
    "the envelope's alpha is the compute law of compute-optimal runs; the compute law is "
    "fitted on the ladder's checkpoints, which lie off the ridge (misallocation r = N / N*), "
    "so the two alphas agree only if the checkpoints are near r = 1")


def envelope_tables(points: pd.DataFrame, fits: Sequence[FitResult], *,
                    budgets: Sequence[float] | None = None) -> dict[str, pd.DataFrame]:
    """``{"summary", "budgets", "checkpoints"}`` tables of the envelope per k.

    ``fits``: the fits of ``points`` (:func:`lm_eval_scaling.analysis.fits.fit_table`);
    every k with a params_tokens fit gets a row, next to the compute law's fit at that k
    where there is one (NaN otherwise).  Nothing is refitted, so these tables and the fits
    agree by construction.

    summary: k, envelope_alpha, compute_alpha, envelope_C0, compute_C0, the params_tokens
    parameters, both fits' convergence and identification, the range of the checkpoints'
    misallocation ratios (``ratio_min``, ``ratio_max``), their median ``|log10 r|`` and
    ``far_from_ridge`` (that median above :data:`FAR_FROM_RIDGE_DECADES`: then the
    envelope's alpha is no test of the fitted compute law, ``alpha_comparable`` False; see
    :data:`ENVELOPE_CAVEAT`).  budgets: k, budget, n_opt, d_opt, tokens_per_param, y_opt,
    and the flags ``n_outside_data`` / ``d_outside_data`` (orders of magnitude of N* / D*
    outside the fitted checkpoints' range, 0 inside) and ``worse_than_measured`` (the
    "optimal" y at the budget is above the best measured y of a checkpoint that cost no
    more: the fit, not the ladder, is wrong there).  checkpoints: k, checkpoint, compute,
    parameters, tokens, ratio (r), penalty (Phi), effective compute, for checkpoints that
    entered the fit.
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
        sub = points[(points["k"] == k) & points["checkpoint"].isin(pt.labels)]
        N = sub["parameters"].to_numpy(np.float64)
        C = sub["compute"].to_numpy(np.float64)
        D = sub["tokens"].to_numpy(np.float64)
        y = sub["neg_log_pass_at_k"].to_numpy(np.float64)
        r = np.asarray(env.ratio(N, C), dtype=np.float64)
        spread = float(np.median(np.abs(np.log10(r)))) if r.size else nan
        far = bool(spread > FAR_FROM_RIDGE_DECADES)
        summary.append({"k": k, "envelope_alpha": env.alpha,
                        "compute_alpha": cl.params["alpha"] if cl else nan,
                        "envelope_C0": env.C0, "compute_C0": cl.params["C0"] if cl else nan,
                        **{f"pt_{n}": v for n, v in pt.params.items()},
                        "params_tokens_converged": pt.converged,
                        "params_tokens_identified": pt.identified,
                        "compute_converged": cl.converged if cl else False,
                        "compute_identified": cl.identified if cl else False,
                        "n_points": pt.n_points,
                        "ratio_min": float(r.min()) if r.size else nan,
                        "ratio_max": float(r.max()) if r.size else nan,
                        "median_abs_log10_ratio": spread, "far_from_ridge": far,
                        "alpha_comparable": not far})
        for b in budget_list:
            n_opt, d_opt, y_opt = float(env.n_opt(b)), float(env.d_opt(b)), float(env.loss_opt(b))
            cheaper = y[(C <= b) & np.isfinite(y)]
            budget_rows.append({"k": k, "budget": b, "n_opt": n_opt, "d_opt": d_opt,
                                "tokens_per_param": float(env.tokens_per_param_opt(b)),
                                "y_opt": y_opt,
                                "n_outside_data": _outside(n_opt, N),
                                "d_outside_data": _outside(d_opt, D),
                                "worse_than_measured": bool(cheaper.size
                                                            and y_opt > float(cheaper.min()))})
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


def _outside(value: float, data: np.ndarray) -> float:
    """Orders of magnitude ``value`` lies outside the range of ``data`` (0 inside)."""
    if not data.size or not np.isfinite(value) or value <= 0:
        return float("nan")
    return float(max(np.log10(value / data.max()), np.log10(data.min() / value), 0.0))

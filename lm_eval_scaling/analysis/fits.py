"""One fit per (law, k) of a points table, and the bootstrap over problems.

:func:`fit_table` fits every (law, k) on the usable points (:func:`usable_mask`):
censored points (pass@k = 0), points with undefined pass@k, pass@k = 1, points without
gold (gold law) and user-excluded checkpoints are left out, counted, and named in the
result (``excluded_labels``, ``n_censored``).

:func:`problem_bootstrap_ci` (``FitOptions(bootstrap=B)``) resamples the benchmark's
*problems* with replacement, recomputes every checkpoint's pass@k from the per-problem
estimates, and refits.  One resample of problem ids is shared by all checkpoints (they
were evaluated on the same problems), so the correlation between checkpoints is kept.
The gold covariate (``-log GoldProb``) is held fixed.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import FitError, InputError
from ..fit.bootstrap import RefitJob, check_bootstrap, refit_many, with_ci
from ..fit.core import fit_law
from ..fit.laws import get_law
from ..fit.result import FitResult
from ..passk.estimator import pass_at_k
from ..tables.checkpoints import checkpoint_name
from .options import FitOptions
from .points import COVARIATE_COLUMNS, usable_mask

__all__ = ["FIT_PARAMETER_COLUMNS", "fit_parameter_table", "fit_points", "fit_table", "problem_bootstrap_ci"]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
FIT_PARAMETER_COLUMNS = ("law", "k", "task", "parameter", "value", "stderr", "ci_low", "ci_high",
                         "ci_level", "n_boot", "converged", "n_points", "n_censored",
                         "n_excluded", "r_squared", "objective")


def fit_points(points: pd.DataFrame, law: str, *, k: int | None = None,
               options: FitOptions | None = None, x0: FitResult | None = None,
               warn: bool = True) -> FitResult:
    """Fit ``law`` to the usable rows of a points table (one k, or every k for a law with
    k as a covariate)."""
    options = options or FitOptions()
    spec = get_law(law)
    sub = points if k is None else points[points["k"] == k]
    tasks = sorted(sub["task"].unique())
    if len(tasks) > 1:
        raise InputError(f"fit one task at a time; the points hold tasks {tasks}")
    ok = usable_mask(sub, law)
    use = sub[ok]
    dropped = sub[~ok]
    labels = [f"{c}" if k is not None else f"{c}|k={kk}" for c, kk in
              zip(use["checkpoint"], use["k"])]
    excluded = [c if k is not None else f"{c}|k={kk}" for c, kk in
                zip(dropped["checkpoint"], dropped["k"])]
    cov: dict[str, Any] = {c: use[COVARIATE_COLUMNS[c]].to_numpy(np.float64)
                           for c in spec.covariates}
    if "k" not in cov:
        cov["k"] = k  # recorded on the result; a covariate only where the law says so
    fit = fit_law(law, use["neg_log_pass_at_k"].to_numpy(np.float64), **cov, x0=x0, labels=labels,
                  task=(tasks[0] or None) if tasks else None, warn=warn,
                  **options.law_kwargs(spec))
    return fit.with_(excluded_labels=tuple(excluded),
                     n_censored=int(dropped["censored"].to_numpy(bool).sum()))


def fit_table(
    points: pd.DataFrame,
    *,
    laws: Sequence[str],
    options: FitOptions | None = None,
    counts: pd.DataFrame | None = None,
    warn: bool = True,
) -> list[FitResult]:
    """One fit per (law, k) of a points table (:func:`passk_points`); one per law, over
    every k, for a law with k as a covariate.

    A (law, k) with fewer usable points than parameters gives no fit; it is logged, not
    raised.  ``options.bootstrap = B > 0`` adds percentile CIs at level ``options.ci``
    from ``B`` refits on problems resampled with replacement (:func:`problem_bootstrap_ci`;
    it needs the ``counts`` the points were computed from).
    """
    options = options or FitOptions()
    laws = list(dict.fromkeys(laws))
    specs = [get_law(law) for law in laws]
    if any(s.needs_gold for s in specs) and not np.isfinite(
            points["neg_log_gold_prob"].to_numpy(np.float64)).any():
        raise InputError("the gold law needs gold log-probabilities (a gold table / --gold FILE)")
    if options.bootstrap > 0 and counts is None:
        raise InputError("the problem bootstrap (FitOptions field 'bootstrap') needs the "
                         "counts table the points were computed from")
    k_values = sorted(int(v) for v in np.unique(points["k"]))
    fits: list[FitResult] = []
    for spec in specs:
        for k in (k_values if spec.per_k else [None]):
            try:
                fit = fit_points(points, spec.name, k=k, options=options, warn=warn)
            except FitError as exc:
                log.warning("no fit for law %r at k=%s: %s", spec.name, k, exc)
                continue
            fits.append(fit)
    if options.bootstrap > 0 and fits and counts is not None:
        fits = problem_bootstrap_ci(fits, points, counts, options)
    return fits


def problem_bootstrap_ci(fits: Sequence[FitResult], points: pd.DataFrame,
                         counts: pd.DataFrame, options: FitOptions) -> list[FitResult]:
    """``fits`` (of ``points``, from ``fit_table``) with CIs from ``options.bootstrap``
    refits on problems of ``counts`` resampled with replacement."""
    check_bootstrap(options.bootstrap, options.ci)
    ks = np.unique(points["k"].to_numpy(np.int64))
    boot = _resampled_passk(counts, ks, points, options.bootstrap, options.seed)
    # boot: (B, len(points)) pass@k per replicate, aligned with points' rows
    jobs = []
    for fit in fits:
        spec = fit.spec
        rows = _rows_of(points, fit)
        p = boot[:, rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where((p > 0) & (p < 1), -np.log(p), np.nan)
        cov = {c: points[COVARIATE_COLUMNS[c]].to_numpy(np.float64)[rows] for c in spec.covariates}
        jobs.append(RefitJob(law=fit.law, k=fit.k, params=dict(fit.params), ys=tuple(y),
                             covariates=cov, options=options.law_kwargs(spec)))
    samples = refit_many(jobs, options.n_jobs)
    return [with_ci(f, s, options.ci) for f, s in zip(fits, samples)]


def fit_parameter_table(fits: Sequence[FitResult]) -> pd.DataFrame:
    """The one table of fits: one row per (law, k, parameter), in the fits' and the law's
    parameter order, with value, standard error, CI bounds (NaN without a bootstrap), and
    each fit's convergence, size and quality.  ``k`` is -1 for a fit over every k.
    The CLI's table, the report's tables and ``fit_parameters.csv`` are views of it."""
    rows = []
    for f in fits:
        for name, value in f.params.items():
            lo, hi = (f.ci or {}).get(name, (math.nan, math.nan))
            rows.append({
                "law": f.law, "k": f.k if f.k is not None else -1, "task": f.task or "",
                "parameter": name, "value": float(value),
                "stderr": float(f.stderr.get(name, math.nan)), "ci_low": float(lo),
                "ci_high": float(hi), "ci_level": f.ci_level if f.ci is not None else math.nan,
                "n_boot": int(f.n_boot), "converged": bool(f.converged),
                "n_points": int(f.n_points), "n_censored": int(f.n_censored),
                "n_excluded": len(f.excluded_labels), "r_squared": float(f.r_squared),
                "objective": float(f.objective),
            })
    return pd.DataFrame(rows, columns=list(FIT_PARAMETER_COLUMNS))


# --------------------------------------------------------------------------- internals


def _rows_of(points: pd.DataFrame, fit: FitResult) -> npt.NDArray[np.int64]:
    """Rows of ``points`` that entered ``fit`` (by label and k), in the fit's order."""
    if fit.k is not None:
        sub = points[points["k"] == fit.k]
        index = dict(zip(sub["checkpoint"], sub.index))
        return np.array([index[label] for label in fit.labels], dtype=np.int64)
    index = {f"{c}|k={k}": i for i, (c, k) in enumerate(zip(points["checkpoint"], points["k"]))}
    return np.array([index[label] for label in fit.labels], dtype=np.int64)


def _resampled_passk(counts: pd.DataFrame, ks: npt.NDArray[np.int64], points: pd.DataFrame,
                     n_boot: int, seed: int) -> FloatArray:
    """Benchmark pass@k of every points row under ``n_boot`` joint resamples of problems."""
    out = np.full((n_boot, len(points)), np.nan)
    for task, tgrp in counts.groupby("task", sort=True):
        pids = np.unique(tgrp["problem_id"].to_numpy())
        pos = {pid: i for i, pid in enumerate(pids)}
        rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(str(task).encode())]))
        weights = rng.multinomial(len(pids), np.full(len(pids), 1.0 / len(pids)),
                                  size=n_boot).astype(np.float64)  # (B, U)
        for (model, revision), grp in tgrp.groupby(["model", "revision"], sort=True):
            name = checkpoint_name(model, revision)
            idx = np.array([pos[p] for p in grp["problem_id"]])
            per = pass_at_k(grp["num_samples"].to_numpy(), grp["num_correct"].to_numpy(), ks)
            valid = ~np.isnan(per)
            w = weights[:, idx]
            with np.errstate(invalid="ignore", divide="ignore"):
                est = (w @ np.where(valid, per, 0.0)) / (w @ valid.astype(np.float64))  # (B, K)
            sel = (points["checkpoint"] == name) & (points["task"] == task)
            for row in np.flatnonzero(sel.to_numpy()):
                j = int(np.flatnonzero(ks == points["k"].iloc[row])[0])
                point_value = points["pass_at_k"].iloc[row]
                out[:, row] = est[:, j] if np.isfinite(point_value) else np.nan
    return out

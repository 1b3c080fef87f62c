"""One fit per (law, k) of a points table, and the bootstrap over problems.

:func:`fit_table` fits every (law, k) on the usable points (:func:`usable_mask`):
censored points (pass@k = 0), points with undefined pass@k, pass@k = 1, points without
gold (gold law) and user-excluded checkpoints are left out, counted, and named in the
result (``excluded_labels``, ``n_censored``).

:func:`problem_bootstrap_ci` (``FitOptions(bootstrap=B)``) resamples the benchmark's
*problems* with replacement, recomputes every checkpoint's pass@k from the per-problem
estimates, and refits.  One resample of problem ids is shared by all checkpoints (they
were evaluated on the same problems), so the correlation between checkpoints is kept.
The gold covariate is recomputed from the same resample of problems (both sides of the
gold law move together).
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
from ..passk.benchmark import Estimator, resampled_pass_at_k
from ..passk.gold import gold_statistic
from ..tables.checkpoints import checkpoint_name
from .options import FitOptions
from .points import (
    COVARIATE_COLUMNS,
    GoldProblems,
    gold_problem_sets,
    law_response,
    usable_mask,
)

__all__ = ["FIT_PARAMETER_COLUMNS", "fit_parameter_table", "fit_points", "fit_table",
           "problem_bootstrap_ci", "resampled_passk"]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
FIT_PARAMETER_COLUMNS = ("law", "k", "task", "parameter", "role", "value", "at_bound",
                         "interval_low", "interval_high", "interval_kind", "display", "stderr",
                         "ci_low", "ci_high", "ci_level", "n_boot", "converged", "identified",
                         "identification", "n_points", "n_censored", "n_excluded",
                         "r_squared", "objective")


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
    ok = usable_mask(sub, law, options.chance_level)
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
    y, _ = law_response(use["pass_at_k"].to_numpy(np.float64), law, options.chance_level)
    fit = fit_law(law, y, **cov, x0=x0, labels=labels,
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
    gold: pd.DataFrame | None = None,
    warn: bool = True,
) -> list[FitResult]:
    """One fit per (law, k) of a points table (:func:`passk_points`); one per law, over
    every k, for a law with k as a covariate.

    A (law, k) with fewer usable points than parameters gives no fit; it is logged, not
    raised.  ``options.bootstrap = B > 0`` adds percentile CIs at level ``options.ci``
    from ``B`` refits on problems resampled with replacement (:func:`problem_bootstrap_ci`;
    it needs the ``counts`` the points were computed from, and for a gold law the
    ``gold`` table, whose covariate is resampled with the same problems).
    """
    options = options or FitOptions()
    laws = list(dict.fromkeys(laws))
    specs = [get_law(law) for law in laws]
    if any(s.needs_gold for s in specs) and not np.isfinite(
            points[COVARIATE_COLUMNS["gold"]].to_numpy(np.float64)).any():
        raise InputError("the gold law needs gold log-probabilities (a gold table / --gold FILE)")
    if options.bootstrap > 0 and counts is None:
        raise InputError("the problem bootstrap (FitOptions field 'bootstrap') needs the "
                         "counts table the points were computed from")
    if options.bootstrap > 0 and gold is None and any(s.needs_gold for s in specs):
        raise InputError("the problem bootstrap of the gold law needs the gold table (its "
                         "covariate is resampled with the problems)")
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
        fits = problem_bootstrap_ci(fits, points, counts, options, gold=gold)
    return fits


def problem_bootstrap_ci(fits: Sequence[FitResult], points: pd.DataFrame,
                         counts: pd.DataFrame, options: FitOptions, *,
                         gold: pd.DataFrame | None = None) -> list[FitResult]:
    """``fits`` (of ``points``, from ``fit_table``) with CIs from ``options.bootstrap``
    refits on problems of ``counts`` resampled with replacement.  Each replicate resamples
    the problems once; pass@k of every checkpoint and, with ``gold``, its gold covariate
    are recomputed on that resample."""
    check_bootstrap(options.bootstrap, options.ci)
    ks = np.unique(points["k"].to_numpy(np.int64))
    boot, boot_gold = resampled_passk(counts, ks, points, options.bootstrap, options.seed,
                                      gold=gold, gold_problems=options.gold_problems,
                                      gold_covariate=options.gold_covariate,
                                      estimator=options.estimator,
                                      hierarchical=options.hierarchical,
                                      n_jobs=options.n_jobs)
    # boot: (B, len(points)) pass@k per replicate, aligned with points' rows; boot_gold the
    # gold covariate per replicate (NaN where a row has none)
    jobs = []
    for fit in fits:
        spec = fit.spec
        rows = _rows_of(points, fit)
        y, _ = law_response(boot[:, rows], fit.law, options.chance_level)
        cov = {c: (boot_gold[:, rows] if c == "gold" else
                   points[COVARIATE_COLUMNS[c]].to_numpy(np.float64)[rows])
               for c in spec.covariates}
        jobs.append(RefitJob(law=fit.law, k=fit.k, params=dict(fit.params), ys=tuple(y),
                             covariates=cov, options=options.law_kwargs(spec)))
    samples = refit_many(jobs, options.n_jobs)
    return [with_ci(f, s, options.ci) for f, s in zip(fits, samples)]


def fit_parameter_table(fits: Sequence[FitResult]) -> pd.DataFrame:
    """The one table of fits: one row per (law, k, parameter), in the fits' and the law's
    parameter order, then one per pivot prefactor (``role`` ``pivot``: each reducible term
    at the median covariates, :attr:`FitResult.pivot_params`).  ``k`` is -1 for a fit
    over every k.

    Per parameter: value; ``at_bound``; the interval shown (``interval_low/high``,
    ``interval_kind``: bootstrap percentiles where bootstrapped, else from the sandwich
    standard error; one-sided from the bound for a parameter at a bound; for a pivot
    prefactor the bootstrap percentiles of the draws, else NaN); ``display`` (the one
    formatter's text, e.g. ``0 (at bound) [0, 0.73]``); ``stderr``; the bootstrap
    ``ci_low/ci_high`` (NaN without).  Per fit: convergence, identification, size and
    quality.  The CLI's table, the report's tables and ``fit_parameters.csv`` are views
    of it."""
    from ..fit.numbers import format_interval

    rows = []
    for f in fits:
        common = {"converged": bool(f.converged), "identified": bool(f.identified),
                  "identification": f.identification, "n_points": int(f.n_points),
                  "n_censored": int(f.n_censored), "n_excluded": len(f.excluded_labels),
                  "r_squared": float(f.r_squared), "objective": float(f.objective),
                  "n_boot": int(f.n_boot)}
        head = {"law": f.law, "k": f.k if f.k is not None else -1, "task": f.task or ""}
        intervals = f.intervals()
        for name, value in f.params.items():
            lo, hi = (f.ci or {}).get(name, (math.nan, math.nan))
            i_lo, i_hi, kind = intervals[name]
            at = name in f.at_bound
            rows.append({
                **head, "parameter": name, "role": f.spec.role(name), "value": float(value),
                "at_bound": at, "interval_low": i_lo, "interval_high": i_hi,
                "interval_kind": kind,
                "display": format_interval(value, i_lo, i_hi, at_bound=at,
                                           bound=f.bounds.get(name, (0.0, math.inf))[0]),
                "stderr": float(f.stderr.get(name, math.nan)), "ci_low": float(lo),
                "ci_high": float(hi), "ci_level": f.ci_level if f.ci is not None else math.nan,
                **common,
            })
        draws = _pivot_draws(f)
        for name, value in f.pivot_params.items():
            if draws is not None and name in draws and f.ci_level:
                level = f.ci_level
                lo, hi = (float(np.quantile(draws[name], q)) for q in ((1 - level) / 2,
                                                                        (1 + level) / 2))
                kind = "bootstrap"
            else:
                lo = hi = math.nan
                kind = "none (no bootstrap)"
            rows.append({
                **head, "parameter": name, "role": "pivot", "value": float(value),
                "at_bound": False, "interval_low": lo, "interval_high": hi, "interval_kind": kind,
                "display": (format_interval(value, lo, hi) if np.isfinite(lo)
                            else format_interval(value, lo, hi).replace(
                                "[interval undefined]", "[no bootstrap]")),
                "stderr": math.nan, "ci_low": lo, "ci_high": hi,
                "ci_level": f.ci_level if f.ci is not None else math.nan, **common,
            })
    return pd.DataFrame(rows, columns=list(FIT_PARAMETER_COLUMNS))


def _pivot_draws(fit: FitResult) -> dict[str, FloatArray] | None:
    """The pivot prefactors of every bootstrap draw (None without draws)."""
    if fit.bootstrap_params is None or len(fit.bootstrap_params) < 2 or not fit.pivot:
        return None
    spec = fit.spec
    out: dict[str, list[float]] = {}
    for row in np.asarray(fit.bootstrap_params):
        theta = spec.to_internal(dict(zip(spec.param_names, row)))
        for name, v in spec.pivot_prefactors(theta, fit.pivot).items():
            out.setdefault(name, []).append(v)
    return {name: np.asarray(v) for name, v in out.items()}


# --------------------------------------------------------------------------- internals


def _rows_of(points: pd.DataFrame, fit: FitResult) -> npt.NDArray[np.int64]:
    """Rows of ``points`` that entered ``fit`` (by label and k), in the fit's order."""
    if fit.k is not None:
        sub = points[points["k"] == fit.k]
        index = dict(zip(sub["checkpoint"], sub.index))
        return np.array([index[label] for label in fit.labels], dtype=np.int64)
    index = {f"{c}|k={k}": i for i, (c, k) in enumerate(zip(points["checkpoint"], points["k"]))}
    return np.array([index[label] for label in fit.labels], dtype=np.int64)


def _pooled_resamples(counts: pd.DataFrame, ks: npt.NDArray[np.int64], weights: FloatArray,
                      pids: npt.NDArray[Any], task: str, *, hierarchical: bool,
                      seed: np.random.SeedSequence,
                      n_jobs: int | None) -> dict[tuple[str, str], FloatArray]:
    """``estimator="pooled"``: (model, revision) -> (B, K) pass@k of each resample of the
    task's problems (``weights`` over ``pids``), one pooled refit per resample;
    ``hierarchical`` also redraws every cell's correct count (generator seeded by ``seed``)."""
    from ..passk.benchmark import count_matrices
    from ..passk.pooled import bootstrap_label, fit_pooled_model, resampled_pooled_pass_at_k

    keys, ids, n, c, observed = count_matrices(counts)
    column = {str(p): i for i, p in enumerate(pids)}
    order = np.array([column[pid] for pid in ids])
    fitted = fit_pooled_model(n, c, observed=observed)
    boot = resampled_pooled_pass_at_k(fitted, n, c, observed, ks, weights[:, order],
                                      progress=bootstrap_label(task),
                                      hierarchical=hierarchical, seed=seed, n_jobs=n_jobs)
    return {key: boot[:, j, :] for j, key in enumerate(keys)}


def resampled_passk(counts: pd.DataFrame, ks: npt.NDArray[np.int64], points: pd.DataFrame,
                     n_boot: int, seed: int, *, gold: pd.DataFrame | None = None,
                     gold_problems: GoldProblems = "same",
                     gold_covariate: str = "neg_log_gold_prob", estimator: Estimator = "unbiased",
                     hierarchical: bool = False, n_jobs: int | None = None,
                     problems: npt.ArrayLike | None = None) -> tuple[FloatArray, FloatArray]:
    """Benchmark pass@k and the gold covariate of every points row under ``n_boot`` joint
    resamples of problems (the same resample for both).  pass@k with ``estimator``
    (:func:`lm_eval_scaling.passk.benchmark.resampled_pass_at_k`); ``hierarchical`` also
    redraws each problem's correct count given its samples (seeded per checkpoint).
    ``problems``: the problem ids each task's resamples draw over (default: the task's
    problems in ``counts``); the same ids and seed give the same resamples, so a subset of
    the checkpoints can be resampled exactly as the whole counts table was."""
    out = np.full((n_boot, len(points)), np.nan)
    out_gold = np.full((n_boot, len(points)), np.nan)
    gold_sets: dict[tuple[str, str, str], pd.DataFrame] = {}
    if gold is not None:
        keys = points[["model", "revision", "task"]].drop_duplicates().reset_index(drop=True)
        for j, rows in gold_problem_sets(keys, gold, counts, gold_problems).items():
            gold_sets[(keys["model"].iloc[j], keys["revision"].iloc[j], keys["task"].iloc[j])] = rows
    for task, tgrp in counts.groupby("task", sort=True):
        pids = np.unique(tgrp["problem_id"].to_numpy() if problems is None else problems)
        pos = {pid: i for i, pid in enumerate(pids)}
        task_key = zlib.crc32(str(task).encode())
        rng = np.random.default_rng(np.random.SeedSequence([seed, task_key]))
        weights = rng.multinomial(len(pids), np.full(len(pids), 1.0 / len(pids)),
                                  size=n_boot).astype(np.float64)  # (B, U)
        # the pooled redraws: their own stream of the task's seed
        pooled = (_pooled_resamples(tgrp, ks, weights, pids, str(task), hierarchical=hierarchical,
                                    seed=np.random.SeedSequence([seed, task_key, 1]),
                                    n_jobs=n_jobs)
                  if estimator == "pooled" else {})
        for (model, revision), grp in tgrp.groupby(["model", "revision"], sort=True):
            name = checkpoint_name(model, revision)
            idx = np.array([pos[p] for p in grp["problem_id"]])
            ckpt_seed = np.random.SeedSequence([seed, zlib.crc32(f"{name}\0{task}".encode())])
            if estimator == "pooled":
                est = pooled[(str(model), str(revision))]
            else:
                est = resampled_pass_at_k(grp["num_samples"].to_numpy(),
                                          grp["num_correct"].to_numpy(), ks, weights[:, idx],
                                          seed=ckpt_seed, estimator=estimator,
                                          hierarchical=hierarchical)  # (B, K)
            sel = (points["checkpoint"] == name) & (points["task"] == task)
            g_rows = gold_sets.get((model, revision, task))
            g_boot = None
            if g_rows is not None:
                g_w = weights[:, [pos.get(p, -1) for p in g_rows["problem_id"]]]
                if gold_problems == "all":  # problems outside the counts keep weight 1
                    g_w[:, ~g_rows["problem_id"].isin(pos).to_numpy()] = 1.0
                lp = g_rows["gold_logprob"].to_numpy(np.float64)
                sizes = [g_rows[c].to_numpy(np.float64) if c in g_rows.columns
                         and g_rows[c].notna().all() else None for c in ("gold_tokens", "gold_bytes")]
                g_boot = np.array([gold_statistic(gold_covariate, lp, tokens=sizes[0],
                                                  nbytes=sizes[1], weights=wb)
                                   for wb in g_w])
            for row in np.flatnonzero(sel.to_numpy()):
                j = int(np.flatnonzero(ks == points["k"].iloc[row])[0])
                point_value = points["pass_at_k"].iloc[row]
                out[:, row] = est[:, j] if np.isfinite(point_value) else np.nan
                if g_boot is not None:
                    out_gold[:, row] = g_boot
    return out, out_gold

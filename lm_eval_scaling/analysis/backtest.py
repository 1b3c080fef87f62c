"""Backtesting: how well does each law forecast the target from cheaper checkpoints?

For every cap ``C_max`` below the target's compute, every law is fitted on the checkpoints
with ``C <= C_max`` (the target itself never enters) and extrapolated to the target:

    relative_error = |y_hat(target) - y(target)| / y(target),   y = -log pass@k

The gold law predicts the target from the target's own measured ``-log GoldProb`` (cheap
to measure).  Fits along the cap sequence are warm-started from the previous cap's fit,
and the (law, k) sequences run in parallel processes.  The full fits (every checkpoint,
target included) are those of :func:`lm_eval_scaling.analysis.fits.fit_table`.

:class:`BacktestResult` holds one row per (law, k, cap) with every fitted parameter (for
stability plots), the full fits (all checkpoints, target included) and
:meth:`BacktestResult.summary`, which turns the paper's statements into numbers: the
largest horizon (orders of magnitude of compute below the target) from which the
forecast error stays under a threshold, and from which every parameter stays within a
tolerance of its full-fit value.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import FitError, InputError
from ..fit.core import FitWarning, fit_law
from ..fit.laws import get_law, law_names
from ..fit.result import FitResult
from ..tables.checkpoints import checkpoint_name, parse_checkpoint
from .options import FitOptions
from .points import COVARIATE_COLUMNS

__all__ = ["BACKTEST_COLUMNS", "BacktestResult", "backtest"]

log = logging.getLogger(__name__)

BACKTEST_COLUMNS = (
    "law", "k", "task", "c_max", "compute_ratio", "horizon_oom", "n_points", "predicted",
    "actual", "relative_error", "predicted_pass_at_k", "actual_pass_at_k", "converged",
    "objective",
)


@dataclass(frozen=True)
class BacktestResult:
    """Backtest rows, full fits and the target, with summaries.

    ``rows`` columns: ``law, k, task, c_max, compute_ratio (= c_max / c_target),
    horizon_oom (= -log10 compute_ratio), n_points, predicted, actual, relative_error,
    predicted_pass_at_k, actual_pass_at_k, converged, objective`` then one column per
    fitted parameter (NaN where a law has no such parameter).  ``actual`` is NaN where
    the target has no measured pass@k at that k (censored, or fewer samples than k).
    """

    rows: pd.DataFrame
    target: str
    target_compute: float
    full_fits: tuple[FitResult, ...] = field(default=())

    def full_fit(self, law: str, k: int) -> FitResult | None:
        for fit in self.full_fits:
            if fit.law == law and fit.k is not None and int(fit.k) == int(k):
                return fit
        return None

    def summary(self, *, threshold: float = 0.1, stability: float = 0.1) -> pd.DataFrame:
        """Per (law, k): horizons from which the forecast is reliable and the parameters stable.

        ``error_horizon_oom`` is the largest horizon h (orders of magnitude of compute
        below the target) such that every cap with horizon <= h has a converged fit with
        relative error < ``threshold``; 0 when even the closest cap fails; NaN when the
        target has no measured pass@k at that k (censored, or fewer samples than k).
        ``stable_horizon_oom`` likewise for every parameter being within ``stability``
        (relative) of the full fit's value.  ``max_horizon_oom`` is the farthest cap tried.
        """
        if not (threshold > 0 and stability > 0):
            raise InputError(f"threshold and stability must be > 0, got {threshold}, {stability}")
        out = []
        for (law, k, task), grp in self.rows.groupby(["law", "k", "task"], sort=True):
            grp = grp.sort_values("horizon_oom")
            h = grp["horizon_oom"].to_numpy(np.float64)
            ok_err = grp["converged"].to_numpy(bool) & (grp["relative_error"].to_numpy() < threshold)
            full = self.full_fit(str(law), int(k))
            names = get_law(str(law)).param_names
            if full is not None and full.converged:
                ref = np.array([full.params[n] for n in names])
                vals = grp[list(names)].to_numpy(np.float64)
                with np.errstate(divide="ignore", invalid="ignore"):
                    dev = np.abs(vals - ref) / np.abs(ref)
                # A parameter whose full-fit value is effectively zero is judged absolutely.
                actual = grp["actual"].to_numpy(np.float64)
                scale = float(np.max(actual[np.isfinite(actual)])) if np.isfinite(actual).any() else 1.0
                tiny = np.abs(ref) < 1e-9 * max(1.0, scale)
                dev[:, tiny] = np.where(np.abs(vals[:, tiny]) < 1e-6, 0.0, np.inf)
                ok_par = grp["converged"].to_numpy(bool) & np.all(dev < stability, axis=1)
                stable = _reliable_horizon(h, ok_par)
            else:
                stable = float("nan")
            errs = grp["relative_error"].to_numpy(np.float64)
            out.append({
                "law": law, "k": int(k), "task": task,
                "n_caps": len(grp),
                "max_horizon_oom": float(np.nanmax(h)) if len(h) else float("nan"),
                # no measured target value at this k (censored or undefined): no horizon
                "error_horizon_oom": (_reliable_horizon(h, ok_err)
                                      if np.isfinite(grp["actual"].to_numpy(np.float64)).any()
                                      else float("nan")),
                "stable_horizon_oom": stable,
                "median_relative_error": float(np.nanmedian(errs)) if np.isfinite(errs).any() else float("nan"),
                "closest_relative_error": float(errs[0]) if len(errs) else float("nan"),
                "threshold": threshold,
                "stability": stability,
            })
        return pd.DataFrame(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_compute": self.target_compute,
            "rows": self.rows.replace({np.nan: None}).to_dict(orient="records"),
            "full_fits": [f.to_dict() for f in self.full_fits],
        }


def _reliable_horizon(h: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_]) -> float:
    """Largest h[i] with ok[j] for every j <= i (h sorted ascending); 0 if ok[0] is False."""
    if len(h) == 0 or not ok[0]:
        return 0.0
    bad = np.flatnonzero(~ok)
    last = (bad[0] - 1) if bad.size else len(h) - 1
    return float(h[last])


def backtest(
    points: pd.DataFrame,
    *,
    laws: Sequence[str] = ("compute", "params_tokens", "gold"),
    target: str | None = None,
    caps: Sequence[float] | None = None,
    options: FitOptions | None = None,
    fits: Sequence[FitResult] | None = None,
    progress: bool = False,
) -> BacktestResult:
    """Backtest every law at every k of ``points``: fit on checkpoints with C <= C_max,
    predict the target.

    Parameters
    ----------
    points:
        The points table (:func:`lm_eval_scaling.analysis.points.passk_points`), one task;
        its user-excluded checkpoints are never used.
    laws:
        Backtestable laws (:attr:`LawSpec.backtestable`); a law using the gold covariate
        needs the target's own gold log-probabilities.
    target:
        Checkpoint to forecast, ``MODEL`` or ``MODEL@REVISION``; default: the most
        expensive checkpoint (ties are an error: name one).
    caps:
        Compute caps; default: every distinct checkpoint compute below the target's.
    options:
        How every fit is made; ``options.n_jobs`` worker processes over (law, k)
        sequences (``None`` = up to 2); ``options.warm_start``: start each cap's fit from
        the next richer cap's fit (beside the best grid start), else from the grid alone.
        A warm-started fit that does not converge is redone from the full grid.
    fits:
        The full fits (every checkpoint) of these points with these options
        (:func:`lm_eval_scaling.analysis.fits.fit_table`), where computed already; they
        are fitted here otherwise.
    """
    options = options or FitOptions()
    laws = list(dict.fromkeys(laws))
    specs = [get_law(law) for law in laws]
    not_bt = [s.name for s in specs if not s.backtestable]
    if not_bt:
        allowed = [n for n in law_names() if get_law(n).backtestable]
        raise InputError(f"law must be one of {tuple(allowed)} for a backtest, got {not_bt[0]!r}")
    gold = points["neg_log_gold_prob"].to_numpy(np.float64)
    if any(s.needs_gold for s in specs) and not np.isfinite(gold).any():
        raise InputError("the gold law needs gold log-probabilities (--gold FILE)")
    tasks = sorted(points["task"].unique())
    if len(tasks) > 1:
        raise InputError(f"backtest one task at a time; the counts hold tasks {tasks}")
    target_name, target_compute = _resolve_target(points, target)
    tgt_rows = points[points["checkpoint"] == target_name]
    if (any(s.needs_gold for s in specs)
            and not np.isfinite(tgt_rows["neg_log_gold_prob"].to_numpy(np.float64)).all()):
        raise InputError(f"the gold law needs the target's own gold log-probabilities; "
                         f"the gold table has none for {target_name!r}")
    pool = points[(points["checkpoint"] != target_name) & ~points["user_excluded"]]
    pool = pool[pool["compute"] < target_compute]
    if caps is None:
        cap_values = np.unique(pool["compute"].to_numpy(np.float64))
    else:
        cap_values = np.unique(np.asarray(caps, dtype=np.float64))
        if (cap_values >= target_compute).any() or (cap_values <= 0).any():
            raise InputError(f"caps must lie in (0, {target_compute:.4g}) (the target's compute), "
                             f"got {cap_values.tolist()}")
    if fits is None:
        from .fits import fit_table

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            fits = fit_table(points, laws=laws, options=options.with_(bootstrap=0), warn=False)
    full = {(f.law, f.k): f for f in fits}

    ks = sorted(int(v) for v in np.unique(points["k"]))
    jobs = []
    for law in laws:
        for k in ks:
            sub = pool[pool["k"] == k]
            tgt = tgt_rows[tgt_rows["k"] == k].iloc[0]
            jobs.append(_Job(law=law, k=k, task=str(tasks[0]), caps=cap_values,
                             target_compute=target_compute, pool=_arrays(sub),
                             target=_arrays(tgt.to_frame().T), options=options))
    workers = _workers(options.n_jobs, len(jobs))
    results: list[list[dict[str, Any]]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as ex:
                results = list(_progress(ex.map(_run_job, jobs), len(jobs), progress))
        else:
            results = list(_progress(map(_run_job, jobs), len(jobs), progress))
    rows = [r for job_rows in results for r in job_rows]
    full_fits = tuple(f for job in jobs if (f := full.get((job.law, job.k))) is not None)
    table = pd.DataFrame(rows)
    param_cols = list(dict.fromkeys(n for spec in specs for n in spec.param_names))
    table = table.reindex(columns=[*BACKTEST_COLUMNS, *param_cols])
    if len(table):
        few = table["n_points"].to_numpy() < table["law"].map(
            lambda name: get_law(name).n_params).to_numpy()
        failed = ~table["converged"].astype(bool).to_numpy() & ~few
        if few.any():
            log.info("%d of %d backtest caps have fewer usable points than parameters "
                     "(rows kept, converged=False)", int(few.sum()), len(table))
        if failed.any():
            log.warning("%d of %d backtest fits did not converge (rows kept, converged=False)",
                        int(failed.sum()), len(table))
    return BacktestResult(rows=table, target=target_name, target_compute=target_compute,
                          full_fits=full_fits)


# --------------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Job:
    law: str
    k: int
    task: str
    caps: npt.NDArray[np.float64]
    target_compute: float
    pool: dict[str, npt.NDArray[Any]]
    target: dict[str, npt.NDArray[Any]]
    options: FitOptions


def _arrays(df: pd.DataFrame) -> dict[str, npt.NDArray[Any]]:
    cols = ["checkpoint", "pass_at_k", "neg_log_pass_at_k", *COVARIATE_COLUMNS.values()]
    return {c: df[c].to_numpy() for c in dict.fromkeys(cols) if c in df.columns}


def _usable(a: dict[str, npt.NDArray[Any]], law: str) -> npt.NDArray[np.bool_]:
    p = a["pass_at_k"].astype(np.float64)
    ok = (p > 0) & (p < 1)
    for c in get_law(law).covariates:
        v = a[COVARIATE_COLUMNS[c]].astype(np.float64)
        ok &= np.isfinite(v) & (v > 0)
    return ok


def _fit(job: _Job, a: dict[str, npt.NDArray[Any]], mask: npt.NDArray[np.bool_],
         x0: FitResult | None, grid: str | None = None) -> FitResult:
    spec = get_law(job.law)
    cov: dict[str, Any] = {c: a[COVARIATE_COLUMNS[c]][mask].astype(np.float64)
                           for c in spec.covariates}
    kwargs = job.options.law_kwargs(spec)
    if grid is not None:
        kwargs["grid"] = grid
    return fit_law(job.law, a["neg_log_pass_at_k"][mask].astype(np.float64), **cov, k=job.k,
                   x0=x0, labels=[str(x) for x in a["checkpoint"][mask]],
                   task=job.task or None, warn=False, **kwargs)


def _run_job(job: _Job) -> list[dict[str, Any]]:
    spec = get_law(job.law)
    tgt = job.target
    actual = float(tgt["neg_log_pass_at_k"][0])
    actual_p = float(tgt["pass_at_k"][0])
    tgt_cov = {c: float(tgt[COVARIATE_COLUMNS[c]][0]) for c in spec.covariates}
    usable = _usable(job.pool, job.law)
    compute = job.pool["compute"].astype(np.float64)
    rows: list[dict[str, Any]] = []
    previous: FitResult | None = None
    last_mask: npt.NDArray[np.bool_] | None = None
    last_fit: FitResult | None = None
    # From the closest cap outwards: the warm start comes from the richer fit.
    for c_max in job.caps[::-1]:
        mask = usable & (compute <= c_max)
        n_points = int(mask.sum())
        row: dict[str, Any] = {
            "law": job.law, "k": job.k, "task": job.task, "c_max": float(c_max),
            "compute_ratio": float(c_max / job.target_compute),
            "horizon_oom": float(math.log10(job.target_compute / c_max)),
            "n_points": n_points, "actual": actual, "actual_pass_at_k": actual_p,
            "predicted": np.nan, "relative_error": np.nan, "predicted_pass_at_k": np.nan,
            "converged": False, "objective": np.nan,
        }
        if n_points >= spec.n_params:
            if last_mask is not None and np.array_equal(mask, last_mask):
                fit = last_fit  # same points as the previous cap: same fit
            else:
                fit = _fit_robust(job, job.pool, mask,
                                  previous if job.options.warm_start else None)
            last_mask, last_fit = mask, fit
            if fit is not None:
                pred = float(fit.predict(**tgt_cov)[0])
                row.update(fit.params)
                row.update(predicted=pred, predicted_pass_at_k=math.exp(-pred),
                           converged=bool(fit.converged), objective=fit.objective)
                if np.isfinite(actual) and actual > 0:
                    row["relative_error"] = abs(pred - actual) / actual
                if fit.converged:
                    previous = fit
        rows.append(row)
    return rows[::-1]


def _fit_robust(job: _Job, a: dict[str, npt.NDArray[Any]], mask: npt.NDArray[np.bool_],
                x0: FitResult | None) -> FitResult | None:
    """Warm-started fit; if it does not converge, a cold fit on the full grid; None on FitError."""
    try:
        fit = _fit(job, a, mask, x0)
        if not fit.converged:
            cold = _fit(job, a, mask, None, grid="full")
            if cold.converged or cold.objective < fit.objective:
                fit = cold
    except FitError:
        return None
    return fit


def _resolve_target(points: pd.DataFrame, target: str | None) -> tuple[str, float]:
    per = points.drop_duplicates("checkpoint").set_index("checkpoint")["compute"]
    if target is None:
        top = per[per == per.max()]
        if len(top) > 1:
            raise InputError(f"several checkpoints share the largest compute ({', '.join(top.index)}): "
                             "choose one with --target")
        return str(top.index[0]), float(top.iloc[0])
    if target in per.index:
        return target, float(per[target])
    model, revision = parse_checkpoint(target)
    alt = checkpoint_name(model, revision)
    if alt in per.index:
        return alt, float(per[alt])
    close = [c for c in per.index if target.lower() in c.lower()][:5]
    raise InputError(f"target {target!r} is not a checkpoint of the counts table"
                     + (f"; did you mean {', '.join(map(repr, close))}?" if close else ""))


def _workers(n_jobs: int | None, n_tasks: int) -> int:
    if n_jobs is not None:
        if n_jobs < 1:
            raise InputError(f"n_jobs must be >= 1, got {n_jobs}")
        return min(n_jobs, n_tasks)
    return 2 if n_tasks >= 4 else 1


def _progress(it: Any, total: int, enabled: bool) -> Any:
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc="backtest", unit="law x k", leave=False)

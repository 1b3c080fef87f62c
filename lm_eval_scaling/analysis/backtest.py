"""Backtesting: how well does each law forecast a target from cheaper checkpoints?

For every target and every cap ``C_max`` below the target's compute, every law is fitted
on the checkpoints with ``C <= C_max`` (the target itself never enters) and extrapolated
to the target:

    relative_error = |y_hat(target) - y(target)| / y(target),   y = -log pass@k

The gold law predicts the target from the target's own measured gold covariate (cheap
to measure).  Two naive forecasters run beside the laws, as rows of the same tables:
``persistence`` (the ``y`` of the most expensive usable checkpoint under the cap) and
``trend`` (least squares of ``log y`` on ``log C`` over the last decade of compute under
the cap, extrapolated to the target).  A law that does not beat them adds nothing.

Targets: by default the largest checkpoint of each of the 3 biggest model sizes
(:func:`default_targets`).  Fits along the cap sequence are warm-started from the
previous cap's fit, and the (target, law, k) sequences run in parallel processes.  With
``n_boot > 0`` every forecast gets a percentile interval on its relative error from
refits on problems resampled with replacement (fit data and target resampled together).

With ``estimator="pooled"`` the points' pass@k rests on one model of every checkpoint
(each problem's ease is shared), so the target, and every checkpoint above a cap, would
reach a forecast through the eases.  The points a forecast from cap ``C_max`` fits on
therefore get their pass@k (and, with ``n_boot``, their resamples) from a pooled model
fitted to the checkpoints with ``C <= C_max`` alone, one fit per distinct cap shared by
every target (``FitOptions.pooled_refit = "cap"``); ``"target"`` fits once per target, to
the checkpoints cheaper than it (faster; the checkpoints between a cap and the target
still inform the eases).  The target's own value stays the one of the points table.

:class:`BacktestResult` holds one row per (target, law, k, cap) with every fitted
parameter and the pivot prefactors (for stability plots), the full fits (all
checkpoints) and :meth:`BacktestResult.summary`, which turns the paper's statements into
numbers: horizons (orders of magnitude of compute below the target) from which the
forecast error stays at its plateau and the exponents and pivot prefactors stay within a
tolerance of their full-fit values, and whether each law beats the baselines.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import FitError, InputError
from ..fit.core import FitWarning, fit_law
from ..fit.laws import get_law, law_names
from ..fit.result import FitResult
from ..tables.checkpoints import checkpoint_name, parse_checkpoint
from .options import FitOptions
from .points import COVARIATE_COLUMNS, law_response

__all__ = ["BACKTEST_COLUMNS", "BASELINES", "BacktestResult", "backtest", "default_targets"]

log = logging.getLogger(__name__)

BACKTEST_COLUMNS = (
    "target", "law", "k", "task", "c_max", "compute_ratio", "horizon_oom", "n_points",
    "predicted", "actual", "relative_error", "error_ci_low", "error_ci_high",
    "predicted_pass_at_k", "actual_pass_at_k", "converged", "identified", "at_bound",
    "objective",
)
#: Naive forecasters backtested beside the laws (rows with these names in ``law``).
BASELINES: Final = ("persistence", "trend")
#: Decades of compute under the cap that the ``trend`` baseline fits on.
TREND_DECADES: Final = 1.0
HorizonRule = Literal["plateau", "threshold"]
StabilityRule = Literal["exponents_pivot", "all"]


@dataclass(frozen=True)
class BacktestResult:
    """Backtest rows, full fits and the targets, with summaries.

    ``rows`` columns: ``target, law, k, task, c_max, compute_ratio (= c_max / c_target),
    horizon_oom (= -log10 compute_ratio), n_points, predicted, actual, relative_error,
    error_ci_low, error_ci_high (bootstrap, NaN without), predicted_pass_at_k,
    actual_pass_at_k, converged, objective`` then one column per fitted parameter and
    pivot prefactor (NaN where a law has no such parameter).  ``law`` includes the
    baselines ``persistence`` and ``trend``.  ``actual`` is NaN where the target has no
    measured pass@k at that k (censored, or fewer samples than k).  ``target`` /
    ``target_compute`` name the first target; ``targets`` all of them.
    """

    rows: pd.DataFrame
    target: str
    target_compute: float
    full_fits: tuple[FitResult, ...] = field(default=())
    targets: tuple[tuple[str, float], ...] = field(default=())
    pivots: dict[tuple[str, int | None], dict[str, float]] = field(default_factory=dict)

    def full_fit(self, law: str, k: int) -> FitResult | None:
        for fit in self.full_fits:
            if fit.law == law and fit.k is not None and int(fit.k) == int(k):
                return fit
        return None

    def summary(self, *, threshold: float = 0.1, stability: float = 0.1,
                horizon: HorizonRule = "plateau", plateau_oom: float = 0.5,
                stable_on: StabilityRule = "exponents_pivot") -> pd.DataFrame:
        """Per (target, law, k): horizons, errors, and whether the law beats the baselines.

        ``error_horizon_oom`` is the largest horizon h (orders of magnitude of compute
        below the target) such that every cap with horizon <= h has a forecast (a
        converged, identified fit for a law) whose relative error is acceptable; 0 when even the
        closest cap fails; NaN when the target has no measured pass@k at that k.
        Acceptable, with ``horizon="plateau"`` (default, as in the paper: errors fall,
        then plateau): at most ``plateau_error + threshold``, where ``plateau_error`` is
        the median error of the caps within ``plateau_oom`` orders of magnitude of the
        closest cap with a forecast; with ``horizon="threshold"``: below ``threshold``.

        ``stable_horizon_oom`` likewise for the parameters lying within ``stability``
        (relative) of the full fit's values: the exponents and the pivot prefactors
        (``stable_on="exponents_pivot"``, default, as in the paper; raw prefactors at
        C = 1 are nearly collinear with the exponents and ``E0`` is often at its bound),
        or every raw parameter (``stable_on="all"``).  NaN for the baselines.

        ``median_relative_error`` is over every cap with a forecast, ``closest_relative_error``
        the closest cap's.  ``persistence_plateau_error`` / ``trend_plateau_error`` are the
        baselines' median errors over the plateau caps where both they and the law forecast, and ``beats_persistence`` / ``beats_trend`` say
        whether the law's median error over those caps is lower (NA where they share none).
        """
        if not (threshold > 0 and stability > 0 and plateau_oom > 0):
            raise InputError(f"threshold, stability and plateau_oom must be > 0, got "
                             f"{threshold}, {stability}, {plateau_oom}")
        if horizon not in ("plateau", "threshold"):
            raise InputError(f"horizon must be 'plateau' or 'threshold', got {horizon!r}")
        if stable_on not in ("exponents_pivot", "all"):
            raise InputError(f"stable_on must be 'exponents_pivot' or 'all', got {stable_on!r}")
        out = []
        rows = self.rows
        if "target" not in rows.columns:
            rows = rows.assign(target=self.target)
        for (target, law, k, task), grp in rows.groupby(["target", "law", "k", "task"], sort=True):
            grp = grp.sort_values("horizon_oom")
            h = grp["horizon_oom"].to_numpy(np.float64)
            errs = grp["relative_error"].to_numpy(np.float64)
            conv = grp["converged"].to_numpy(bool) & grp["identified"].to_numpy(bool)
            has_actual = np.isfinite(grp["actual"].to_numpy(np.float64)).any()
            forecast = conv & np.isfinite(errs)
            near = forecast & (h <= (h[forecast].min() if forecast.any() else 0.0) + plateau_oom)
            plateau = float(np.median(errs[near])) if near.any() else float("nan")
            if horizon == "plateau":
                limit = plateau + threshold if np.isfinite(plateau) else -np.inf
            else:
                limit = threshold
            ok_err = forecast & (errs <= limit) if horizon == "plateau" else forecast & (errs < limit)
            stable = self._stable_horizon(str(law), int(k), grp, h, stability, stable_on)
            base = {b: rows[(rows["target"] == target) & (rows["law"] == b) & (rows["k"] == k)]
                    .set_index("c_max")["relative_error"] for b in BASELINES}
            entry: dict[str, Any] = {
                "target": target, "law": law, "k": int(k), "task": task,
                "n_caps": len(grp),
                "max_horizon_oom": float(np.nanmax(h)) if len(h) else float("nan"),
                "error_horizon_oom": _reliable_horizon(h, ok_err) if has_actual else float("nan"),
                "stable_horizon_oom": stable,
                "plateau_error": plateau,
                "median_relative_error": float(np.median(errs[forecast])) if forecast.any() else float("nan"),
                "closest_relative_error": float(errs[0]) if len(errs) and forecast[0] else float("nan"),
            }
            for b in BASELINES:
                mine = pd.Series(np.where(near, errs, np.nan), index=grp["c_max"].to_numpy())
                theirs = base[b].reindex(mine.index)
                both = mine.notna().to_numpy() & theirs.notna().to_numpy()
                if both.any() and law not in BASELINES:
                    m_law = float(np.median(mine.to_numpy()[both]))
                    m_base = float(np.median(theirs.to_numpy()[both]))
                    entry[f"{b}_plateau_error"] = m_base
                    entry[f"beats_{b}"] = bool(m_law < m_base)
                else:
                    entry[f"{b}_plateau_error"] = float("nan")
                    entry[f"beats_{b}"] = pd.NA
            entry.update(threshold=threshold, stability=stability, horizon_rule=horizon,
                         stable_on=stable_on)
            out.append(entry)
        return pd.DataFrame(out)

    def _stable_horizon(self, law: str, k: int, grp: pd.DataFrame, h: npt.NDArray[np.float64],
                        stability: float, stable_on: StabilityRule) -> float:
        if law in BASELINES:
            return float("nan")
        full = self.full_fit(law, k)
        if full is None or not full.converged:
            return float("nan")
        spec = get_law(law)
        if stable_on == "all":
            names: list[str] = list(spec.param_names)
            ref_d = dict(full.params)
        else:
            pivot = self.pivots.get((law, k))
            if pivot is None:
                return float("nan")
            names = [*spec.exponents, *(f"{p}_pivot" for p in spec.prefactors)]
            ref_d = {**full.params, **spec.pivot_prefactors(full.theta, pivot)}
        if not set(names) <= set(grp.columns):
            return float("nan")
        ref = np.array([ref_d[n] for n in names])
        vals = grp[names].to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.abs(vals - ref) / np.abs(ref)
        # A parameter whose full-fit value is effectively zero is judged absolutely.
        actual = grp["actual"].to_numpy(np.float64)
        scale = float(np.max(actual[np.isfinite(actual)])) if np.isfinite(actual).any() else 1.0
        tiny = np.abs(ref) < 1e-9 * max(1.0, scale)
        dev[:, tiny] = np.where(np.abs(vals[:, tiny]) < 1e-6, 0.0, np.inf)
        ok_par = (grp["converged"].to_numpy(bool) & grp["identified"].to_numpy(bool)
                  & np.all(dev < stability, axis=1))
        return _reliable_horizon(h, ok_par)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_compute": self.target_compute,
            "targets": [list(t) for t in self.targets],
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


def default_targets(points: pd.DataFrame, n_sizes: int = 3) -> list[str]:
    """The most expensive checkpoint of each of the ``n_sizes`` largest model sizes
    (parameter counts) among the points that are not user-excluded, largest first."""
    pts = points[~points["user_excluded"].to_numpy(bool)].drop_duplicates("checkpoint")
    sizes = sorted(pts["parameters"].unique(), reverse=True)[:n_sizes]
    out = []
    for size in sizes:
        sub = pts[pts["parameters"] == size]
        top = sub[sub["compute"] == sub["compute"].max()]
        out.append(str(top["checkpoint"].iloc[0]))
    return out


def backtest(
    points: pd.DataFrame,
    *,
    laws: Sequence[str] = ("compute", "params_tokens", "gold"),
    target: str | None = None,
    targets: Sequence[str] | None = None,
    caps: Sequence[float] | None = None,
    options: FitOptions | None = None,
    fits: Sequence[FitResult] | None = None,
    baselines: bool = True,
    counts: pd.DataFrame | None = None,
    gold: pd.DataFrame | None = None,
    progress: bool = False,
) -> BacktestResult:
    """Backtest every law at every k of ``points``: fit on checkpoints with C <= C_max,
    predict the targets.

    Parameters
    ----------
    points:
        The points table (:func:`lm_eval_scaling.analysis.points.passk_points`), one task;
        its user-excluded checkpoints are never used.
    laws:
        Backtestable laws (:attr:`LawSpec.backtestable`); a law using the gold covariate
        needs the targets' own gold log-probabilities.
    target, targets:
        Checkpoints to forecast, ``MODEL`` or ``MODEL@REVISION`` (``target`` is one, kept
        for convenience); default: :func:`default_targets` (the largest checkpoint of
        each of the 3 biggest sizes).
    caps:
        Compute caps; default: every distinct checkpoint compute below each target's.
    options:
        How every fit is made; ``options.n_jobs`` worker processes over (target, law, k)
        sequences (``None`` = up to 2); ``options.warm_start``: start each cap's fit from
        the next richer cap's fit (beside the best grid start), else from the grid alone.
        A warm-started fit that does not converge is redone from the full grid.
        ``options.bootstrap = B > 0``: percentile intervals at level ``options.ci`` on
        every relative error from ``B`` refits on problems resampled with replacement
        (fit data and target together), warm-started from the cap's fit; this needs the
        ``counts`` (and, for a gold law, the ``gold``) tables the points came from, as
        does ``options.estimator = "pooled"`` (a pooled refit per cap, or per target with
        ``options.pooled_refit = "target"``).
    fits:
        The full fits (every checkpoint) of these points with these options
        (:func:`lm_eval_scaling.analysis.fits.fit_table`), where computed already; they
        are fitted here otherwise.  They are the stability reference; their data's median
        covariates are the pivot of the pivot prefactors.
    baselines:
        Also backtest the naive forecasters ``persistence`` and ``trend`` (default).
    """
    options = options or FitOptions()
    options = options or FitOptions()
    laws = list(dict.fromkeys(laws))
    specs = [get_law(law) for law in laws]
    not_bt = [s.name for s in specs if not s.backtestable]
    if not_bt:
        allowed = [n for n in law_names() if get_law(n).backtestable]
        raise InputError(f"law must be one of {tuple(allowed)} for a backtest, got {not_bt[0]!r}")
    needs_gold = any(s.needs_gold for s in specs)
    if needs_gold and not np.isfinite(points[COVARIATE_COLUMNS["gold"]].to_numpy(np.float64)).any():
        raise InputError("the gold law needs gold log-probabilities (--gold FILE)")
    n_boot = options.bootstrap
    if n_boot and counts is None:
        raise InputError("bootstrap intervals on the forecast errors (FitOptions field "
                         "'bootstrap') need the counts table the points were computed from")
    if options.estimator == "pooled" and counts is None:
        raise InputError("a backtest with estimator 'pooled' refits the pooled model to the "
                         "checkpoints below each cap (or target): it needs the counts table the "
                         "points were computed from")
    if n_boot and needs_gold and gold is None:
        raise InputError("bootstrap intervals for the gold law need the gold table")
    tasks = sorted(points["task"].unique())
    if len(tasks) > 1:
        raise InputError(f"backtest one task at a time; the counts hold tasks {tasks}")
    if target is not None and targets is not None:
        raise InputError("give target or targets, not both")
    wanted = [target] if target is not None else (list(targets) if targets is not None
                                                  else default_targets(points))
    if not wanted:
        raise InputError("no target to backtest")
    resolved = list(dict.fromkeys(_resolve_target(points, t) for t in wanted))
    k_values = sorted(int(v) for v in np.unique(points["k"]))
    boot_p: npt.NDArray[np.float64] | None = None
    boot_gold: npt.NDArray[np.float64] | None = None
    if n_boot:
        from .fits import resampled_passk

        assert counts is not None
        boot_p, boot_gold = resampled_passk(counts, np.asarray(k_values, np.int64),
                                            points, n_boot, options.seed,
                                            gold=gold if needs_gold else None,
                                            gold_problems=options.gold_problems,
                                            gold_covariate=options.gold_covariate,
                                            estimator=options.estimator,
                                            hierarchical=options.hierarchical,
                                            n_jobs=options.n_jobs)

    forecasters = [*laws, *(BASELINES if baselines else ())]
    plans = []
    for target_name, target_compute in resolved:
        tgt_rows = points[points["checkpoint"] == target_name]
        if needs_gold and not np.isfinite(tgt_rows[COVARIATE_COLUMNS["gold"]]).all():
            raise InputError(f"the gold law needs the target's own gold log-probabilities; "
                             f"the gold table has none for {target_name!r}")
        pool = points[(points["checkpoint"] != target_name) & ~points["user_excluded"]]
        pool = pool[pool["compute"] < target_compute]
        if caps is None:
            cap_values = np.unique(pool["compute"].to_numpy(np.float64))
        else:
            cap_values = np.unique(np.asarray(caps, dtype=np.float64))
            if (cap_values >= target_compute).any() or (cap_values <= 0).any():
                raise InputError(f"caps must lie in (0, {target_compute:.4g}) (the compute of "
                                 f"target {target_name}), got {cap_values.tolist()}")
        plans.append((target_name, target_compute, tgt_rows, pool, cap_values))
    refit = options.pooled_refit if options.estimator == "pooled" else None
    per_cap: dict[float, _Refit] = {}
    if refit == "cap":
        assert counts is not None
        all_caps = np.unique(np.concatenate([cap_values for *_, cap_values in plans]))
        per_cap = _pooled_per_cap(points, counts, all_caps, k_values, options,
                                  gold if needs_gold else None, progress)
    jobs = []
    for target_name, target_compute, tgt_rows, pool, cap_values in _progress(
            plans, len(plans), progress and refit == "target", "backtest: pooled refits",
            "target"):
        pool_boot, pool_gold = boot_p, boot_gold
        if refit == "target":
            assert counts is not None
            log.info("backtest: pooled model refitted to the checkpoints cheaper than %s",
                     target_name)
            r = _pooled_refit(pool, points, counts, points["compute"] < target_compute,
                              k_values, options, gold if needs_gold else None)
            pool, pool_boot, pool_gold = r.pool, r.boot_p, r.boot_gold
        arrays = {}  # per k, shared by every forecaster
        for k in k_values:
            sub = pool[pool["k"] == k]
            if refit == "cap":
                pools = {}
                for c_max in cap_values:
                    r = per_cap[float(c_max)]
                    rows = r.pool[(r.pool["k"] == k) & r.pool["checkpoint"].isin(sub["checkpoint"])]
                    pools[float(c_max)] = _arrays(rows, r.boot_p, r.boot_gold)
            else:  # one set of points for every cap (one object, pickled once)
                shared = _arrays(sub, pool_boot, pool_gold)
                pools = {float(c_max): shared for c_max in cap_values}
            arrays[k] = (pools, _arrays(tgt_rows[tgt_rows["k"] == k], boot_p, boot_gold))
        for law in forecasters:
            for k in k_values:
                pools, target_k = arrays[k]
                jobs.append(_Job(law=law, k=k, task=str(tasks[0]), target_name=target_name,
                                 caps=cap_values, target_compute=target_compute, pools=pools,
                                 target=target_k, options=options))
    # the full fits (every checkpoint, targets included): the stability reference
    if fits is None:
        from .fits import fit_table

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            fits = fit_table(points, laws=laws, options=options.with_(bootstrap=0), warn=False)
    full = {(f.law, f.k): f for f in fits if f.law in laws}
    pivots = {key: {c: float(np.median(v)) for c, v in f.covariates.items()}
              for key, f in full.items()}
    jobs = [_with_pivot(j, pivots.get((j.law, j.k))) for j in jobs]
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
    table = pd.DataFrame(rows)
    param_cols = list(dict.fromkeys(n for spec in specs for n in spec.param_names))
    pivot_cols = list(dict.fromkeys(f"{p}_pivot" for spec in specs for p in spec.prefactors))
    table = table.reindex(columns=[*BACKTEST_COLUMNS, *param_cols, *pivot_cols])
    if len(table):
        is_law = table["law"].isin(laws).to_numpy()
        n_params = table["law"].map(lambda name: get_law(name).n_params if name in laws else 0)
        few = is_law & (table["n_points"].to_numpy() < n_params.to_numpy())
        failed = is_law & ~table["converged"].astype(bool).to_numpy() & ~few
        if few.any():
            log.info("%d of %d backtest caps have fewer usable points than parameters "
                     "(rows kept, converged=False)", int(few.sum()), len(table))
        if failed.any():
            log.warning("%d of %d backtest fits did not converge (rows kept, converged=False)",
                        int(failed.sum()), len(table))
    full_fits = tuple(full[(law, k)] for law in laws for k in k_values if (law, k) in full)
    return BacktestResult(rows=table, target=resolved[0][0], target_compute=resolved[0][1],
                          full_fits=full_fits, targets=tuple(resolved), pivots=pivots)


# --------------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Job:
    law: str
    k: int
    task: str
    target_name: str
    caps: npt.NDArray[np.float64]
    target_compute: float
    #: Per cap, the points a forecast from it fits on (all rows; mask by compute): one set
    #: shared by every cap, or a pooled refit's per cap.
    pools: dict[float, dict[str, npt.NDArray[Any]]]
    target: dict[str, npt.NDArray[Any]]
    options: FitOptions
    pivot: dict[str, float] | None = None

    def pool_at(self, c_max: float) -> dict[str, npt.NDArray[Any]]:
        """The points a forecast from cap ``c_max`` fits on (all rows; mask by compute)."""
        return self.pools[float(c_max)]


def _with_pivot(job: _Job, pivot: dict[str, float] | None) -> _Job:
    return job if pivot is None else _Job(**{**job.__dict__, "pivot": pivot})


@dataclass(frozen=True)
class _Refit:
    """Points rows with their pass@k from a pooled refit (index: the rows of ``boot_p``)."""
    pool: pd.DataFrame
    boot_p: npt.NDArray[np.float64] | None
    boot_gold: npt.NDArray[np.float64] | None


def _pooled_refit(
    pool: pd.DataFrame, points: pd.DataFrame, counts: pd.DataFrame, fitted: pd.Series,
    k_values: Sequence[int], options: FitOptions, gold: pd.DataFrame | None,
) -> _Refit:
    """``pool`` with its pass@k from a pooled model fitted to the checkpoints of the points
    rows ``fitted`` alone (user-excluded ones included, as in the points table); with
    ``options.bootstrap``, the resamples of those rows (the same problem resamples as the
    points': same seed, same problem ids)."""
    from ..passk.benchmark import passk_table
    from .fits import resampled_passk

    task = points["task"].iloc[0]  # one task per backtest
    chosen = points.loc[fitted, ["model", "revision"]].drop_duplicates()
    sub = counts[counts["task"] == task].merge(chosen, on=["model", "revision"], how="inner")
    ks = np.asarray(k_values, np.int64)
    table = passk_table(sub, ks, ci=None, estimator="pooled")
    keys = ["checkpoint", "task", "k"]
    # the columns the points table took from its pass@k table
    cols = [c for c in table.columns if c in pool.columns and c not in (*keys, "model", "revision")]
    out = (pool.drop(columns=cols).merge(table[[*keys, *cols]], on=keys, how="left")
           [list(pool.columns)].reset_index(drop=True))
    if not options.bootstrap:
        return _Refit(out, None, None)
    boot_p, boot_gold = resampled_passk(sub, ks, out, options.bootstrap, options.seed,
                                        gold=gold, gold_problems=options.gold_problems,
                                        gold_covariate=options.gold_covariate,
                                        estimator="pooled", hierarchical=options.hierarchical,
                                        n_jobs=options.n_jobs,
                                        problems=counts.loc[counts["task"] == task, "problem_id"])
    return _Refit(out, boot_p, boot_gold if gold is not None else None)


def _refit_at_cap(job: tuple[float, pd.DataFrame, pd.DataFrame, Sequence[int], FitOptions,
                             pd.DataFrame | None]) -> _Refit:
    """The usable points rows up to one cap, with a pooled model fitted to the checkpoints
    up to it."""
    c_max, points, counts, k_values, options, gold = job
    upto = points["compute"] <= c_max
    pool = points[upto & ~points["user_excluded"]]
    return _pooled_refit(pool, points, counts, upto, k_values, options, gold)


def _pooled_per_cap(points: pd.DataFrame, counts: pd.DataFrame, caps: npt.NDArray[np.float64],
                    k_values: Sequence[int], options: FitOptions, gold: pd.DataFrame | None,
                    progress: bool) -> dict[float, _Refit]:
    """One pooled refit per cap (``FitOptions.pooled_refit = "cap"``), shared by every target
    above it: the points a forecast from that cap fits on, with their pass@k (and
    resamples) from the checkpoints up to the cap alone.  Without a bootstrap the caps run
    in worker processes; with one, each cap's resamples do."""
    log.info("backtest: pooled model refitted at each of %d caps", len(caps))
    if options.bootstrap:
        log.warning("backtest: %d caps x %d resamples = %d pooled refits for the intervals "
                    "(FitOptions.pooled_refit = 'target' needs one set per target)",
                    len(caps), options.bootstrap, len(caps) * options.bootstrap)
    jobs = [(float(c), points, counts, k_values, options, gold) for c in caps]
    workers = 1 if options.bootstrap else _workers(options.n_jobs, len(jobs))
    desc, unit = "backtest: pooled refits", "cap"
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            refits = list(_progress(ex.map(_refit_at_cap, jobs), len(jobs), progress, desc, unit))
    else:
        refits = list(_progress(map(_refit_at_cap, jobs), len(jobs), progress, desc, unit))
    return {job[0]: r for job, r in zip(jobs, refits)}


def _arrays(df: pd.DataFrame, boot_p: npt.NDArray[np.float64] | None = None,
            boot_gold: npt.NDArray[np.float64] | None = None) -> dict[str, npt.NDArray[Any]]:
    cols = ["checkpoint", "pass_at_k", "neg_log_pass_at_k", *COVARIATE_COLUMNS.values()]
    out = {c: df[c].to_numpy() for c in dict.fromkeys(cols) if c in df.columns}
    if boot_p is not None:
        idx = df.index.to_numpy()
        out["boot_p"] = boot_p[:, idx]  # (B, n) resampled pass@k
        if boot_gold is not None:
            out["boot_gold"] = boot_gold[:, idx]
    return out


def _response(a: dict[str, npt.NDArray[Any]], law: str, chance: float,
              ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The law's response (:func:`law_response`) of the rows of ``a`` and where it is defined;
    the baselines forecast ``-log pass@k``."""
    return law_response(a["pass_at_k"].astype(np.float64),
                        "compute" if law in BASELINES else law, chance)


def _usable(a: dict[str, npt.NDArray[Any]], law: str, chance: float = 0.0) -> npt.NDArray[np.bool_]:
    _, ok = _response(a, law, chance)
    for c in ([] if law in BASELINES else get_law(law).covariates):
        v = a[COVARIATE_COLUMNS[c]].astype(np.float64)
        ok &= np.isfinite(v) & (v > 0)
    return ok


def _covariates(spec: Any, a: dict[str, npt.NDArray[Any]], mask: npt.NDArray[np.bool_],
                replicate: int | None = None) -> dict[str, Any]:
    out = {}
    for c in spec.covariates:
        if c == "gold" and replicate is not None:
            out[c] = a["boot_gold"][replicate][mask].astype(np.float64)
        else:
            out[c] = a[COVARIATE_COLUMNS[c]][mask].astype(np.float64)
    return out


def _fit(job: _Job, a: dict[str, npt.NDArray[Any]], mask: npt.NDArray[np.bool_],
         x0: FitResult | None, grid: str | None = None) -> FitResult:
    spec = get_law(job.law)
    kwargs = job.options.law_kwargs(spec)
    if grid is not None:
        kwargs["grid"] = grid
    y, _ = _response(a, job.law, job.options.chance_level)
    return fit_law(job.law, y[mask],
                   **_covariates(spec, a, mask), k=job.k, x0=x0,
                   labels=[str(x) for x in a["checkpoint"][mask]], task=job.task or None,
                   warn=False, **kwargs)


def _row(job: _Job, c_max: float, n_points: int, actual: float, actual_p: float) -> dict[str, Any]:
    return {
        "target": job.target_name, "law": job.law, "k": job.k, "task": job.task,
        "c_max": float(c_max), "compute_ratio": float(c_max / job.target_compute),
        "horizon_oom": float(math.log10(job.target_compute / c_max)),
        "n_points": n_points, "actual": actual, "actual_pass_at_k": actual_p,
        "predicted": np.nan, "relative_error": np.nan, "error_ci_low": np.nan,
        "error_ci_high": np.nan, "predicted_pass_at_k": np.nan, "converged": False,
        "identified": False, "at_bound": "", "objective": np.nan,
    }


def _relative_error(pred: float | npt.NDArray[np.float64],
                    actual: float | npt.NDArray[np.float64]) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(actual) & (np.asarray(actual) > 0),
                        np.abs(np.asarray(pred) - actual) / actual, np.nan)


def _error_interval(row: dict[str, Any], errors: npt.NDArray[np.float64], ci: float) -> None:
    good = errors[np.isfinite(errors)]
    if good.size >= 2:
        lo, hi = np.quantile(good, [(1 - ci) / 2, (1 + ci) / 2])
        row["error_ci_low"], row["error_ci_high"] = float(lo), float(hi)


def _run_job(job: _Job) -> list[dict[str, Any]]:
    if job.law in BASELINES:
        return _run_baseline(job)
    spec = get_law(job.law)
    tgt = job.target
    chance = job.options.chance_level
    actual = float(_response(tgt, job.law, chance)[0][0]) if len(tgt["pass_at_k"]) else np.nan
    actual_p = float(tgt["pass_at_k"][0]) if len(tgt["pass_at_k"]) else np.nan
    tgt_cov = {c: float(tgt[COVARIATE_COLUMNS[c]][0]) for c in spec.covariates}
    rows: list[dict[str, Any]] = []
    previous: FitResult | None = None
    last: tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.bool_]] | None = None
    last_fit: FitResult | None = None
    last_boot: npt.NDArray[np.float64] | None = None
    # From the closest cap outwards: the warm start comes from the richer fit.
    for c_max in job.caps[::-1]:
        a = job.pool_at(c_max)
        mask = _usable(a, job.law, chance) & (a["compute"].astype(np.float64) <= c_max)
        n_points = int(mask.sum())
        row = _row(job, c_max, n_points, actual, actual_p)
        if n_points >= spec.n_params:
            same = last is not None and a is last[0] and np.array_equal(mask, last[1])
            if same:
                fit = last_fit  # same points as the previous cap: same fit
            else:
                fit = _fit_robust(job, a, mask, previous if job.options.warm_start else None)
            if fit is not None:
                pred = float(fit.predict(**tgt_cov)[0])
                row.update(fit.params)
                if job.pivot is not None:
                    row.update(spec.pivot_prefactors(fit.theta, job.pivot))
                row.update(predicted=pred,
                           predicted_pass_at_k=_pass_at_k(pred, spec.chance_normalised, chance),
                           converged=bool(fit.converged), identified=bool(fit.identified),
                           at_bound=",".join(fit.at_bound), objective=fit.objective,
                           relative_error=float(_relative_error(pred, actual)))
                if "boot_p" in a and fit.converged:
                    errors = last_boot if same and last_boot is not None else \
                        _bootstrap_errors(job, a, spec, fit, mask)
                    last_boot = errors
                    _error_interval(row, errors, job.options.ci)
                if fit.converged:
                    previous = fit
            last, last_fit = (a, mask), fit
        rows.append(row)
    return rows[::-1]


def _bootstrap_errors(job: _Job, a: dict[str, npt.NDArray[Any]], spec: Any, fit: FitResult,
                      mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Relative errors of refits on resampled problems (fit data ``a`` and target together)."""
    chance = job.options.chance_level
    boot_y, _ = law_response(a["boot_p"], job.law, chance)
    tgt_y = law_response(job.target["boot_p"][:, 0], job.law, chance)[0]
    out = np.full(boot_y.shape[0], np.nan)
    for b in range(boot_y.shape[0]):
        y = boot_y[b]
        ok = mask & np.isfinite(y)
        if "gold" in spec.covariates:
            ok &= np.isfinite(a["boot_gold"][b])
        if int(ok.sum()) < spec.n_params or not np.isfinite(tgt_y[b]):
            continue
        try:
            refit = fit_law(job.law, y[ok], **_covariates(spec, a, ok, b), k=job.k,
                            x0=fit, warn=False, identify=False, **job.options.law_kwargs(spec))
        except FitError:
            continue
        if not refit.converged:
            continue
        tgt_cov = {c: float(job.target["boot_gold"][b, 0] if c == "gold"
                             else job.target[COVARIATE_COLUMNS[c]][0]) for c in spec.covariates}
        out[b] = float(_relative_error(float(refit.predict(**tgt_cov)[0]), tgt_y[b]))
    return out


def _pass_at_k(y: float, normalised: bool, chance: float) -> float:
    """pass@k of a forecast response (undoing the chance normalisation)."""
    q = math.exp(-y)
    return chance + (1.0 - chance) * q if normalised else q


def _baseline_forecast(law: str, compute: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                       c_max: float, c_target: float) -> float:
    """``persistence``: mean y of the most expensive checkpoint(s) with C <= c_max;
    ``trend``: least squares of log y on log C over [c_max / 10, c_max], at c_target
    (NaN with fewer than 2 distinct computes there)."""
    ok = (compute <= c_max) & np.isfinite(y) & (y > 0)
    if not ok.any():
        return float("nan")
    c, yy = compute[ok], y[ok]
    if law == "persistence":
        return float(np.mean(yy[c == c.max()]))
    near = c >= c_max / 10.0**TREND_DECADES
    if np.unique(c[near]).size < 2:
        return float("nan")
    slope, intercept = np.polyfit(np.log(c[near]), np.log(yy[near]), 1)
    return float(np.exp(intercept + slope * math.log(c_target)))


def _run_baseline(job: _Job) -> list[dict[str, Any]]:
    tgt = job.target
    actual = float(tgt["neg_log_pass_at_k"][0]) if len(tgt["neg_log_pass_at_k"]) else np.nan
    actual_p = float(tgt["pass_at_k"][0]) if len(tgt["pass_at_k"]) else np.nan
    rows = []
    for c_max in job.caps:
        a = job.pool_at(c_max)
        y, usable = _response(a, job.law, 0.0)
        compute = a["compute"].astype(np.float64)
        n_points = int((usable & (compute <= c_max)).sum())
        row = _row(job, c_max, n_points, actual, actual_p)
        pred = _baseline_forecast(job.law, compute, y, c_max, job.target_compute)
        if np.isfinite(pred):
            row.update(predicted=pred, predicted_pass_at_k=math.exp(-pred), converged=True,
                       identified=True, relative_error=float(_relative_error(pred, actual)))
            if "boot_p" in a:
                boot = law_response(a["boot_p"], "compute")[0]
                preds = np.array([_baseline_forecast(job.law, compute, boot[b], c_max,
                                                     job.target_compute)
                                  for b in range(boot.shape[0])])
                tgt_boot = law_response(job.target["boot_p"][:, 0], "compute")[0]
                _error_interval(row, _relative_error(preds, tgt_boot),
                                job.options.ci)
        rows.append(row)
    return rows


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


def _resolve_target(points: pd.DataFrame, target: str) -> tuple[str, float]:
    per = points.drop_duplicates("checkpoint").set_index("checkpoint")["compute"]
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


def _progress(it: Any, total: int, enabled: bool, desc: str = "backtest",
              unit: str = "target x law x k") -> Any:
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit=unit, leave=False)

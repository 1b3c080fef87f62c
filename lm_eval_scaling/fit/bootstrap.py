"""Bootstrap confidence intervals for fitted laws.

Two flavours:

* :func:`bootstrap_fit` - where only ``y`` is known: **residual** bootstrap (log
  residuals resampled with replacement and added to the fitted curve) or **parametric**
  (Gaussian log residuals with the fit's residual variance).
* :func:`refit_many` / :func:`with_ci` - the refits of any set of resampled response
  vectors (the problem bootstrap of :mod:`lm_eval_scaling.analysis.fits` builds them).

Every refit is warm-started from the point fit.  Replicates are seeded from ``seed``
(``numpy.random.SeedSequence``) so that results do not depend on the number of worker
processes; replicates whose refit fails or does not converge are dropped and counted
(``n_boot`` is the number kept).  CIs are percentile intervals.
"""

from __future__ import annotations

import logging
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import FitError, InputError

if TYPE_CHECKING:
    from .result import FitResult

__all__ = ["BootstrapKind", "RefitJob", "bootstrap_fit", "check_bootstrap", "refit_many", "with_ci"]

log = logging.getLogger(__name__)

BootstrapKind = Literal["residual", "parametric"]
FloatArray = npt.NDArray[np.float64]
# Below this many refits in total a second process costs more than it saves.
_PARALLEL_MIN_REFITS = 400


@dataclass(frozen=True)
class RefitJob:
    """Refits of one law on B resampled response vectors (picklable)."""

    law: str
    k: int | None
    params: dict[str, float]
    ys: tuple[FloatArray, ...]  # one y vector per replicate (NaN = point unusable)
    covariates: dict[str, FloatArray]  # (n,) fixed, or (B, n): one vector per replicate
    options: dict[str, Any]


def bootstrap_fit(
    fit: FitResult,
    *,
    n_boot: int = 200,
    kind: BootstrapKind = "residual",
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int | None = None,
) -> FitResult:
    """``fit`` with percentile CIs from ``n_boot`` residual or parametric bootstrap refits."""
    check_bootstrap(n_boot, ci)
    if kind not in ("residual", "parametric"):
        raise InputError(f"kind must be 'residual' or 'parametric', got {kind!r}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    log_fitted = np.log(fit.fitted())
    r = np.asarray(fit.residuals)  # log y_hat - log y
    n, p = fit.n_points, fit.spec.n_params
    if kind == "residual":
        # resample centred residuals of the data around the curve: log y* = log y_hat - r*
        draws = rng.choice(r - r.mean(), size=(n_boot, n), replace=True)
    else:
        if n <= p:
            raise FitError(f"parametric bootstrap of law {fit.law!r} needs more points ({n}) "
                           f"than parameters ({p})")
        sigma = float(np.sqrt(np.sum(r * r) / (n - p)))
        draws = rng.normal(0.0, sigma, size=(n_boot, n))
    ys = tuple(np.exp(log_fitted - d) for d in draws)
    job = RefitJob(law=fit.law, k=fit.k, params=dict(fit.params), ys=ys,
               covariates={c: np.asarray(v) for c, v in fit.covariates.items()},
               options={"loss": fit.loss, "delta": fit.delta})
    (samples,) = refit_many([job], n_jobs)
    return with_ci(fit, samples, ci)


# --------------------------------------------------------------------------- internals


def check_bootstrap(n_boot: int, ci: float) -> None:
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 1):
        raise InputError(f"the number of bootstrap replicates must be an integer >= 1, got {n_boot!r}")
    if not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1), got {ci!r}")


def _refit_all(job: RefitJob) -> FloatArray:
    """Parameters (B, P) of every replicate of ``job``; NaN rows for failed refits."""
    from .core import FitWarning, fit_law
    from .laws import get_law

    spec = get_law(job.law)
    out = np.full((len(job.ys), spec.n_params), np.nan)
    x0 = dict(job.params) if all(np.isfinite(v) for v in job.params.values()) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        for b, y in enumerate(job.ys):
            ok = np.isfinite(y)
            if ok.sum() < spec.n_params:
                continue
            cov: dict[str, Any] = {c: (v[b] if v.ndim == 2 else v)[ok]
                                   for c, v in job.covariates.items()}
            ok_cov = all(np.all(np.isfinite(v) & (v > 0)) for v in cov.values())
            if not ok_cov:
                continue
            if "k" not in spec.covariates:
                cov["k"] = job.k
            try:
                f = fit_law(job.law, y[ok], **cov, x0=x0, warn=False, identify=False,
                            **job.options)
            except FitError:
                continue
            if f.converged:
                out[b] = [f.params[p] for p in spec.param_names]
    return out


def refit_many(jobs: list[RefitJob], n_jobs: int | None) -> list[FloatArray]:
    total = sum(len(j.ys) for j in jobs)
    if n_jobs is not None and n_jobs < 1:
        raise InputError(f"n_jobs must be >= 1, got {n_jobs}")
    workers = n_jobs if n_jobs is not None else (2 if total >= _PARALLEL_MIN_REFITS else 1)
    if workers > 1 and total > 1:
        # split every job in halves so that 2 workers stay busy even for a single fit
        parts = [RefitJob(j.law, j.k, j.params, j.ys[s::workers],
                          {c: (v[s::workers] if v.ndim == 2 else v) for c, v in j.covariates.items()},
                          j.options)
                 for j in jobs for s in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as ex:
            res = list(ex.map(_refit_all, parts))
        out = []
        for i, j in enumerate(jobs):
            merged = np.full((len(j.ys), res[i * workers].shape[1]), np.nan)
            for s in range(workers):
                merged[s::workers] = res[i * workers + s]
            out.append(merged)
        return out
    return [_refit_all(j) for j in jobs]


def with_ci(fit: FitResult, samples: FloatArray, ci: float) -> FitResult:
    good = samples[np.all(np.isfinite(samples), axis=1)]
    names = fit.spec.param_names
    dropped = samples.shape[0] - good.shape[0]
    if dropped:
        log.info("bootstrap of law %r (k=%s): %d of %d replicates failed or did not converge "
                 "and were dropped", fit.law, fit.k, dropped, samples.shape[0])
    if good.shape[0] == 0:
        intervals = {p: (float("nan"), float("nan")) for p in names}
    else:
        lo, hi = np.quantile(good, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
        intervals = {p: (float(a), float(b)) for p, a, b in zip(names, lo, hi)}
        # a parameter at a bound gets a one-sided interval from the bound
        for j, p in enumerate(names):
            if p in fit.at_bound:
                bound = fit.bounds.get(p, (0.0, np.inf))[0]
                intervals[p] = (float(bound) if np.isfinite(bound) else 0.0,
                                float(np.quantile(good[:, j], ci)))
    arr = good.copy()
    arr.setflags(write=False)
    return fit.with_(ci=intervals, ci_level=float(ci), n_boot=int(good.shape[0]),
                     bootstrap_params=arr)

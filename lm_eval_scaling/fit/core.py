"""``fit_law``: robust, fast, honest fits of one scaling law (docs/formulas.md §5).

Recipe: residuals in log space, Huber loss (delta 1e-3) *summed*, prefactors and the
irreducible term in log space with ``y_hat`` by logsumexp (:mod:`.laws`); a grid of
starting points evaluated at once in numpy (:mod:`._starts`, :mod:`._objective`); the
best dozen (and any warm start) improved together by a vectorised damped Gauss-Newton
(IRLS) pre-polish; the best distinct few polished with L-BFGS-B using the analytic
gradient; the best kept.

Exponents are bounded below by 0 (a law lists the exponents that may take either sign
in :attr:`LawSpec.signed`); the irreducible term is bounded below by ``min(y) e^-40``
(effectively 0).  Every result says which parameters ended at a bound (``at_bound``)
and whether the fit is ``identified``: it is not with fewer than ``p + 2`` points,
collinear covariates, a flat profile (singular Jacobian: standard errors undefined), or
a competing basin (another optimum, or the irreducible term profiled to 0) whose
objective is within ``basin_gap`` (relative) of the best (:mod:`._identify`).  Standard
errors are the robust sandwich of the loss (:mod:`._identify`).

Convergence is judged, not assumed: a polished point counts as converged when the
gradient is below ``1e-4`` of the size it would have without cancellation between
points (or below ``1e-9`` absolutely); otherwise the result says ``converged=False``
with the reason, and a :class:`FitWarning` is issued.  Polishing itself goes on (a
second, tighter L-BFGS-B pass) until ``1e-6``, so that fits of the same data agree to
~1e-8 in objective.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from ..errors import FitError, InputError
from ._identify import at_bound, collinear_covariates, distinct_basin, sandwich
from ._objective import Loss, Objective, batch_gauss_newton
from ._starts import grid_starts
from ._threads import single_blas_thread
from .laws import LawSpec, get_law
from .result import FitResult

__all__ = ["DEFAULT_BASIN_GAP", "FitWarning", "GridSpec", "fit_law"]

log = logging.getLogger(__name__)

GridSpec = Literal["auto", "full", "none"] | int | npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

#: Relative objective gap within which another optimum makes a fit not identified.
DEFAULT_BASIN_GAP: Final = 0.01
_N_POLISH: Final = {"auto": 2, "full": 3, "int": 3, "array": 3}
_N_POLISH_WARM: Final = 2
_N_PRE: Final = {"auto": 12, "full": 32, "int": 32, "array": 32}  # Gauss-Newton pre-polished
_REL_GRAD_TOL: Final = 1e-4
_POLISH_REL_GRAD_TOL: Final = 1e-6  # polishing goes on (tighter pass) until this
_ABS_GRAD_TOL: Final = 1e-9
_AGREE_RTOL: Final = 1e-6
_LOG_E0_FLOOR: Final = 40.0
_PASSES: Final = (
    {"maxiter": 2000, "maxfun": 5000, "ftol": 1e-10, "gtol": 1e-8, "maxcor": 10},
    {"maxiter": 5000, "maxfun": 20000, "ftol": 1e-14, "gtol": 1e-11, "maxcor": 20},
)  # irreducible term >= min(y) * exp(-40) ~ 4e-18 min(y)


class FitWarning(UserWarning):
    """A fit did not converge (the result says so in ``converged`` and ``message``)."""


def fit_law(
    law: str,
    y: npt.ArrayLike,
    *,
    C: npt.ArrayLike | None = None,
    N: npt.ArrayLike | None = None,
    D: npt.ArrayLike | None = None,
    gold: npt.ArrayLike | None = None,
    k: int | npt.ArrayLike | None = None,
    loss: Loss = "huber",
    delta: float = 1e-3,
    grid: GridSpec = "auto",
    x0: FitResult | Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    labels: Sequence[str] | None = None,
    task: str | None = None,
    warn: bool = True,
    n_polish: int | None = None,
    nonnegative_exponents: bool = True,
    min_points: int | None = None,
    basin_gap: float = DEFAULT_BASIN_GAP,
    identify: bool = True,
) -> FitResult:
    """Fit ``law`` to the positive responses ``y`` (``-log pass@k``) and its covariates.

    Parameters
    ----------
    law:
        ``compute``, ``params_tokens``, ``gold``, ``direct_compute``,
        ``direct_params_tokens`` or ``direct_joint`` (:func:`get_law`).
    y:
        Positive responses, one per point.
    C, N, D, gold, k:
        Covariates (positive, one per point); only those the law uses are read.  ``k`` is
        recorded as the result's pass@k ``k`` (an int) for every law but
        ``direct_joint``, where it is a per-point covariate.
    loss, delta:
        ``"huber"`` with threshold ``delta`` (default 1e-3) on log residuals, or
        ``"squared"`` (least squares on logs).
    grid:
        ``"auto"`` (a small data-adapted grid), ``"full"`` (a large one), ``"none"``
        (only ``x0``), an int (that many Latin-hypercube starts), or an array
        ``(S, n_params)`` of starts in the internal parameterisation (log of the
        log-space parameters, see :meth:`LawSpec.internal_index`).
    x0:
        A :class:`FitResult` of the same law or a mapping of parameters: polished first,
        beside the single best grid start (warm start for backtests and bootstraps).
    bounds:
        ``{param: (low, high)}`` in natural units (``None`` = open); log-space
        parameters need ``low >= 0``.  The irreducible term is always kept above
        ``min(y) * 4e-18`` (i.e. effectively >= 0) so that a vanishing ``E0`` stops.
    labels, task:
        Names of the points (checkpoints) and the task, recorded in the result.
    warn:
        Issue a :class:`FitWarning` when the fit does not converge.
    nonnegative_exponents:
        Bound every exponent of the law below by 0 (default), except those the law
        declares signed (:attr:`LawSpec.signed`).
    min_points:
        Points needed for the fit to count as ``identified`` (default ``p + 2``); with
        fewer (but at least ``p``) the fit is made and flagged.
    basin_gap:
        Relative objective gap within which another optimum counts as a competing basin
        (default 0.01).
    identify:
        Check identification and compute standard errors (default); ``False`` skips both
        (bootstrap refits, which only need the parameters).
    n_polish:
        How many distinct candidates to polish with L-BFGS-B (default 2 for ``"auto"``
        and beside a warm start, 3 otherwise).  The candidates are the best grid starts
        (12 for ``"auto"``, 32 otherwise) and the warm start after a vectorised
        Gauss-Newton (IRLS) pre-polish of all of them at once.
    """
    spec = get_law(law)
    if loss not in ("huber", "squared"):
        raise InputError(f"loss must be 'huber' or 'squared', got {loss!r}")
    if not (np.isfinite(delta) and delta > 0):
        raise InputError(f"delta must be a finite number > 0, got {delta!r}")
    yv = _positive_vector(spec, "y", y, None)
    n = yv.size
    given = {"C": C, "N": N, "D": D, "gold": gold, "k": k}
    covariates = {c: _positive_vector(spec, c, given[c], n) for c in spec.covariates}
    k_record = _record_k(spec, k)
    if n < spec.n_params:
        raise FitError(f"law {spec.name!r} has {spec.n_params} parameters but only {n} "
                       f"point(s) were given (field 'y'); need at least {spec.n_params}")
    if labels is not None:
        labels_t = tuple(str(x) for x in labels)
        if len(labels_t) != n:
            raise InputError(f"labels has {len(labels_t)} entries for {n} points")
    else:
        labels_t = tuple(str(i) for i in range(n))

    log_y = np.log(yv)
    M = spec.design({c: np.log(v) for c, v in covariates.items()})
    obj = Objective(M=M, log_y=log_y, loss=loss, delta=float(delta))
    box = _internal_bounds(spec, bounds, log_y, nonnegative_exponents)

    warm = _warm_start(spec, x0)
    starts, kind = _starts(spec, M, log_y, grid, warm)
    starts = _clip(starts, box)
    if n_polish is None:
        n_polish = _N_POLISH_WARM if warm is not None else _N_POLISH[kind]
    if n_polish < 1:
        raise InputError(f"n_polish must be >= 1, got {n_polish}")

    # Every start is evaluated at once; the best n_pre (and the warm start) get a
    # vectorised Gauss-Newton pre-polish; the best n_polish distinct of those are polished
    # with L-BFGS-B and the analytic gradient.
    pool = []
    if warm is not None:
        pool.append(_clip(warm.reshape(1, -1), box))
    if starts.shape[0]:
        vals = obj.value(starts)
        order = np.argsort(vals, kind="stable")
        pool.append(starts[order[: max(_N_PRE[kind], n_polish)]])
    if not pool:
        raise InputError("grid='none' needs a warm start x0")
    with single_blas_thread():
        pre, pre_f = batch_gauss_newton(obj, np.vstack(pool), box)
        chosen = _distinct(pre, pre_f, n_polish)
        polished = [_polish(obj, th, box) for th in chosen]
    fvals = np.array([p[1] for p in polished])
    best = int(np.argmin(fvals))
    theta, fbest, scipy_msg = polished[best]
    scale = max(abs(fbest), np.finfo(float).tiny)
    n_agree = int(np.sum(np.abs(fvals - fbest) <= _AGREE_RTOL * scale + 1e-300))
    converged, why = _check(obj, theta, box)
    overflow = [p for p, v in spec.to_natural(theta).items() if not np.isfinite(v)]
    if overflow:
        converged = False
        why = (f"not converged: parameter(s) {overflow} overflow float64 (log value "
               f"{float(np.max(theta)):.4g}): a degenerate fit")
    message = (f"{why}; best of {len(polished)} polished start(s) "
               f"({n_agree} agree within {_AGREE_RTOL:g} relative); L-BFGS-B: {scipy_msg}")
    need = spec.n_params + 2 if min_points is None else int(min_points)
    if not (np.isfinite(basin_gap) and basin_gap >= 0):
        raise InputError(f"basin_gap must be a finite number >= 0, got {basin_gap!r}")
    r = obj.residuals(theta.reshape(1, -1))[0]
    bound_names = at_bound(spec, theta, box, float(yv.min()))
    reasons = []
    if not converged:
        reasons.append("not converged")
    if n < need:
        reasons.append(f"{n} points < {need} needed (p + 2)" if min_points is None
                       else f"{n} points < {need} needed")
    competing = None
    stderr = {name: float("nan") for name in spec.param_names}
    cov = None
    if identify:
        single = [c for c in spec.covariates if np.unique(covariates[c]).size < 2]
        collinear = (f"collinear covariates: {', '.join(single)} take(s) a single value"
                     if single else collinear_covariates(spec, obj))
        if collinear:
            reasons.append(collinear)
        stderr, cov, why_se = sandwich(spec, obj, theta, r)
        if why_se and not (collinear and why_se.startswith("flat")):
            reasons.append(why_se)
        with single_blas_thread():
            competing = _competing_basin(spec, obj, theta, fbest, polished, box, bound_names,
                                         basin_gap)
    else:
        reasons.append("identification not checked")
    if competing is not None:
        shown = ", ".join(f"{p}={v:.4g}" for p, v in competing["params"].items())
        reasons.append(f"competing basin ({competing['kind']}) within "
                       f"{100 * competing['gap']:.2g}% of the objective: {shown}")
    result = FitResult.build(
        spec=spec, theta=theta, objective=obj, k=k_record, task=task, labels=labels_t,
        y=yv, covariates=covariates, converged=converged, message=message,
        n_starts=int(starts.shape[0]) + (warm is not None),
        stderr=stderr, covariance=cov, at_bound=bound_names, identified=not reasons,
        identification="; ".join(reasons) if reasons else "identified",
        competing=competing, basin_gap=float(basin_gap), min_points=need,
        bounds=_natural_bounds(spec, box),
    )
    if not converged:
        log.debug("fit of law %r (k=%s) did not converge: %s", spec.name, k_record, message)
        if warn:
            warnings.warn(f"fit of law {spec.name!r} (k={k_record}, task={task!r}) did not "
                          f"converge: {message}", FitWarning, stacklevel=2)
    return result


# --------------------------------------------------------------------------- helpers


def _positive_vector(spec: LawSpec, field: str, value: Any, n: int | None) -> FloatArray:
    if value is None:
        raise FitError(f"law {spec.name!r} needs covariate {field!r} ({spec.formula}); "
                       "none was given")
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise FitError(f"law {spec.name!r}: field {field!r} must be numbers, got "
                       f"{type(value).__name__}") from exc
    if n is not None and arr.size == 1 and field == "k" and n > 1:
        raise FitError(f"law {spec.name!r} uses k as a covariate: give one k per point")
    if n is not None and arr.size != n:
        raise FitError(f"law {spec.name!r}: field {field!r} has {arr.size} values for "
                       f"{n} points")
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0)))
    if bad.size:
        i = int(bad[0])
        raise FitError(f"law {spec.name!r}: field {field!r} must be finite and > 0; "
                       f"value {arr[i]!r} at position {i}")
    return arr.copy()


def _record_k(spec: LawSpec, k: Any) -> int | None:
    if "k" in spec.covariates or k is None:
        return None
    arr = np.asarray(k).reshape(-1)
    if arr.size != 1:
        raise InputError(f"law {spec.name!r}: k must be a single integer, got {arr.size} values")
    kv = float(arr[0])
    if not (np.isfinite(kv) and kv >= 1 and kv == int(kv)):
        raise InputError(f"law {spec.name!r}: k must be an integer >= 1, got {arr[0]!r}")
    return int(kv)


def _internal_bounds(spec: LawSpec, bounds: Mapping[str, tuple[float | None, float | None]] | None,
                     log_y: FloatArray, nonnegative_exponents: bool = True) -> FloatArray:
    box = np.tile([-np.inf, np.inf], (spec.n_params, 1)).astype(np.float64)
    if spec.irreducible is not None:
        box[spec.param_names.index(spec.irreducible), 0] = log_y.min() - _LOG_E0_FLOOR
    if nonnegative_exponents:
        for name in spec.exponents:
            if name not in spec.signed:
                box[spec.param_names.index(name), 0] = 0.0
    for name, pair in (bounds or {}).items():
        if name not in spec.param_names:
            raise InputError(f"bounds: law {spec.name!r} has no parameter {name!r}; "
                             f"its parameters are {spec.param_names}")
        j = spec.param_names.index(name)
        lo, hi = pair
        lo_f = -np.inf if lo is None else float(lo)
        hi_f = np.inf if hi is None else float(hi)
        if not lo_f <= hi_f:
            raise InputError(f"bounds[{name!r}]: low {lo!r} > high {hi!r}")
        if name in spec.log_params:
            if lo_f < 0 or hi_f <= 0:
                raise InputError(f"bounds[{name!r}]: {name} is positive; need 0 <= low, "
                                 f"high > 0, got ({lo!r}, {hi!r})")
            lo_f = np.log(lo_f) if lo_f > 0 else -np.inf
            hi_f = np.log(hi_f)
        box[j, 0] = max(box[j, 0], lo_f)
        box[j, 1] = min(box[j, 1], hi_f)
        if not box[j, 0] <= box[j, 1]:
            raise InputError(f"bounds[{name!r}] leave no room above the irreducible floor")
    return box


def _natural_bounds(spec: LawSpec, box: FloatArray) -> dict[str, tuple[float, float]]:
    """The box in natural units (a log-space lower bound at the irreducible floor is 0)."""
    is_log, _ = spec.internal_index()
    out = {}
    for j, name in enumerate(spec.param_names):
        lo, hi = box[j]
        if is_log[j]:
            out[name] = (0.0 if name == spec.irreducible or not np.isfinite(lo) else float(np.exp(lo)),
                         float(np.exp(hi)) if np.isfinite(hi) else float("inf"))
        else:
            out[name] = (float(lo), float(hi))
    return out


def _competing_basin(spec: LawSpec, obj: Objective, theta: FloatArray, fbest: float,
                     polished: list[tuple[FloatArray, float, str]], box: FloatArray,
                     bound_names: tuple[str, ...], gap: float) -> dict[str, Any] | None:
    """Another optimum within ``gap`` (relative) of the best objective: a distinct polished
    start, or the irreducible term profiled to its floor (E0 = 0)."""
    limit = fbest + gap * max(abs(fbest), 1e-12)
    y_min = float(np.exp(obj.log_y.min()))
    best: tuple[FloatArray, float, str] | None = None
    for th, f, _ in polished:
        if (f <= limit and distinct_basin(spec, th, theta, y_min)
                and (best is None or f < best[1])):
            best = (th, f, "another optimum")
    if spec.irreducible is not None and spec.irreducible not in bound_names:
        j = spec.param_names.index(spec.irreducible)
        fixed = box.copy()
        fixed[j, 1] = fixed[j, 0]
        start = theta.copy()
        start[j] = fixed[j, 0]
        th0, f0, _ = _polish(obj, start, fixed)
        if (f0 <= limit and distinct_basin(spec, th0, theta, y_min, ignore=spec.irreducible)
                and (best is None or f0 < best[1])):
            best = (th0, f0, f"{spec.irreducible} = 0")
    if best is None:
        return None
    params = spec.to_natural(best[0])
    if best[2].endswith("= 0"):
        params[spec.irreducible] = 0.0  # type: ignore[index]
    return {"kind": best[2], "params": params, "objective": float(best[1]),
            "gap": float((best[1] - fbest) / max(abs(fbest), 1e-300))}


def _warm_start(spec: LawSpec, x0: FitResult | Mapping[str, float] | None) -> FloatArray | None:
    if x0 is None:
        return None
    if isinstance(x0, FitResult):
        if x0.law != spec.name:
            raise InputError(f"x0 is a fit of law {x0.law!r}, not {spec.name!r}")
        th0 = np.asarray(x0.theta, dtype=np.float64)
        return th0.copy() if np.all(np.isfinite(th0)) else None
    params: Mapping[str, float]
    if isinstance(x0, Mapping):
        params = x0
    else:
        raise InputError(f"x0 must be a FitResult or a mapping of parameters, got "
                         f"{type(x0).__name__}")
    th = spec.to_internal(params)
    return th if np.all(np.isfinite(th)) else None


def _starts(spec: LawSpec, M: FloatArray, log_y: FloatArray, grid: GridSpec,
            warm: FloatArray | None) -> tuple[FloatArray, str]:
    if isinstance(grid, str):
        if grid == "none":
            if warm is None:
                raise InputError("grid='none' needs a warm start x0")
            return np.empty((0, spec.n_params)), "auto"
        if grid not in ("auto", "full"):
            raise InputError(f"grid must be 'auto', 'full', 'none', an int or an array of "
                             f"starts, got {grid!r}")
        return grid_starts(spec, M, log_y, grid), grid  # type: ignore[arg-type]
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        if grid < 1:
            raise InputError(f"grid: the number of starts must be >= 1, got {grid}")
        return grid_starts(spec, M, log_y, int(grid)), "int"
    arr = np.asarray(grid, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != spec.n_params or not np.all(np.isfinite(arr)):
        raise InputError(f"grid: an array of starts must be finite with shape (S, "
                         f"{spec.n_params}) for law {spec.name!r}, got shape {arr.shape}")
    return arr.copy(), "array"


def _distinct(theta: FloatArray, f: FloatArray, m: int) -> list[FloatArray]:
    """The ``m`` best rows of ``theta`` by ``f``, skipping near-duplicates of chosen rows."""
    out: list[FloatArray] = []
    for i in np.argsort(f, kind="stable"):
        if not np.isfinite(f[i]):
            break
        if any(np.max(np.abs(theta[i] - t)) < 1e-6 for t in out):
            continue
        out.append(theta[i])
        if len(out) == m:
            break
    return out or [theta[int(np.argmin(np.nan_to_num(f, nan=np.inf)))]]


def _clip(theta: FloatArray, box: FloatArray) -> FloatArray:
    return np.clip(theta, box[:, 0], box[:, 1])


def _polish(obj: Objective, theta0: FloatArray, box: FloatArray) -> tuple[FloatArray, float, str]:
    """L-BFGS-B from ``theta0`` with the analytic gradient; returns (theta, f, message)."""
    # The summed Huber loss is ~ delta * sum|r|: scale it to O(sum|r|) so that L-BFGS-B's
    # tolerances (absolute below f = 1) do not stop it early.
    s = 1.0 / obj.delta if obj.loss == "huber" else 1.0

    def fun(th: FloatArray) -> tuple[float, FloatArray]:
        f, g = obj.value_and_grad(th.reshape(1, -1))
        fv = float(f[0]) * s
        if not np.isfinite(fv):
            return 1e300, np.zeros_like(th)
        return fv, g[0] * s

    bnds = [(None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi)
            for lo, hi in box]
    th = np.asarray(theta0, dtype=np.float64)
    msg = ""
    # A quick pass usually ends at a point that passes the stationarity test; if not,
    # continue from there with tight tolerances (the summed, scaled objective is O(1-100)).
    for opts in _PASSES:
        res = minimize(fun, th, jac=True, method="L-BFGS-B", bounds=bnds, options=opts)
        th = np.asarray(res.x, dtype=np.float64)
        msg = res.message if isinstance(res.message, str) else str(res.message)
        if _check(obj, th, box, rel_tol=_POLISH_REL_GRAD_TOL)[0]:
            break
    f = float(obj.value(th.reshape(1, -1))[0])
    return th, f, msg


def _check(obj: Objective, theta: FloatArray, box: FloatArray, *,
           rel_tol: float = _REL_GRAD_TOL) -> tuple[bool, str]:
    """Stationarity test on the projected gradient (see module docstring)."""
    if not np.all(np.isfinite(theta)):
        return False, "not converged: non-finite parameters"
    f, g = obj.value_and_grad(theta.reshape(1, -1))
    if not np.isfinite(f[0]):
        return False, "not converged: non-finite objective"
    g = g[0].copy()
    # projected gradient: at an active bound only the inward component counts
    lo, hi = box[:, 0], box[:, 1]
    with np.errstate(invalid="ignore"):
        at_lo = np.isfinite(lo) & (theta <= lo + 1e-12 * (1 + np.abs(lo)))
        at_hi = np.isfinite(hi) & (theta >= hi - 1e-12 * (1 + np.abs(hi)))
    g[at_lo & (g > 0)] = 0.0
    g[at_hi & (g < 0)] = 0.0
    scale = obj.gradient_scale(theta)
    ok = (np.abs(g) <= rel_tol * scale) | (np.abs(g) <= _ABS_GRAD_TOL)
    worst = float(np.max(np.abs(g) / np.maximum(scale, 1e-300)))
    if ok.all():
        return True, f"converged (relative gradient {worst:.2g})"
    return False, f"not converged: relative gradient {worst:.2g} > {rel_tol:g}"

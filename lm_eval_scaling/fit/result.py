"""``FitResult``: an immutable record of one fitted law."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from .laws import LawSpec, get_law
from .numbers import format_interval, format_number

if TYPE_CHECKING:
    from ._objective import Objective

__all__ = ["FitResult", "Prediction"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class FitResult:
    """One fitted law.  Immutable; arrays are read-only copies.

    ``params`` / ``stderr`` map parameter names to values.  ``stderr`` is the robust
    sandwich standard error of the loss actually minimised (Huber or squared; see
    :mod:`lm_eval_scaling.fit._identify`), in natural units; ``covariance`` the matrix.
    They are NaN only where undefined, and ``identification`` then says why (no degrees
    of freedom, a flat profile).  ``ci`` holds bootstrap percentile intervals
    (:func:`lm_eval_scaling.fit.bootstrap_fit` or the problem bootstrap) and
    ``bootstrap_params`` the draws; :meth:`intervals` gives the bootstrap interval where
    there is one and the asymptotic one otherwise, one-sided for a parameter at a bound.

    ``at_bound`` lists the parameters that ended on a bound (``bounds``, natural units:
    exponents >= 0, the irreducible term >= 0); ``identified`` is False when the data
    cannot pin the law down (fewer than ``min_points`` points, collinear covariates, a
    flat profile, a competing basin within ``basin_gap`` of the objective, no
    convergence), with the reasons in ``identification`` and the competing basin in
    ``competing``.  ``pivot`` is the median of every covariate over the fitted points;
    :attr:`pivot_params` the prefactors there.  ``residuals`` are ``log y_hat - log y``;
    ``r_squared`` is in log space.  ``theta`` is the internal parameter vector.
    """

    law: str
    k: int | None
    task: str | None
    params: dict[str, float]
    stderr: dict[str, float]
    converged: bool
    message: str
    objective: float
    n_points: int
    n_starts: int
    residuals: FloatArray
    labels: tuple[str, ...]
    y: FloatArray
    covariates: dict[str, FloatArray]
    r_squared: float
    loss: str
    delta: float
    theta: FloatArray = field(repr=False)
    ci: dict[str, tuple[float, float]] | None = None
    ci_level: float | None = None
    n_boot: int = 0
    bootstrap_params: FloatArray | None = field(default=None, repr=False)
    excluded_labels: tuple[str, ...] = ()
    n_censored: int = 0
    identified: bool = True
    identification: str = ""
    at_bound: tuple[str, ...] = ()
    competing: dict[str, Any] | None = None
    basin_gap: float = 0.01
    min_points: int = 0
    covariance: FloatArray | None = field(default=None, repr=False)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)
    pivot: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction

    @classmethod
    def build(cls, *, spec: LawSpec, theta: FloatArray, objective: Objective, k: int | None,
              task: str | None, labels: tuple[str, ...], y: FloatArray,
              covariates: dict[str, FloatArray], converged: bool, message: str,
              n_starts: int, stderr: dict[str, float], covariance: FloatArray | None = None,
              at_bound: tuple[str, ...] = (), identified: bool = True,
              identification: str = "", competing: dict[str, Any] | None = None,
              basin_gap: float = 0.01, min_points: int = 0,
              bounds: dict[str, tuple[float, float]] | None = None) -> FitResult:
        th = np.asarray(theta, dtype=np.float64).reshape(1, -1)
        r = objective.residuals(th)[0]
        f = float(objective.value(th)[0])
        params = spec.to_natural(th[0])
        log_y = objective.log_y
        ss_tot = float(np.sum((log_y - log_y.mean()) ** 2))
        r2 = 1.0 - float(np.sum(r * r)) / ss_tot if ss_tot > 0 else float("nan")
        return cls(
            law=spec.name, k=k, task=task, params=params, stderr=stderr,
            converged=bool(converged), message=message, objective=f, n_points=int(y.size),
            n_starts=int(n_starts), residuals=_frozen(r), labels=labels, y=_frozen(y),
            covariates={c: _frozen(v) for c, v in covariates.items()}, r_squared=r2,
            loss=objective.loss, delta=objective.delta, theta=_frozen(th[0]),
            identified=bool(identified), identification=identification,
            at_bound=tuple(at_bound), competing=competing, basin_gap=float(basin_gap),
            min_points=int(min_points),
            covariance=None if covariance is None else _frozen(covariance),
            bounds=dict(bounds or {}),
            pivot={c: float(np.median(v)) for c, v in covariates.items() if v.size},
        )

    def with_(self, **changes: Any) -> FitResult:
        """A copy with some fields replaced (the result itself is immutable)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------------ use

    @property
    def spec(self) -> LawSpec:
        return get_law(self.law)

    @property
    def pivot_params(self) -> dict[str, float]:
        """Each reducible term at :attr:`pivot` (``C0_pivot = C0 C_p^-alpha``): the
        prefactors to quote and compare (the raw ones, at C = 1, are nearly collinear with
        the exponents)."""
        if not self.pivot:
            return {}
        return self.spec.pivot_prefactors(self.theta, self.pivot)

    def _log_predict(self, theta: FloatArray, logs: dict[str, FloatArray]) -> FloatArray:
        M = self.spec.design(logs)
        z = np.einsum("tnp,...p->...tn", M, theta)
        zmax = z.max(axis=-2, keepdims=True)
        return (zmax + np.log(np.exp(z - zmax).sum(axis=-2, keepdims=True)))[..., 0, :]

    def _covariate_logs(self, covariates: Mapping[str, npt.ArrayLike],
                        ) -> tuple[dict[str, FloatArray], tuple[int, ...], dict[str, FloatArray]]:
        spec = self.spec
        missing = [c for c in spec.covariates if c not in covariates]
        unknown = [c for c in covariates if c not in spec.covariates]
        if missing or unknown:
            raise InputError(f"law {self.law!r} predicts from {spec.covariates}; "
                             f"missing {missing}, unexpected {unknown}")
        arrays = np.broadcast_arrays(*[np.asarray(covariates[c], dtype=np.float64)
                                       for c in spec.covariates])
        shape = arrays[0].shape
        logs, values = {}, {}
        for c, arr in zip(spec.covariates, arrays):
            flat = arr.reshape(-1)
            bad = ~(np.isfinite(flat) & (flat > 0))
            if bad.any():
                raise InputError(f"predict: covariate {c!r} must be finite and > 0, got "
                                 f"{flat[bad][:3]}")
            logs[c] = np.log(flat)
            values[c] = flat
        return logs, shape, values

    @overload
    def predict(self, **covariates: npt.ArrayLike) -> FloatArray: ...

    @overload
    def predict(self, *, interval: float, **covariates: Any) -> Prediction: ...

    def predict(self, *, interval: Any = None,
                **covariates: Any) -> FloatArray | Prediction:
        """``y_hat`` at the given covariates, e.g. ``fit.predict(C=[1e20, 1e21])``.

        Every covariate of the law is required (``gold`` is the gold covariate the law
        was fitted on, e.g. ``-log GoldProb``); arrays broadcast against each other.
        Without ``interval`` the result is an array of their broadcast shape (at least
        one dimension).  With ``interval=0.95`` it is a :class:`Prediction`: the point
        forecast, a percentile interval over the bootstrap draws
        (``bootstrap_params``) or, without draws, a delta-method interval from the
        sandwich covariance, and how far each covariate lies outside the fitted range in
        orders of magnitude.
        """
        logs, shape, values = self._covariate_logs(covariates)
        log_y = self._log_predict(self.theta, logs)
        point = np.atleast_1d(np.exp(log_y).reshape(shape))
        if interval is None:
            return point
        shape = point.shape
        if not (isinstance(interval, (float, int)) and 0 < interval < 1):
            raise InputError(f"interval must be a level in (0, 1), got {interval!r}")
        draws = self.bootstrap_params
        if draws is not None and len(draws) >= 2:
            thetas = np.array([self.spec.to_internal(dict(zip(self.spec.param_names, row)))
                               for row in np.asarray(draws)])
            boot = self._log_predict(thetas, logs)  # (B, n)
            lo, hi = np.quantile(boot, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
            method, n_draws = "bootstrap", len(draws)
        else:
            lo, hi = self._delta_interval(logs, log_y, interval)
            method, n_draws = "delta", 0
        beyond = {}
        for c in self.spec.covariates:
            fitted = np.asarray(self.covariates.get(c, ()), dtype=np.float64)
            if fitted.size == 0:
                beyond[c] = np.full(shape, np.nan)
                continue
            v = values[c]
            above = np.log10(v / fitted.max())
            below = np.log10(fitted.min() / v)
            beyond[c] = np.maximum(np.maximum(above, below), 0.0).reshape(shape)
        return Prediction(value=point, low=np.exp(lo).reshape(shape),
                          high=np.exp(hi).reshape(shape), level=float(interval), method=method,
                          n_draws=n_draws, oom_outside_data=beyond)

    def _delta_interval(self, logs: dict[str, FloatArray], log_y: FloatArray,
                        level: float) -> tuple[FloatArray, FloatArray]:
        from scipy.stats import norm

        if self.covariance is None:
            nan = np.full(log_y.shape, np.nan)
            return nan, nan
        spec = self.spec
        M = spec.design(logs)
        z = np.einsum("tnp,p->tn", M, self.theta)
        w = np.exp(z - z.max(axis=0, keepdims=True))
        w /= w.sum(axis=0, keepdims=True)
        jac = np.einsum("tn,tnp->np", w, M)  # d log y / d theta
        is_log, _ = spec.internal_index()
        values = np.exp(np.where(is_log, self.theta, 0.0))
        jac = np.where(is_log[None, :], jac / values[None, :], jac)  # natural parameters
        sd = np.sqrt(np.clip(np.einsum("np,pq,nq->n", jac, self.covariance, jac), 0, None))
        q = float(norm.ppf((1 + level) / 2))
        return log_y - q * sd, log_y + q * sd

    def intervals(self, level: float | None = None) -> dict[str, tuple[float, float, str]]:
        """Per parameter ``(low, high, kind)``: the bootstrap percentile interval where
        there is one (kind ``"bootstrap"``), else the asymptotic one from ``stderr``
        (``"sandwich"``, on the log scale for prefactors); for a parameter at a bound the
        interval is one-sided, from the bound (``"... one-sided"``).  NaN where undefined."""
        from scipy.stats import norm

        level = level if level is not None else (self.ci_level or 0.95)
        out: dict[str, tuple[float, float, str]] = {}
        for name in self.spec.param_names:
            v = self.params[name]
            bound = self.bounds.get(name, (float("nan"), float("nan")))[0]
            one_sided = name in self.at_bound
            if self.ci is not None and name in self.ci and self.ci_level == level:
                lo, hi = self.ci[name]
                out[name] = (lo, hi, "bootstrap one-sided" if one_sided else "bootstrap")
                continue
            se = self.stderr.get(name, float("nan"))
            if one_sided:
                q = float(norm.ppf(level))
                out[name] = (bound if np.isfinite(bound) else 0.0, v + q * se,
                             "sandwich one-sided")
            elif name in self.spec.log_params and v > 0:
                q = float(norm.ppf((1 + level) / 2))
                out[name] = (v * math.exp(-q * se / v), v * math.exp(q * se / v), "sandwich")
            else:
                q = float(norm.ppf((1 + level) / 2))
                lo = v - q * se
                if np.isfinite(bound):  # never below the bound the fit respects
                    lo = max(lo, bound)
                out[name] = (lo, v + q * se, "sandwich")
        return out

    def fitted(self) -> FloatArray:
        """``y_hat`` at the fitted points."""
        return self.predict(**{c: self.covariates[c] for c in self.spec.covariates})

    def format_parameter(self, name: str, *, digits: int = 4) -> str:
        """``name``'s value with its interval (:meth:`intervals`); at a bound, the bound
        and a one-sided interval (:func:`~lm_eval_scaling.fit.numbers.format_interval`)."""
        lo, hi, _ = self.intervals()[name]
        return format_interval(self.params[name], lo, hi, at_bound=name in self.at_bound,
                               bound=self.bounds.get(name, (0.0, math.inf))[0], digits=digits)

    def report(self) -> str:
        """Readable multi-line summary."""
        spec = self.spec
        head = f"law {self.law}: {spec.formula}"
        meta = [f"k={self.k}" if self.k is not None else None,
                f"task={self.task}" if self.task else None,
                f"{self.n_points} points", f"loss={self.loss}"
                + (f" (delta={self.delta:g})" if self.loss == "huber" else ""),
                f"objective={format_number(self.objective, 6)}",
                f"R^2(log)={format_number(self.r_squared, 4)}"]
        lines = [head, "  " + ", ".join(m for m in meta if m)]
        lines.append(f"  converged: {self.converged} - {self.message}")
        lines.append(f"  identified: {self.identified} - {self.identification}")
        level = self.ci_level or 0.95
        lines.append(f"  intervals: {100 * level:.0f}% CI "
                     + (f"(bootstrap, {self.n_boot} refits)" if self.ci is not None
                        else "(sandwich standard errors)")
                     + "; one-sided from the bound for parameters at a bound")
        for p in spec.param_names:
            lines.append(f"    {p:>6} = {self.format_parameter(p)}")
        for name, v in self.pivot_params.items():
            at = ", ".join(f"{c}={format_number(x, 3)}" for c, x in self.pivot.items())
            lines.append(f"    {name} = {format_number(v)} (at the median covariates {at})")
        if self.n_censored or self.excluded_labels:
            lines.append(f"  excluded {len(self.excluded_labels)} point(s) "
                         f"({self.n_censored} censored: pass@k = 0): "
                         + ", ".join(self.excluded_labels[:8])
                         + (" ..." if len(self.excluded_labels) > 8 else ""))
        rmax = float(np.max(np.abs(self.residuals))) if self.residuals.size else float("nan")
        lines.append(f"  max |log residual| = {format_number(rmax)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (NaN becomes None); bootstrap draws included where present."""
        return {
            "law": self.law,
            "k": self.k,
            "task": self.task,
            "params": {p: _num(v) for p, v in self.params.items()},
            "stderr": {p: _num(v) for p, v in self.stderr.items()},
            "ci": None if self.ci is None else {p: [_num(a), _num(b)] for p, (a, b) in self.ci.items()},
            "ci_level": self.ci_level,
            "n_boot": self.n_boot,
            "converged": self.converged,
            "message": self.message,
            "identified": self.identified,
            "identification": self.identification,
            "at_bound": list(self.at_bound),
            "competing": self.competing,
            "basin_gap": self.basin_gap,
            "min_points": self.min_points,
            "bounds": {p: [_num(a), _num(b)] for p, (a, b) in self.bounds.items()},
            "pivot": dict(self.pivot),
            "pivot_params": {p: _num(v) for p, v in self.pivot_params.items()},
            "objective": _num(self.objective),
            "n_points": self.n_points,
            "n_starts": self.n_starts,
            "n_censored": self.n_censored,
            "r_squared": _num(self.r_squared),
            "loss": self.loss,
            "delta": self.delta,
            "labels": list(self.labels),
            "excluded_labels": list(self.excluded_labels),
            "y": [_num(v) for v in self.y],
            "covariates": {c: [_num(v) for v in a] for c, a in self.covariates.items()},
            "residuals": [_num(v) for v in self.residuals],
            "covariance": None if self.covariance is None
            else [[_num(v) for v in row] for row in self.covariance],
            "bootstrap_params": None if self.bootstrap_params is None
            else [[_num(v) for v in row] for row in self.bootstrap_params],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitResult:
        """Rebuild a result written by :meth:`to_dict` (parameters, CIs, draws, data)."""
        spec = get_law(str(data["law"]))
        params = {p: float(_nan(data["params"][p])) for p in spec.param_names}
        ci = data.get("ci")
        cov = data.get("covariance")
        draws = data.get("bootstrap_params")
        return cls(
            law=spec.name, k=data.get("k"), task=data.get("task"), params=params,
            stderr={p: float(_nan(v)) for p, v in data.get("stderr", {}).items()},
            converged=bool(data["converged"]), message=str(data.get("message", "")),
            objective=float(_nan(data.get("objective"))), n_points=int(data["n_points"]),
            n_starts=int(data.get("n_starts", 0)),
            residuals=_frozen(np.array([_nan(v) for v in data.get("residuals", [])], float)),
            labels=tuple(data.get("labels", ())),
            y=_frozen(np.array([_nan(v) for v in data.get("y", [])], float)),
            covariates={c: _frozen(np.array([_nan(v) for v in a], float))
                        for c, a in data.get("covariates", {}).items()},
            r_squared=float(_nan(data.get("r_squared"))), loss=str(data.get("loss", "huber")),
            delta=float(data.get("delta", 1e-3)), theta=_frozen(spec.to_internal(params)),
            ci=None if ci is None else {p: (float(_nan(a)), float(_nan(b))) for p, (a, b) in ci.items()},
            ci_level=data.get("ci_level"), n_boot=int(data.get("n_boot", 0)),
            bootstrap_params=None if draws is None
            else _frozen(np.array([[_nan(v) for v in row] for row in draws], float)),
            excluded_labels=tuple(data.get("excluded_labels", ())),
            n_censored=int(data.get("n_censored", 0)),
            identified=bool(data.get("identified", True)),
            identification=str(data.get("identification", "")),
            at_bound=tuple(data.get("at_bound", ())), competing=data.get("competing"),
            basin_gap=float(data.get("basin_gap", 0.01)),
            min_points=int(data.get("min_points", 0)),
            covariance=None if cov is None
            else _frozen(np.array([[_nan(v) for v in row] for row in cov], float)),
            bounds={p: (float(_nan(a)), float(_nan(b)))
                    for p, (a, b) in data.get("bounds", {}).items()},
            pivot={c: float(v) for c, v in data.get("pivot", {}).items()},
        )


@dataclass(frozen=True)
class Prediction:
    """A forecast with its interval (:meth:`FitResult.predict` with ``interval=``).

    ``value``/``low``/``high`` are ``y = -log pass@k`` (arrays); :attr:`pass_at_k` and
    its interval follow (``low`` of ``y`` is ``high`` of pass@k).  ``method``:
    ``"bootstrap"`` (percentiles over ``n_draws`` refits) or ``"delta"`` (sandwich
    covariance).  ``oom_outside_data``: per covariate, orders of magnitude outside the
    range the law was fitted on (0 inside it).
    """

    value: FloatArray
    low: FloatArray
    high: FloatArray
    level: float
    method: str
    n_draws: int
    oom_outside_data: dict[str, FloatArray]

    @property
    def pass_at_k(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(value, low, high)`` of pass@k = exp(-y)."""
        return np.exp(-self.value), np.exp(-self.high), np.exp(-self.low)


# --------------------------------------------------------------------------- helpers


def _frozen(a: npt.ArrayLike) -> FloatArray:
    arr = np.array(a, dtype=np.float64)
    arr.setflags(write=False)
    return arr


def _num(v: Any) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)

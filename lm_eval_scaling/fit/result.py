"""``FitResult``: an immutable record of one fitted law."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from .laws import LawSpec, get_law
from .numbers import format_number

if TYPE_CHECKING:
    from ._objective import Objective

__all__ = ["FitResult"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class FitResult:
    """One fitted law.  Immutable; arrays are read-only copies.

    ``params`` / ``stderr`` map the law's parameter names (:mod:`.laws`) to values.
    ``stderr`` is the asymptotic standard error from the Jacobian of the log-space model at the optimum,
    ``sigma^2 (J^T J)^-1`` with ``sigma^2 = sum r^2 / (n - p)`` (delta method for the
    log-space parameters); NaN where undefined (no degrees of freedom, or a singular
    ``J^T J``, e.g. ``E0`` driven to 0).  For the Huber loss this is the least-squares
    approximation: prefer ``ci`` from a bootstrap (:func:`lm_eval_scaling.fit.bootstrap_fit`
    or the problem bootstrap, ``FitOptions(bootstrap=B)``).  ``residuals`` are ``log y_hat - log y``;
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

    # ------------------------------------------------------------------ construction

    @classmethod
    def build(cls, *, spec: LawSpec, theta: FloatArray, objective: Objective, k: int | None,
              task: str | None, labels: tuple[str, ...], y: FloatArray,
              covariates: dict[str, FloatArray], converged: bool, message: str,
              n_starts: int) -> FitResult:
        th = np.asarray(theta, dtype=np.float64).reshape(1, -1)
        r = objective.residuals(th)[0]
        f = float(objective.value(th)[0])
        params = spec.to_natural(th[0])
        stderr = _stderr(spec, th[0], objective, r)
        log_y = objective.log_y
        ss_tot = float(np.sum((log_y - log_y.mean()) ** 2))
        r2 = 1.0 - float(np.sum(r * r)) / ss_tot if ss_tot > 0 else float("nan")
        return cls(
            law=spec.name, k=k, task=task, params=params, stderr=stderr,
            converged=bool(converged), message=message, objective=f, n_points=int(y.size),
            n_starts=int(n_starts), residuals=_frozen(r), labels=labels, y=_frozen(y),
            covariates={c: _frozen(v) for c, v in covariates.items()}, r_squared=r2,
            loss=objective.loss, delta=objective.delta, theta=_frozen(th[0]),
        )

    def with_(self, **changes: Any) -> FitResult:
        """A copy with some fields replaced (the result itself is immutable)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------------ use

    @property
    def spec(self) -> LawSpec:
        return get_law(self.law)

    def predict(self, **covariates: npt.ArrayLike) -> FloatArray:
        """``y_hat`` at the given covariates, e.g. ``fit.predict(C=[1e20, 1e21])``.

        Every covariate of the law is required (``gold`` is ``-log GoldProb``);
        arrays broadcast against each other.  The result has their broadcast shape, and
        at least one dimension (a scalar input gives an array of length 1).
        """
        spec = self.spec
        missing = [c for c in spec.covariates if c not in covariates]
        unknown = [c for c in covariates if c not in spec.covariates]
        if missing or unknown:
            raise InputError(f"law {self.law!r} predicts from {spec.covariates}; "
                             f"missing {missing}, unexpected {unknown}")
        arrays = np.broadcast_arrays(*[np.asarray(covariates[c], dtype=np.float64)
                                       for c in spec.covariates])
        shape = arrays[0].shape
        logs = {}
        for c, a in zip(spec.covariates, arrays):
            if not np.all(np.isfinite(a) & (a > 0)):
                raise InputError(f"predict: covariate {c!r} must be finite and > 0, got "
                                 f"{a.reshape(-1)[~(np.isfinite(a.reshape(-1)) & (a.reshape(-1) > 0))][:3]}")
            logs[c] = np.log(a.reshape(-1))
        M = spec.design(logs)
        z = np.einsum("tnp,p->tn", M, self.theta)
        zmax = z.max(axis=0)
        log_yhat = zmax + np.log(np.exp(z - zmax).sum(axis=0))
        return np.atleast_1d(np.exp(log_yhat).reshape(shape))

    def fitted(self) -> FloatArray:
        """``y_hat`` at the fitted points."""
        return self.predict(**{c: self.covariates[c] for c in self.spec.covariates})

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
        for p in spec.param_names:
            v = self.params[p]
            se = self.stderr.get(p, float("nan"))
            line = f"    {p:>6} = {format_number(v, 6)}"
            if math.isfinite(se):
                line += f"  (stderr {format_number(se, 3)})"
            if self.ci is not None and p in self.ci:
                lo, hi = self.ci[p]
                line += (f"  [{format_number(lo)}, {format_number(hi)}] "
                         f"{100 * (self.ci_level or 0):.0f}% CI ({self.n_boot} boot)")
            lines.append(line)
        if self.n_censored or self.excluded_labels:
            lines.append(f"  excluded {len(self.excluded_labels)} point(s) "
                         f"({self.n_censored} censored: pass@k = 0): "
                         + ", ".join(self.excluded_labels[:8])
                         + (" ..." if len(self.excluded_labels) > 8 else ""))
        rmax = float(np.max(np.abs(self.residuals))) if self.residuals.size else float("nan")
        lines.append(f"  max |log residual| = {format_number(rmax)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (NaN becomes None)."""
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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitResult:
        """Rebuild a result written by :meth:`to_dict` (parameters, CIs, data, residuals)."""
        spec = get_law(str(data["law"]))
        params = {p: float(_nan(data["params"][p])) for p in spec.param_names}
        ci = data.get("ci")
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
            excluded_labels=tuple(data.get("excluded_labels", ())),
            n_censored=int(data.get("n_censored", 0)),
        )


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


def _stderr(spec: LawSpec, theta: FloatArray, objective: Objective, r: FloatArray) -> dict[str, float]:
    nan = {p: float("nan") for p in spec.param_names}
    n, p = r.size, spec.n_params
    if n <= p:
        return nan
    jac = objective.jacobian(theta.reshape(1, -1))[0]
    sigma2 = float(np.sum(r * r)) / (n - p)
    _, s, vt = np.linalg.svd(jac, full_matrices=False)
    if s.size < p or not np.all(np.isfinite(s)) or s[-1] <= s[0] * 1e-10:
        return nan
    cov = (vt.T / (s * s)) @ vt * sigma2
    se_internal = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    out = {}
    is_log, _ = spec.internal_index()
    for j, name in enumerate(spec.param_names):
        se = se_internal[j]
        with np.errstate(over="ignore", invalid="ignore"):
            out[name] = float(np.exp(theta[j]) * se) if is_log[j] else float(se)
    return out

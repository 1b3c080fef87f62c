"""Is a fit identified?  Bounds reached, collinear covariates, flat profiles, competing
basins, and standard errors that match the robust loss (sandwich).

Used by :func:`lm_eval_scaling.fit.core.fit_law` only.

Standard errors (natural parameters): with ``J`` the Jacobian of ``log y_hat`` with
respect to the natural parameters, ``psi`` the loss's derivative at the residuals and
``m`` the mean of its second derivative,

    cov = n / (n - p) * A^-1 B A^-1,   A = m J^T J,   B = J^T diag(psi^2) J

the M-estimator's sandwich.  For the squared loss ``psi = r`` and ``m = 1`` (the
heteroscedasticity-robust least-squares covariance).  For Huber with a small ``delta``
(1e-3 on log residuals of ~1e-2) almost no residual lies in the quadratic zone, so the
raw count of residuals with ``|r| <= delta`` is no estimate of ``m`` (the optimum
interpolates a few points exactly); ``m = P(|r| <= delta)`` is estimated from a Gaussian
kernel density of the residuals (Silverman's bandwidth), which reduces to the least
absolute deviations variance ``1 / (4 f(0)^2)`` as ``delta -> 0``.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from ._objective import Objective
from .laws import LawSpec

FloatArray = npt.NDArray[np.float64]

#: A log-space parameter within this (in log units) of its bound is at the bound.
_LOG_BOUND_TOL: Final = 1e-6
#: The irreducible term's floor is min(y) e^-40; below min(y) * 1e-8 it is effectively 0
#: (at its bound) whether or not the optimiser pressed it onto the floor.
_IRREDUCIBLE_ZERO: Final = 1e-8
#: An exponent within this of its bound is at the bound.
_BOUND_TOL: Final = 1e-7
#: Smallest / largest singular value of the column-scaled Jacobian below which the
#: profile is flat (a combination of parameters leaves the fit unchanged).
_FLAT_TOL: Final = 1e-7


def at_bound(spec: LawSpec, theta: FloatArray, box: FloatArray,
             y_min: float) -> tuple[str, ...]:
    """Parameters whose internal value sits on a finite bound of ``box`` (the
    irreducible term: below ``y_min * 1e-8``, effectively 0)."""
    out = []
    is_log, _ = spec.internal_index()
    for j, name in enumerate(spec.param_names):
        if name == spec.irreducible and theta[j] <= math.log(y_min * _IRREDUCIBLE_ZERO):
            out.append(name)
            continue
        tol = _LOG_BOUND_TOL if is_log[j] else _BOUND_TOL
        lo, hi = box[j]
        if (np.isfinite(lo) and theta[j] <= lo + tol) or (np.isfinite(hi) and theta[j] >= hi - tol):
            out.append(name)
    return tuple(out)


def natural_jacobian(spec: LawSpec, objective: Objective, theta: FloatArray) -> FloatArray:
    """``d log y_hat / d (natural parameter)``, (n, P)."""
    jac = objective.jacobian(theta.reshape(1, -1))[0]
    is_log, _ = spec.internal_index()
    values = np.exp(np.where(is_log, theta, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(is_log[None, :], jac / values[None, :], jac)


def collinear_covariates(spec: LawSpec, objective: Objective) -> str | None:
    """A reason when the covariates cannot separate the law's terms (e.g. one compute
    for every point, or N and D proportional), else None.

    Every distinct non-constant design column (``log C``, ``log N``, ``log C log k``, ...)
    must be linearly independent of the others and of a constant.
    """
    M = objective.M
    cols: list[FloatArray] = []
    for t in range(M.shape[0]):
        for j in range(M.shape[2]):
            c = M[t, :, j]
            if np.ptp(c) > 0 and not any(np.allclose(np.abs(c), np.abs(o)) for o in cols):
                cols.append(c)
    names = ", ".join(spec.covariates)
    if not cols:
        return f"collinear covariates: {names} take a single value"
    x = np.column_stack([np.ones(M.shape[1]), *cols])
    x = x / np.linalg.norm(x, axis=0)
    s = np.linalg.svd(x, compute_uv=False)
    if s.size < x.shape[1] or s[-1] < 1e-9 * s[0]:
        return f"collinear covariates: {names} do not vary independently"
    return None


def sandwich(spec: LawSpec, objective: Objective, theta: FloatArray, residuals: FloatArray,
             ) -> tuple[dict[str, float], FloatArray | None, str | None]:
    """Standard errors of the natural parameters (module doc), the covariance, and a
    reason where they are undefined (no degrees of freedom, flat profile)."""
    n, p = residuals.size, spec.n_params
    nan = {name: float("nan") for name in spec.param_names}
    if n <= p:
        return nan, None, f"zero degrees of freedom ({n} points, {p} parameters)"
    jac = natural_jacobian(spec, objective, theta)
    if not np.all(np.isfinite(jac)):
        return nan, None, "flat profile: non-finite Jacobian"
    scale = np.linalg.norm(jac, axis=0)
    if np.any(scale == 0):
        dead = [spec.param_names[j] for j in np.flatnonzero(scale == 0)]
        return nan, None, f"flat profile: the fit does not depend on {', '.join(dead)}"
    js = jac / scale
    s = np.linalg.svd(js, compute_uv=False)
    if s[-1] < _FLAT_TOL * s[0]:
        return nan, None, (f"flat profile: the Jacobian is singular (condition number "
                           f"{s[0] / max(s[-1], 1e-300):.2g})")
    r = residuals
    if objective.loss == "squared":
        psi, slope = r, 1.0
    else:
        d = objective.delta
        psi = np.clip(r, -d, d)
        sd = float(np.std(r))
        h = 1.06 * sd * n ** -0.2 if sd > 0 else d
        slope = float(np.mean(ndtr((d - r) / h) - ndtr((-d - r) / h)))
    if slope <= 0:
        return nan, None, "flat profile: no residual near the loss's quadratic zone"
    gram_inv = np.linalg.inv(js.T @ js)
    meat = js.T @ (psi[:, None] ** 2 * js)
    cov_s = gram_inv @ meat @ gram_inv / slope**2 * n / (n - p)
    cov = cov_s / np.outer(scale, scale)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return {name: float(v) for name, v in zip(spec.param_names, se)}, cov, None


def distinct_basin(spec: LawSpec, a: FloatArray, b: FloatArray, y_min: float,
                   ignore: str | None = None) -> bool:
    """Do two internal parameter vectors describe different fits (an exponent 1% apart,
    a prefactor a factor 1.5 apart, the irreducible terms 1% of ``y_min`` apart;
    ``ignore`` is not compared)?"""
    is_log, _ = spec.internal_index()
    for j in range(spec.n_params):
        if spec.param_names[j] == ignore:
            continue
        if spec.param_names[j] == spec.irreducible:
            if abs(math.exp(a[j]) - math.exp(b[j])) > 0.01 * y_min:
                return True
            continue
        if is_log[j]:
            if abs(a[j] - b[j]) > math.log(1.5):
                return True
        elif abs(a[j] - b[j]) > 0.01 * max(abs(a[j]), abs(b[j]), 1e-3):
            return True
    return False

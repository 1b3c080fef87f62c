"""The fitting objective and its analytic gradient, vectorised over starting points.

With the design tensor ``M`` (terms, n, P) of a law (:mod:`.laws`) and internal
parameters ``theta`` (S starts, P):

    Z[s, t, i] = M[t, i, :] @ theta[s]           log of term t at point i
    L[s, i]    = logsumexp_t Z[s, t, i]          log y_hat
    r[s, i]    = L[s, i] - log y_i               residual in log space
    f[s]       = sum_i rho(r[s, i])              Huber (delta) or squared, SUMMED
    grad[s, :] = sum_i psi(r[s, i]) * J[s, i, :],  J = sum_t softmax_t(Z) M[t]

``rho`` is Huber's loss (``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)``
beyond), ``psi = clip(r, -delta, delta)`` its derivative; for the squared loss
``rho = r^2/2`` and ``psi = r``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Loss", "Objective"]

Loss = Literal["huber", "squared"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Objective:
    """Loss of a law's design ``M`` against ``log_y``; evaluates one or many ``theta``."""

    M: FloatArray  # (T, n, P)
    log_y: FloatArray  # (n,)
    loss: Loss
    delta: float

    @property
    def n_params(self) -> int:
        return int(self.M.shape[2])

    def log_model(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(L, W)``: log y_hat (S, n) and the terms' softmax weights (S, T, n)."""
        z = np.einsum("tnp,sp->stn", self.M, theta)
        if z.shape[1] == 1:
            return z[:, 0, :], np.ones_like(z)
        zmax = z.max(axis=1, keepdims=True)
        ez = np.exp(z - zmax)
        tot = ez.sum(axis=1, keepdims=True)
        log_yhat = (zmax + np.log(tot))[:, 0, :]
        return log_yhat, ez / tot

    def jacobian(self, theta: FloatArray) -> FloatArray:
        """``d log y_hat / d theta`` for each start: (S, n, P)."""
        _, w = self.log_model(theta)
        return np.einsum("stn,tnp->snp", w, self.M)

    def residuals(self, theta: FloatArray) -> FloatArray:
        """Residuals in log space, (S, n)."""
        return self.log_model(theta)[0] - self.log_y

    def rho_psi(self, r: FloatArray) -> tuple[FloatArray, FloatArray]:
        if self.loss == "squared":
            return 0.5 * r * r, r
        a = np.abs(r)
        d = self.delta
        rho = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        return rho, np.clip(r, -d, d)

    def value(self, theta: FloatArray) -> FloatArray:
        """Objective for each start (S,); non-finite values become +inf."""
        log_yhat, _ = self.log_model(theta)
        rho, _ = self.rho_psi(log_yhat - self.log_y)
        f = rho.sum(axis=-1)
        return np.where(np.isfinite(f), f, np.inf)

    def value_and_grad(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Objective (S,) and gradient (S, P)."""
        log_yhat, w = self.log_model(theta)
        rho, psi = self.rho_psi(log_yhat - self.log_y)
        grad = np.einsum("sn,stn,tnp->sp", psi, w, self.M)
        return rho.sum(axis=-1), grad

    def gradient_scale(self, theta: FloatArray) -> FloatArray:
        """``sum_i |psi_i| |J_ij|`` (P,) at one ``theta``: the size the gradient would
        have without cancellation between points (a scale for the stationarity test)."""
        th = theta.reshape(1, -1)
        log_yhat, w = self.log_model(th)
        _, psi = self.rho_psi(log_yhat - self.log_y)
        jac = np.einsum("stn,tnp->snp", w, self.M)[0]
        return np.abs(psi[0]) @ np.abs(jac)


def batch_gauss_newton(obj: Objective, theta: FloatArray, box: FloatArray, *,
                       iterations: int = 40) -> tuple[FloatArray, FloatArray]:
    """Damped Gauss-Newton (IRLS for Huber) steps on many starts at once.

    For every start: Huber IRLS weights ``w_i = psi(r_i) / r_i``, step ``d`` solving
    ``(J^T W J + lam diag(J^T W J)) d = -J^T psi`` (Levenberg-Marquardt damping, per
    start), kept only where it lowers the objective.  A cheap, vectorised pre-polish:
    L-BFGS-B then starts next to an optimum.  Returns ``(theta, objective)``.
    """
    th = np.clip(np.array(theta, dtype=np.float64), box[:, 0], box[:, 1])
    S, P = th.shape
    f = obj.value(th)
    lam = np.full(S, 1e-3)
    eye = np.eye(P)
    for _ in range(iterations):
        log_yhat, w = obj.log_model(th)
        r = log_yhat - obj.log_y
        _, psi = obj.rho_psi(r)
        jac = np.einsum("stn,tnp->snp", w, obj.M)
        with np.errstate(divide="ignore", invalid="ignore"):
            wt = np.where(np.abs(r) > 0, psi / r, 1.0)
        A = np.einsum("snp,sn,snq->spq", jac, wt, jac)
        g = np.einsum("snp,sn->sp", jac, psi)
        diag = np.einsum("spp->sp", A)
        damp = A + lam[:, None, None] * (diag[:, :, None] * eye + 1e-12 * eye)
        try:
            step = np.linalg.solve(damp, -g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(damp[s], -g[s], rcond=None)[0] for s in range(S)])
        cand = np.clip(th + step, box[:, 0], box[:, 1])
        fc = obj.value(cand)
        better = np.isfinite(fc) & (fc < f)
        th[better] = cand[better]
        f = np.where(better, fc, f)
        lam = np.where(better, np.maximum(lam / 3.0, 1e-9), np.minimum(lam * 4.0, 1e9))
    return th, f

"""A model of success probabilities shared by the checkpoints of a ladder: pass@k for any k.

Pure numerics, no I/O.  The per-checkpoint models of :mod:`.model` treat the problems of
one checkpoint as exchangeable: a problem never solved in 128 samples looks like every
other such problem, so the mass of success probabilities between ~1e-4 and ~1e-2, which
decides pass@1000, is guessed from the shape of the rest.  Across a ladder the same
problems are sampled at every checkpoint, and a problem that other checkpoints solve is
likely within reach of this one too.  The pooled model uses that:

    logit p_ij = theta_j + g(theta_j) * d_i + s(theta_j) * z_ij,    z_ij ~ N(0, 1),

and, with probability ``pi_j``, problem ``i`` is out of reach at checkpoint ``j``
(``p_ij = 0``).  ``theta_j`` is the checkpoint's level and ``d_i`` the problem's ease,
shared by all checkpoints.  How strongly ease separates the problems (the slope ``g``)
and the spread that ease does not explain (``s``) change smoothly with the level: ``log g``
and ``log s`` are quadratic in ``u = (theta - (-10)) / 5``, six coefficients for the whole
ladder.  (Letting every checkpoint have its own slope and spread fits the data no better
and leaves them to a checkpoint's few successes; docs/passk_model.md has the numbers.)
``c_ij`` given ``n_ij`` is binomial; the model is fitted by maximum likelihood to every observed ``(n_ij, c_ij)``,
``c = 0`` included (``z`` integrated out by adaptive Gauss-Hermite quadrature, L-BFGS-B with
analytic gradients), with weak priors that keep every parameter finite: ``d_i ~ N(0,
10^2)``, and ``logit pi_j`` shrunk toward its mean over checkpoints (strength
``shrinkage``, a Gaussian log-prior ``-shrinkage / 2 * sum (x_j - mean x)^2``).

Given a cell's own ``(n, c)``, the posterior expected pass@k is
``E[1 - (1 - p)^k | n, c]`` under the model; :func:`fill_pooled_pass_at_k` keeps the
unbiased estimator where ``k <= n`` and uses that posterior where ``k > n``.  Cells a
checkpoint did not sample (``observed`` False) take no part in the fit or the means.
:func:`pooled_benchmark_pass_at_k` averages a checkpoint's cells, then takes the factor by
which pass@k extrapolates beyond the checkpoint's own unbiased pass@k0 from a curve fitted
across the ladder (:func:`smooth_extrapolation`): the model's factor for one checkpoint
rests on its own few successes.
:func:`resampled_pooled_pass_at_k` refits the model on bootstrap resamples of problems,
optionally redrawing every cell's count from its posterior (hierarchical), in worker
processes.

Memory: the fit holds arrays of ``checkpoints x problems x nodes`` elements, evaluated
in blocks of checkpoints (about :data:`_BLOCK_ELEMENTS` elements each).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from ._seeding import child_seed
from .estimator import pass_at_k

__all__ = [
    "PooledModel",
    "bootstrap_label",
    "fill_pooled_pass_at_k",
    "fit_pooled_model",
    "pooled_benchmark_pass_at_k",
    "resampled_pooled_pass_at_k",
    "smooth_extrapolation",
]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
#: a pooled bootstrap projected to take longer than this (seconds) is announced
_SLOW_BOOTSTRAP_S: Final = 60.0
#: Gauss-Hermite nodes over z per cell (adaptive: centred on each cell's mode).
NODES: Final = 12
_NEWTON_STEPS: Final = 200
#: prior standard deviation of the problem ease d_i
_EASE_SD: Final = 10.0
_BLOCK_ELEMENTS: Final = 2_000_000
#: fewest checkpoints sharing a ``k0`` whose extrapolation factors are smoothed together
SMOOTH_MIN_CHECKPOINTS: Final = 8
_GAUGE: Final = 10.0
# the level enters slope and spread as u = (theta - centre) / scale
_LEVEL_CENTRE: Final = -10.0
_LEVEL_SCALE: Final = 5.0
_COEF: Final = (-4.0, 4.0)
# Boxes on the parameters: level, log slope, log spread, logit of the out-of-reach mass, ease.
_THETA: Final = (-40.0, 20.0)
_LOG_G: Final = (-6.0, 8.0)
_LOG_S: Final = (-6.0, 3.0)
_LOGIT_PI: Final = (-12.0, 12.0)
_EASE: Final = (-200.0, 200.0)


@dataclass(frozen=True)
class PooledModel:
    """Fitted pooled model: per-checkpoint ``theta``, ``slope`` and ``spread`` (functions of
    ``theta``), ``out_of_reach``; per-problem ``ease``."""

    theta: FloatArray
    slope: FloatArray
    spread: FloatArray
    out_of_reach: FloatArray
    ease: FloatArray
    shrinkage: float
    log_likelihood: float
    converged: bool
    iterations: int
    params: FloatArray  # unconstrained vector (warm starts)

    def posterior_pass_at_k(self, num_samples: npt.ArrayLike, num_correct: npt.ArrayLike,
                            k: npt.ArrayLike) -> FloatArray:
        """``E[1 - (1 - p_ij)^k | n_ij, c_ij]`` per cell and k: shape ``(J, I, K)``."""
        n, c = _matrices(num_samples, num_correct)
        ks = np.atleast_1d(np.asarray(k, dtype=np.float64))
        out = np.empty((*n.shape, ks.size))
        e = _expand(self.params, n.shape[0])
        for rows in _blocks(*n.shape):
            cell = _cells(e, n[rows], c[rows], rows, n.shape[1])
            # (1 - wz) * sum_q r_q * (1 - (1 - p_q)^k)
            for j, kv in enumerate(ks):
                out[rows, :, j] = (1.0 - cell.zero_post) * np.einsum(
                    "jiq,jiq->ji", cell.resp, -np.expm1(kv * cell.log1mp))
        return np.clip(out, 0.0, 1.0)  # the node weights sum to 1 up to rounding

    def draw_correct(self, num_samples: npt.ArrayLike, num_correct: npt.ArrayLike,
                     rng: np.random.Generator) -> npt.NDArray[np.int64]:
        """Correct counts redrawn given each cell's samples, ``(J, I)``: ``p_ij`` drawn from
        the cell's posterior under the model (out of reach with its posterior probability,
        else one of its quadrature nodes with its posterior weight), then
        ``c ~ Binomial(n_ij, p_ij)``.  The resample of a hierarchical bootstrap."""
        n, c = _matrices(num_samples, num_correct)
        p = np.zeros(n.shape)
        e = _expand(self.params, n.shape[0])
        for rows in _blocks(*n.shape):
            cell = _cells(e, n[rows], c[rows], rows, n.shape[1])
            node = (np.cumsum(cell.resp, axis=-1) < rng.random(cell.resp.shape[:-1])[..., None]).sum(axis=-1)
            node = np.minimum(node, NODES - 1)[..., None]
            reach = rng.random(node.shape[:-1]) >= cell.zero_post
            p[rows] = np.where(reach, -np.expm1(np.take_along_axis(cell.log1mp, node, axis=-1)[..., 0]), 0.0)
        return rng.binomial(n.astype(np.int64), p).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        J = self.theta.size
        return {
            "kind": "pooled",
            "theta": self.theta.tolist(),
            "slope": self.slope.tolist(),
            "spread": self.spread.tolist(),
            "out_of_reach": self.out_of_reach.tolist(),
            "ease": self.ease.tolist(),
            # log slope and log spread = coefficients . (1, u, u^2), u = (theta + 10) / 5
            "slope_coefficients": self.params[2 * J:2 * J + 3].tolist(),
            "spread_coefficients": self.params[2 * J + 3:2 * J + 6].tolist(),
            "shrinkage": self.shrinkage,
            "log_likelihood": self.log_likelihood,
            "converged": self.converged,
            "iterations": self.iterations,
        }


def _matrices(num_samples: npt.ArrayLike, num_correct: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    n = np.asarray(num_samples, dtype=np.float64)
    c = np.asarray(num_correct, dtype=np.float64)
    if n.ndim != 2 or n.shape != c.shape:
        raise ValueError(f"num_samples and num_correct must be (checkpoints, problems) matrices "
                         f"of one shape, got {n.shape} and {c.shape}")
    if (n < 0).any() or (c < 0).any() or (c > n).any():
        raise ValueError("need 0 <= num_correct <= num_samples in every cell")
    return n, c


def _blocks(num_ckpts: int, num_problems: int) -> list[slice]:
    step = max(1, _BLOCK_ELEMENTS // max(1, num_problems * NODES))
    return [slice(a, min(a + step, num_ckpts)) for a in range(0, num_ckpts, step)]


_X, _W = np.polynomial.hermite_e.hermegauss(NODES)
_LOG_W: Final = np.log(_W / _W.sum())


@dataclass
class _Cells:
    log_lik: FloatArray      # (j, I) log P(c | n) of each cell (binomial coefficient left out)
    resp: FloatArray         # (j, I, Q) P(node q | c, reachable)
    zero_post: FloatArray    # (j, I) P(out of reach | c)
    log1mp: FloatArray       # (j, I, Q) log(1 - p) at each node
    score: FloatArray        # (j, I, Q) d log_lik / d eta at each node
    nodes: FloatArray        # (j, I, Q) the cell's quadrature nodes over z


def _split(t: FloatArray, num_ckpts: int) -> tuple[FloatArray, ...]:
    """Expanded parameters: per checkpoint level, log slope, log spread, logit out-of-reach;
    per problem ease."""
    J = num_ckpts
    return t[:J], t[J:2 * J], t[2 * J:3 * J], t[3 * J:4 * J], t[4 * J:]


def _level(theta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Powers ``u^0, u^1, u^2`` of the standardised level and their derivatives, ``(J, 3)``."""
    u = (theta - _LEVEL_CENTRE) / _LEVEL_SCALE
    powers = np.stack([np.ones_like(u), u, u * u], axis=1)
    slopes = np.stack([np.zeros_like(u), np.ones_like(u), 2.0 * u], axis=1) / _LEVEL_SCALE
    return powers, slopes


def _expand(t: FloatArray, num_ckpts: int) -> FloatArray:
    """Compact parameters ``[theta (J), logit pi (J), a (3), b (3), ease (I)]`` -> expanded,
    with ``log g_j = a . (1, u_j, u_j^2)`` and ``log s_j = b . (1, u_j, u_j^2)``."""
    J = num_ckpts
    theta, logit_pi, a, b, ease = t[:J], t[J:2 * J], t[2 * J:2 * J + 3], t[2 * J + 3:2 * J + 6], t[2 * J + 6:]
    powers, _ = _level(theta)
    log_g = np.clip(powers @ a, *_LOG_G)
    log_s = np.clip(powers @ b, *_LOG_S)
    return np.concatenate([theta, log_g, log_s, logit_pi, ease])


def _nodes(mu: FloatArray, spread: FloatArray, n: FloatArray,
           c: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Adaptive Gauss-Hermite nodes over z for each cell, and their log weights.

    The integrand ``phi(z) * P(c | n, sigmoid(mu + s z))`` is log-concave in z; its mode
    ``z*`` (bracketed Newton steps) and curvature give the change of variables
    ``z = z* + tau x``, so that a cell with many samples (a sharp likelihood) is integrated
    as accurately as one with few.  Nodes are held fixed while differentiating: the
    identity ``int f(z) dz = int f(z* + tau x) tau dx`` holds for any parameters.
    """
    s = spread[:, None]
    # The mode solves h'(z) = s (c - n p(z)) - z = 0 with h' decreasing.  With z_a the z at
    # which p = (c + 1/2) / (n + 1), |c - n p(z_a)| <= 1/2, so the root lies within
    # [min(0, z_a) - s/2 - 1, max(0, z_a) + s/2 + 1]: bracketed Newton steps from there
    # (a step leaving the bracket bisects it; a cell at its root stays put).
    z_a = (special.logit((c + 0.5) / (n + 1.0)) - mu) / s
    lo = np.maximum(s * (c - n) - 1.0, np.minimum(0.0, z_a) - 0.5 * s - 1.0)
    hi = np.minimum(s * c + 1.0, np.maximum(0.0, z_a) + 0.5 * s + 1.0)
    z = np.clip(np.zeros_like(mu), lo, hi)
    for _ in range(_NEWTON_STEPS):
        p = special.expit(mu + s * z)
        grad = s * (c - n * p) - z
        curv = s * s * n * p * (1.0 - p) + 1.0
        lo = np.where(grad > 0, z, lo)
        hi = np.where(grad < 0, z, hi)
        step = z + grad / curv
        inside = (step >= lo) & (step <= hi)
        z_new = np.where(grad == 0, z, np.where(inside, step, 0.5 * (lo + hi)))
        moved = float(np.abs(z_new - z).max(initial=0.0))
        z = z_new
        if moved < 1e-10:
            break
    p = special.expit(mu + s * z)
    tau = 1.0 / np.sqrt(s * s * n * p * (1.0 - p) + 1.0)
    nodes = z[..., None] + tau[..., None] * _X
    log_w = _LOG_W + np.log(tau)[..., None] + 0.5 * (_X * _X - nodes * nodes)
    return nodes, log_w


def _cells(e: FloatArray, n: FloatArray, c: FloatArray, rows: slice, num_problems: int) -> _Cells:
    """Per-cell quantities for the checkpoints ``rows``; ``e`` the expanded parameters."""
    J = (e.size - num_problems) // 4
    theta, log_g, log_s, logit_pi, ease = _split(e, J)
    mu = theta[rows, None] + np.exp(log_g[rows])[:, None] * ease[None, :]
    spread = np.exp(log_s[rows])
    nodes, log_w = _nodes(mu, spread, n, c)
    eta = mu[..., None] + spread[:, None, None] * nodes
    logp = -np.logaddexp(0.0, -eta)
    log1mp = -np.logaddexp(0.0, eta)
    ll = c[..., None] * logp + (n - c)[..., None] * log1mp + log_w
    reach = special.logsumexp(ll, axis=-1)
    resp = np.exp(ll - reach[..., None])
    log_pi = -np.logaddexp(0.0, -logit_pi[rows])[:, None]
    log_not = -np.logaddexp(0.0, logit_pi[rows])[:, None]
    zero = np.where(c == 0, log_pi, -np.inf)
    total = np.logaddexp(zero, log_not + reach)
    zero_post = np.exp(zero - total)
    score = ((1.0 - zero_post)[..., None] * resp) * (c[..., None] - n[..., None] * np.exp(logp))
    return _Cells(total, resp, zero_post, log1mp, score, nodes)


def _objective(t: FloatArray, n: FloatArray, c: FloatArray, mask: FloatArray,
               shrinkage: float) -> tuple[float, FloatArray]:
    """Negative log posterior (up to constants) and its gradient, in compact parameters."""
    J, I = n.shape
    e = _expand(t, J)
    _, log_g, log_s, logit_pi, ease = _split(e, J)
    g = np.exp(log_g)
    grad_e = np.zeros_like(e)
    g_theta, g_log_g, g_log_s, g_pi, g_ease = _split(grad_e, J)
    value = 0.0
    for rows in _blocks(J, I):
        cell = _cells(e, n[rows], c[rows], rows, I)
        m = mask[rows]
        value -= float((m * np.where(m > 0, cell.log_lik, 0.0)).sum())
        s_eta = (m[..., None] * cell.score)          # (j, I, Q)
        per_cell = s_eta.sum(axis=-1)                # d / d (theta_j + g_j d_i)
        g_theta[rows] -= per_cell.sum(axis=1)
        g_log_g[rows] -= (per_cell * ease[None, :]).sum(axis=1) * g[rows]
        g_log_s[rows] -= (s_eta * cell.nodes).sum(axis=(1, 2)) * np.exp(log_s[rows])
        g_ease -= (per_cell * g[rows, None]).sum(axis=0)
        pi = special.expit(logit_pi[rows])
        g_pi[rows] -= (m * (cell.zero_post - pi[:, None])).sum(axis=1)
    value += 0.5 * float((ease ** 2).sum()) / _EASE_SD ** 2
    g_ease += ease / _EASE_SD ** 2
    # gauge: the mean ease is not identified by the data
    value += 0.5 * _GAUGE * I * float(ease.mean() ** 2)
    g_ease += _GAUGE * ease.mean()
    dev = logit_pi - logit_pi.mean()
    value += 0.5 * shrinkage * float((dev ** 2).sum())
    g_pi += shrinkage * dev
    # chain rule to the compact parameters (a clipped log slope or spread passes no gradient)
    theta = t[:J]
    powers, slopes = _level(theta)
    a, b = t[2 * J:2 * J + 3], t[2 * J + 3:2 * J + 6]
    g_log_g = np.where((powers @ a > _LOG_G[0]) & (powers @ a < _LOG_G[1]), g_log_g, 0.0)
    g_log_s = np.where((powers @ b > _LOG_S[0]) & (powers @ b < _LOG_S[1]), g_log_s, 0.0)
    grad = np.concatenate([g_theta + g_log_g * (slopes @ a) + g_log_s * (slopes @ b), g_pi,
                           powers.T @ g_log_g, powers.T @ g_log_s, g_ease])
    return value, grad


def _start(n: FloatArray, c: FloatArray, mask: FloatArray) -> FloatArray:
    J, I = n.shape
    rate = ((mask * c).sum(axis=1) + 0.5) / ((mask * n).sum(axis=1) + 1.0)
    return np.concatenate([special.logit(rate), np.full(J, -2.0), np.zeros(3),
                           [-0.5, 0.0, 0.0], np.zeros(I)])


def _bounds(J: int, I: int) -> list[tuple[float, float]]:
    # a_0 = 0: the scale of the slope is the scale of the ease (a gauge)
    return ([_THETA] * J + [_LOGIT_PI] * J + [(0.0, 0.0)] + [_COEF] * 2 + [_COEF] * 3
            + [_EASE] * I)


def fit_pooled_model(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    *,
    observed: npt.ArrayLike | None = None,
    problem_weights: npt.ArrayLike | None = None,
    shrinkage: float = 1.0,
    start: PooledModel | None = None,
    max_iter: int = 20_000,
) -> PooledModel:
    """Fit the pooled model to ``(checkpoints, problems)`` matrices of counts.

    ``observed`` marks the cells a checkpoint sampled (default: ``num_samples > 0``);
    ``problem_weights`` are multiplicities of the problems (a bootstrap resample);
    ``start`` warm-starts from an earlier fit of the same shape.
    """
    n, c = _matrices(num_samples, num_correct)
    J, I = n.shape
    obs = (n > 0) if observed is None else np.asarray(observed, dtype=bool)
    if obs.shape != n.shape:
        raise ValueError(f"observed must have shape {n.shape}, got {obs.shape}")
    if shrinkage < 0 or not np.isfinite(shrinkage):
        raise ValueError(f"shrinkage must be a finite number >= 0, got {shrinkage!r}")
    w = np.ones(I) if problem_weights is None else np.asarray(problem_weights, dtype=np.float64)
    mask = obs * w[None, :]
    t0 = _start(n, c, mask) if start is None else start.params.copy()
    res = optimize.minimize(_objective, t0, args=(n, c, mask, shrinkage), jac=True,
                            method="L-BFGS-B", bounds=_bounds(J, I),
                            options={"maxiter": max_iter, "maxfun": 2 * max_iter})
    t = np.asarray(res.x, dtype=np.float64)
    e = _expand(t, J)
    theta, log_g, log_s, logit_pi, ease = _split(e, J)
    log_binom = (mask * np.where(obs, special.gammaln(n + 1) - special.gammaln(c + 1)
                                 - special.gammaln(n - c + 1), 0.0)).sum()
    loglik = sum(float((mask[rows] * np.where(mask[rows] > 0,
                                              _cells(e, n[rows], c[rows], rows, I).log_lik, 0.0)).sum())
                 for rows in _blocks(J, I))
    return PooledModel(theta=theta, slope=np.exp(log_g), spread=np.exp(log_s),
                       out_of_reach=special.expit(logit_pi), ease=ease, shrinkage=shrinkage,
                       log_likelihood=float(loglik + log_binom), converged=bool(res.success),
                       iterations=int(res.nit), params=t)


def fill_pooled_pass_at_k(model: PooledModel, num_samples: npt.ArrayLike,
                          num_correct: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray:
    """Per cell and k, shape ``(J, I, K)``: unbiased where ``k <= n``, posterior where ``k > n``."""
    n, c = _matrices(num_samples, num_correct)
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    J, I = n.shape
    out = pass_at_k(n.reshape(-1).astype(np.int64), c.reshape(-1).astype(np.int64),
                    ks).reshape(J, I, ks.size)
    short = np.isnan(out)
    if short.any():
        post = model.posterior_pass_at_k(n, c, ks)
        out[short] = post[short]
    return out


def pooled_benchmark_pass_at_k(model: PooledModel, num_samples: npt.ArrayLike,
                               num_correct: npt.ArrayLike, observed: npt.ArrayLike,
                               k: npt.ArrayLike,
                               problem_weights: npt.ArrayLike | None = None, *,
                               smooth: bool = True) -> FloatArray:
    """Benchmark pass@k per checkpoint and k, ``(J, K)``: the mean over each checkpoint's
    observed problems (weighted by ``problem_weights``) of :func:`fill_pooled_pass_at_k`,
    then (``smooth``) each extrapolation factor smoothed across the ladder
    (:func:`smooth_extrapolation`)."""
    obs = np.asarray(observed, dtype=bool)
    filled = fill_pooled_pass_at_k(model, num_samples, num_correct, k)
    w = np.ones(obs.shape[1]) if problem_weights is None else np.asarray(problem_weights, float)
    m = obs * w[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.einsum("ji,jik->jk", m, np.nan_to_num(filled)) / m.sum(axis=1)[:, None]
    if smooth:
        out = smooth_extrapolation(out, num_samples, num_correct, obs, k, problem_weights)
    return out


def smooth_extrapolation(values: FloatArray, num_samples: npt.ArrayLike,
                         num_correct: npt.ArrayLike, observed: npt.ArrayLike, k: npt.ArrayLike,
                         problem_weights: npt.ArrayLike | None = None) -> FloatArray:
    """Benchmark pass@k ``values`` ``(J, K)`` with each extrapolation factor smoothed across
    the checkpoints.

    A checkpoint's anchor is its unbiased pass@k0, ``k0`` its fewest samples of a problem
    (the largest k that every problem covers).  Beyond ``k0`` a value is the anchor times an
    extrapolation factor, ``x = log(-log pass@k0)``, ``log(-log pass@k) = x + r``.  The
    model's ``r`` of one checkpoint rests on its own few successes; it is replaced by a
    quadratic in ``x`` fitted by least squares to the ``r`` of every checkpoint with the
    same ``k0`` (at least :data:`SMOOTH_MIN_CHECKPOINTS` of them, anchor strictly between
    0 and 1), so that each checkpoint keeps its own measured pass@k0 and takes the way
    pass@k grows beyond it from the checkpoints at a similar level.  Values at ``k <= k0``,
    and those of smaller groups, are returned as they are.  A smoothed value is never below
    the checkpoint's pass@k0 (the curve is capped at ``r = 0``), each checkpoint's values stay
    non-decreasing in k, and a checkpoint with a success keeps a value strictly between 0
    and 1.
    """
    n, c = _matrices(num_samples, num_correct)
    obs = np.asarray(observed, dtype=bool)
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    w = np.ones(obs.shape[1]) if problem_weights is None else np.asarray(problem_weights, float)
    m = obs * w[None, :]
    has = m.sum(axis=1) > 0
    k0 = np.where(obs, n, np.inf).min(axis=1)
    anchor = np.full(k0.shape, np.nan)
    for base in np.unique(k0[has]):
        rows = np.flatnonzero(has & (k0 == base))
        vals = pass_at_k(n[rows].reshape(-1).astype(np.int64), c[rows].reshape(-1).astype(np.int64),
                         [int(base)]).reshape(rows.size, -1)
        anchor[rows] = (m[rows] * np.nan_to_num(vals)).sum(axis=1) / m[rows].sum(axis=1)
    out = values.copy()
    inside = (anchor > 0) & (anchor < 1)
    x = np.log(-np.log(np.where(inside, anchor, 0.5)))
    for col, kv in enumerate(ks):
        v = values[:, col]
        ok = inside & (kv > k0) & (v > 0) & (v < 1)
        for base in np.unique(k0[ok]):
            rows = np.flatnonzero(ok & (k0 == base))
            if rows.size < SMOOTH_MIN_CHECKPOINTS or np.ptp(x[rows]) == 0:
                continue
            r = np.log(-np.log(v[rows])) - x[rows]
            curve = np.polynomial.Polynomial.fit(x[rows], r, 2)
            smoothed = np.exp(-np.exp(x[rows] + np.minimum(curve(x[rows]), 0.0)))
            out[rows, col] = np.where((smoothed > 0) & (smoothed < 1), smoothed, v[rows])
    order = np.argsort(ks, kind="stable")
    finite = np.isfinite(out).all(axis=1)
    out[np.ix_(finite, order)] = np.maximum.accumulate(out[np.ix_(finite, order)], axis=1)
    return out


def _refit_one(job: tuple[FloatArray, np.random.SeedSequence | None], *, model: PooledModel,
               n: FloatArray, c: FloatArray, observed: npt.ArrayLike,
               ks: npt.NDArray[np.int64]) -> FloatArray:
    """One resample: redraw the counts (hierarchical, when seeded), refit, pass@k ``(J, K)``."""
    w, seed = job
    cb = c if seed is None else model.draw_correct(n, c, np.random.default_rng(seed))
    refit = fit_pooled_model(n, cb, observed=observed, problem_weights=w,
                             shrinkage=model.shrinkage, start=model)
    return pooled_benchmark_pass_at_k(refit, n, cb, observed, ks, problem_weights=w)


def resampled_pooled_pass_at_k(model: PooledModel, num_samples: npt.ArrayLike,
                               num_correct: npt.ArrayLike, observed: npt.ArrayLike,
                               k: npt.ArrayLike, weights: FloatArray,
                               progress: str | None = None, *, hierarchical: bool = False,
                               seed: int | np.random.SeedSequence = 0,
                               n_jobs: int | None = None) -> FloatArray:
    """Benchmark pass@k of each bootstrap resample of problems, refitting the pooled model
    (warm-started from ``model``): shape ``(B, J, K)``.  ``weights`` (B, I) are problem
    multiplicities, shared by all checkpoints (a paired bootstrap).  ``hierarchical``: each
    resample also redraws every cell's correct count (:meth:`PooledModel.draw_correct`;
    resample ``b`` draws from child ``b`` of ``seed``), so the interval carries the
    binomial noise of each cell's samples.  ``n_jobs`` worker processes (``None``: up to
    2); the result does not depend on it.  ``progress``: the label of a progress bar over
    resamples (shown on a terminal)."""
    from concurrent.futures import ProcessPoolExecutor
    from contextlib import nullcontext
    from functools import partial

    from tqdm.auto import tqdm

    n, c = _matrices(num_samples, num_correct)
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    B = weights.shape[0]
    if n_jobs is not None and n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    workers = min(B, 2 if n_jobs is None else n_jobs)
    seeds = [child_seed(seed, b) if hierarchical else None for b in range(B)]
    one = partial(_refit_one, model=model, n=n, c=c, observed=observed, ks=ks)
    jobs = list(zip(weights, seeds))
    bar = partial(tqdm, total=B, desc=progress, unit="resample", leave=False,
                  disable=None if progress else True)
    out = np.empty((B, n.shape[0], ks.size))
    started = time.perf_counter()
    with (ProcessPoolExecutor(max_workers=workers) if workers > 1 else nullcontext()) as pool:
        results = pool.map(one, jobs) if pool is not None else map(one, jobs)
        for b, res in enumerate(bar(results)):
            out[b] = res
            if b == 0:
                _announce(progress, time.perf_counter() - started, B, workers)
    return out


def bootstrap_label(task: str) -> str:
    """The progress label of a task's pooled bootstrap."""
    return f"pooled bootstrap ({task})" if task else "pooled bootstrap"


def _announce(progress: str | None, first: float, num_resamples: int, workers: int) -> None:
    """Warn when the bootstrap, projected from its first resample, runs past a minute."""
    projected = first * num_resamples / workers
    if progress and projected > _SLOW_BOOTSTRAP_S:
        span = (f"{projected:.0f} seconds" if projected < 120 else
                f"{projected / 60:.0f} minutes")
        log.warning("%s: %d resamples, each refitting the pooled model (%d worker process%s): "
                    "about %s (fewer resamples: --bootstrap; none: --ci 0; more workers: --jobs)",
                    progress, num_resamples, workers, "" if workers == 1 else "es", span)

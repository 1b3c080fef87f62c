"""A model of per-problem success probabilities: pass@k for any k, including k > n.

Pure numerics, no I/O.  Each problem ``i`` of a checkpoint has an unknown success
probability ``p_i``; the model says ``p_i`` is drawn from a mixture of

* a point mass at ``p = 0`` with weight ``zero_mass`` (problems the checkpoint never solves), and
* Beta(``alpha_j``, ``beta_j``) components with weights ``weights_j`` (summing to 1 - zero_mass),

so that ``c_i`` given ``n_i`` is beta-binomial (``scipy.stats.betabinom``) per component.
Three kinds are fitted by maximum likelihood to all problems' ``(n_i, c_i)``, ``c_i = 0``
included:

* ``"beta_binomial"`` -- one Beta component (2 parameters);
* ``"zero_inflated"`` -- one Beta component plus the point mass at zero (3 parameters);
* ``"mixture"`` -- two Beta components (5 parameters).

:func:`select_model` picks among them by held-out (cross-validated over problems) log
likelihood.  Under the model, the benchmark pass@k is ``E[1 - (1 - p)^k]`` (closed form:
``1 - B(a, b + k) / B(a, b)`` per Beta component); given a problem's own ``(n, c)`` its
posterior is Beta(a + c, b + n - c) per component, which gives :meth:`SuccessModel.posterior_pass_at_k`.
:func:`fill_pass_at_k` combines both: the unbiased estimator where ``k <= n_i`` and the
posterior predictive where ``k > n_i``, so every problem counts at every k.

:func:`thin_counts` draws a subsample of ``m`` of the ``n`` samples without replacement
(hypergeometric), which is exactly what drawing ``m`` samples would have given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

from .estimator import pass_at_k

__all__ = [
    "MODEL_KINDS",
    "ModelKind",
    "SuccessModel",
    "bootstrap_pass_at_k",
    "fill_pass_at_k",
    "fit_success_model",
    "held_out_log_likelihood",
    "select_model",
    "thin_counts",
]

ModelKind = Literal["beta_binomial", "zero_inflated", "mixture"]
MODEL_KINDS: Final[tuple[ModelKind, ...]] = ("beta_binomial", "zero_inflated", "mixture")
_NUM_PARAMS: Final = {"beta_binomial": 2, "zero_inflated": 3, "mixture": 5}
# Box on the unconstrained parameters: log alpha, log beta, logit of weights.  The upper
# bound of log beta allows mean success probabilities down to ~1e-9 (n up to ~1e8).
_LOG_A: Final = (-7.0, 7.0)
_LOG_B: Final = (-7.0, 21.0)
_LOGIT: Final = (-12.0, 12.0)


@dataclass(frozen=True)
class SuccessModel:
    """A fitted distribution of per-problem success probabilities (one checkpoint)."""

    kind: str
    weights: npt.NDArray[np.float64]
    alpha: npt.NDArray[np.float64]
    beta: npt.NDArray[np.float64]
    zero_mass: float
    log_likelihood: float
    num_problems: int
    converged: bool
    theta: npt.NDArray[np.float64]  # unconstrained parameters (warm starts)

    def pass_at_k(self, k: int | npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Benchmark pass@k of a new problem drawn from the model: ``E[1 - (1 - p)^k]``."""
        ks = np.atleast_1d(np.asarray(k, dtype=np.float64))
        a, b = self.alpha[:, None], self.beta[:, None]
        ratio = np.exp(special.betaln(a, b + ks[None, :]) - special.betaln(a, b))
        out: npt.NDArray[np.float64] = (self.weights[:, None] * (1.0 - ratio)).sum(axis=0)
        return out[0] if np.ndim(k) == 0 else out

    def posterior_pass_at_k(
        self, num_samples: npt.ArrayLike, num_correct: npt.ArrayLike, k: int | npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        """Per-problem ``E[1 - (1 - p)^k | n, c]`` under the model; shape ``(P,)`` or ``(P, K)``."""
        n = np.asarray(num_samples, dtype=np.float64).reshape(-1)
        c = np.asarray(num_correct, dtype=np.float64).reshape(-1)
        ks = np.atleast_1d(np.asarray(k, dtype=np.float64))
        post = self._posterior_weights(n, c)  # (P, J) over Beta components
        a = self.alpha[None, :] + c[:, None]
        b = self.beta[None, :] + (n - c)[:, None]
        base = special.betaln(a, b)
        out = np.zeros((n.size, ks.size))
        for j in range(self.alpha.size):
            log_ratio = special.betaln(a[:, j:j + 1], b[:, j:j + 1] + ks[None, :]) - base[:, j:j + 1]
            out += post[:, j:j + 1] * -np.expm1(log_ratio)
        return out[:, 0] if np.ndim(k) == 0 else out

    def sample_posterior(self, num_samples: npt.ArrayLike, num_correct: npt.ArrayLike,
                         size: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """``(size, P)`` draws of each problem's success probability from its posterior."""
        n = np.asarray(num_samples, dtype=np.float64).reshape(-1)
        c = np.asarray(num_correct, dtype=np.float64).reshape(-1)
        post = self._posterior_weights(n, c)  # (P, J); the rest is the point mass at zero
        u = rng.random((size, n.size))
        cum = np.cumsum(post, axis=1)  # component j where u < cum_j; none: p = 0
        comp = (u[:, :, None] >= cum[None, :, :]).sum(axis=2)  # (size, P) in 0..J
        out = np.zeros((size, n.size))
        for j in range(self.alpha.size):
            pick = comp == j
            if pick.any():
                a = np.broadcast_to(self.alpha[j] + c, (size, n.size))[pick]
                b = np.broadcast_to(self.beta[j] + n - c, (size, n.size))[pick]
                out[pick] = rng.beta(a, b)
        return out

    def _posterior_weights(
        self, n: npt.NDArray[np.float64], c: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """P(component j | n, c); the point mass at zero takes the rest (only where c = 0)."""
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights)
            log_zero = np.log(self.zero_mass) if self.zero_mass > 0 else -np.inf
        terms = log_w[None, :] + stats.betabinom.logpmf(
            c[:, None], n[:, None], self.alpha[None, :], self.beta[None, :])
        zero = np.where(c == 0, log_zero, -np.inf)
        norm = np.logaddexp(special.logsumexp(terms, axis=1), zero)
        out: npt.NDArray[np.float64] = np.exp(terms - norm[:, None])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "weights": self.weights.tolist(),
            "alpha": self.alpha.tolist(),
            "beta": self.beta.tolist(),
            "zero_mass": self.zero_mass,
            "log_likelihood": self.log_likelihood,
            "num_problems": self.num_problems,
            "converged": self.converged,
        }


def _unpack(kind: str, t: npt.NDArray[np.float64]) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Unconstrained parameters -> (weights, alpha, beta, zero_mass)."""
    if kind == "beta_binomial":
        return np.ones(1), np.exp(t[:1]), np.exp(t[1:2]), 0.0
    if kind == "zero_inflated":
        z = float(special.expit(t[2]))
        return np.array([1.0 - z]), np.exp(t[:1]), np.exp(t[1:2]), z
    if kind == "mixture":
        w = float(special.expit(t[4]))
        return np.array([w, 1.0 - w]), np.exp(t[[0, 2]]), np.exp(t[[1, 3]]), 0.0
    raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {kind!r}")


def _bounds(kind: str) -> list[tuple[float, float]]:
    if kind == "beta_binomial":
        return [_LOG_A, _LOG_B]
    if kind == "zero_inflated":
        return [_LOG_A, _LOG_B, _LOGIT]
    return [_LOG_A, _LOG_B, _LOG_A, _LOG_B, _LOGIT]


@dataclass(frozen=True)
class _Pairs:
    """Distinct (n, c) pairs of a checkpoint, with what the likelihood reuses."""

    n: npt.NDArray[np.int64]
    c: npt.NDArray[np.int64]
    inverse: npt.NDArray[np.intp]  # problem -> pair
    log_choose: npt.NDArray[np.float64]  # (P, 1)

    @classmethod
    def of(cls, n: npt.NDArray[np.int64], c: npt.NDArray[np.int64]) -> _Pairs:
        pairs, inverse = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True)
        un, uc = pairs[:, 0], pairs[:, 1]
        nf, cf = un.astype(np.float64), uc.astype(np.float64)
        log_choose = special.gammaln(nf + 1) - special.gammaln(cf + 1) - special.gammaln(nf - cf + 1)
        return cls(un, uc, inverse.reshape(-1), log_choose[:, None])

    def weights(self, per_problem: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64]:
        w = np.ones(self.inverse.size) if per_problem is None else per_problem
        return np.bincount(self.inverse, weights=w, minlength=self.n.size).astype(np.float64)


def _log_lik_and_grad(kind: str, t: npt.NDArray[np.float64], d: _Pairs) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """log P(c | n) per pair and its gradient in ``t``, shape (pairs, len(t)).

    The beta-binomial log pmf is the closed form ``scipy.stats.betabinom.logpmf`` computes
    (log binomial coefficient + ``betaln``), written out because the fit evaluates it
    thousands of times and the distribution machinery would dominate.
    """
    w, a, b, z = _unpack(kind, t)
    nf = d.n.astype(np.float64)[:, None]
    cf = d.c.astype(np.float64)[:, None]
    with np.errstate(divide="ignore"):
        comp = (np.log(w)[None, :] + d.log_choose + special.betaln(cf + a, nf - cf + b)
                - special.betaln(a, b)[None, :])  # (P, J)
        zero = np.where(d.c == 0, np.log(z), -np.inf) if z > 0 else np.full(d.n.size, -np.inf)
    total = np.logaddexp(special.logsumexp(comp, axis=1), zero)
    resp = np.exp(comp - total[:, None])  # P(component j | c)
    common = special.digamma(a + b) - special.digamma(nf + a + b)
    d_log_a = resp * a * (special.digamma(cf + a) - special.digamma(a) + common)
    d_log_b = resp * b * (special.digamma(nf - cf + b) - special.digamma(b) + common)
    grad = np.empty((d.n.size, t.size))
    if kind == "mixture":
        grad[:, 0], grad[:, 1], grad[:, 2], grad[:, 3] = d_log_a[:, 0], d_log_b[:, 0], d_log_a[:, 1], d_log_b[:, 1]
        grad[:, 4] = resp[:, 0] * (1.0 - w[0]) - resp[:, 1] * w[0]
    else:
        grad[:, 0], grad[:, 1] = d_log_a[:, 0], d_log_b[:, 0]
        if kind == "zero_inflated":
            grad[:, 2] = (1.0 - resp[:, 0]) * (1.0 - z) - resp[:, 0] * z
    return total, grad


def _log_lik_terms(kind: str, t: npt.NDArray[np.float64], n: npt.NDArray[np.int64],
                   c: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """log P(c_i | n_i) under the model, per problem."""
    d = _Pairs.of(n, c)
    return _log_lik_and_grad(kind, t, d)[0][d.inverse]


def _starts(kind: str, n: npt.NDArray[np.int64], c: npt.NDArray[np.int64],
            w: npt.NDArray[np.float64]) -> list[npt.NDArray[np.float64]]:
    """Deterministic starting points around the pooled success rate."""
    rate = float(np.clip((w * c).sum() / max((w * n).sum(), 1.0), 1e-8, 1 - 1e-8))
    starts = []
    for a in (0.05, 0.3, 1.5):
        b = a * (1.0 - rate) / rate
        t = [np.log(a), np.log(b)]
        if kind == "zero_inflated":
            t += [0.0 if (w * (c == 0)).sum() > 0.5 * w.sum() else -3.0]
        elif kind == "mixture":
            # a low-rate and a high-rate component
            lo, hi = rate / 10.0, min(10.0 * rate, 0.5)
            t = [np.log(a), np.log(a * (1 - lo) / lo), np.log(a), np.log(a * (1 - hi) / hi), 0.0]
        starts.append(np.clip(np.array(t, dtype=np.float64),
                              [lo_ for lo_, _ in _bounds(kind)], [hi_ for _, hi_ in _bounds(kind)]))
    return starts


def _as_counts(num_samples: npt.ArrayLike, num_correct: npt.ArrayLike) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    n = np.asarray(num_samples, dtype=np.int64).reshape(-1)
    c = np.asarray(num_correct, dtype=np.int64).reshape(-1)
    if n.shape != c.shape:
        raise ValueError(f"num_samples and num_correct must have the same shape, got {n.shape} and {c.shape}")
    if n.size == 0:
        raise ValueError("need at least one problem to fit a success model")
    if np.any(n < 1) or np.any(c < 0) or np.any(c > n):
        raise ValueError("need 0 <= num_correct <= num_samples and num_samples >= 1 for every problem")
    return n, c


def fit_success_model(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    kind: ModelKind = "beta_binomial",
    *,
    weights: npt.ArrayLike | None = None,
    start: npt.ArrayLike | None = None,
) -> SuccessModel:
    """Maximum-likelihood fit of ``kind`` to the problems' ``(n_i, c_i)``.

    ``weights`` (one per problem, e.g. bootstrap multiplicities) weight each problem's
    log likelihood.  ``start`` (a previous fit's ``theta``) replaces the default
    multi-start with one warm start.
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {kind!r}")
    n, c = _as_counts(num_samples, num_correct)
    w = None if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    return _fit_pairs(kind, _Pairs.of(n, c), w, start)


def _fit_pairs(kind: str, d: _Pairs, weights: npt.NDArray[np.float64] | None,
               start: npt.ArrayLike | None) -> SuccessModel:
    uw = d.weights(weights)

    def objective(t: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        terms, grad = _log_lik_and_grad(kind, t, d)
        return float(-(uw @ terms)), -(uw @ grad)

    bounds = _bounds(kind)
    starts = [np.asarray(start, dtype=np.float64)] if start is not None else _starts(kind, d.n, d.c, uw)
    best = None
    for t0 in starts:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = optimize.minimize(objective, t0, method="L-BFGS-B", jac=True, bounds=bounds)
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise ValueError("success model fit failed: no finite log likelihood")
    w, a, b, z = _unpack(kind, best.x)
    return SuccessModel(kind=kind, weights=w, alpha=a, beta=b, zero_mass=z,
                        log_likelihood=-float(best.fun), num_problems=int(uw.sum()),
                        converged=bool(best.success), theta=np.asarray(best.x, dtype=np.float64))


def held_out_log_likelihood(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    kind: ModelKind,
    *,
    folds: int = 5,
    seed: int = 0,
) -> float:
    """Sum over problems of log P(c_i | n_i) under the model fitted without ``i``'s fold."""
    n, c = _as_counts(num_samples, num_correct)
    folds = max(2, min(folds, n.size))
    fold = np.random.default_rng(seed).permutation(n.size) % folds
    start = fit_success_model(n, c, kind).theta  # each fold's fit starts from the full fit
    total = 0.0
    for f in range(folds):
        test = fold == f
        if test.all():
            continue
        model = fit_success_model(n[~test], c[~test], kind, start=start)
        total += float(_log_lik_terms(kind, model.theta, n[test], c[test]).sum())
    return total


def select_model(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    kinds: Sequence[ModelKind] = MODEL_KINDS,
    *,
    folds: int = 5,
    seed: int = 0,
) -> tuple[ModelKind, dict[ModelKind, float]]:
    """The kind with the highest held-out log likelihood (ties go to the simpler kind).

    Returns the kind and the held-out log likelihood of every candidate.
    """
    scores = {k: held_out_log_likelihood(num_samples, num_correct, k, folds=folds, seed=seed)
              for k in kinds}
    order = sorted(kinds, key=lambda k: (-round(scores[k], 6), _NUM_PARAMS[k]))
    return order[0], scores


def fill_pass_at_k(
    model: SuccessModel,
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    k: int | npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Per-problem pass@k: unbiased where ``k <= n_i``, the model's posterior where ``k > n_i``."""
    n, c = _as_counts(num_samples, num_correct)
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    out = pass_at_k(n, c, ks)
    short = np.isnan(out)
    if short.any():
        rows = np.flatnonzero(short.any(axis=1))
        post = model.posterior_pass_at_k(n[rows], c[rows], ks)
        block = out[rows]
        block[short[rows]] = post[short[rows]]
        out[rows] = block
    return out[:, 0] if np.ndim(k) == 0 else out


def bootstrap_pass_at_k(
    fitted: SuccessModel,
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    k: npt.ArrayLike,
    weights: npt.NDArray[np.float64],
    redrawn: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.float64]:
    """Benchmark pass@k of each bootstrap resample, refitting the model: shape ``(B, K)``.

    ``weights`` (B, P) are problem multiplicities; ``redrawn`` (B, P), if given, replaces
    the correct counts of each resample (hierarchical bootstrap).  Each refit starts from
    ``fitted``.  A resample without any success has pass@k 0.
    """
    n, c = _as_counts(num_samples, num_correct)
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    pairs = _Pairs.of(n, c) if redrawn is None else None
    out = np.empty((weights.shape[0], ks.size))
    for b in range(weights.shape[0]):
        w = weights[b]
        cb = c if redrawn is None else redrawn[b]
        if (w * cb).sum() == 0:
            out[b] = 0.0
            continue
        d = pairs if pairs is not None else _Pairs.of(n, cb)
        refit = _fit_pairs(fitted.kind, d, w, fitted.theta)
        used = w > 0
        out[b] = (w[used] @ fill_pass_at_k(refit, n[used], cb[used], ks)) / w.sum()
    return out


def thin_counts(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    m: int,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Keep ``m`` of each problem's ``n_i`` samples, drawn without replacement.

    The thinned count is hypergeometric(``n_i``, ``c_i``, ``m``): exactly the distribution
    of ``c`` had only ``m`` samples been drawn.  Problems with ``n_i <= m`` are kept whole.
    """
    n, c = _as_counts(num_samples, num_correct)
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    take = np.minimum(n, m)
    thinned = np.where(n > m, rng.hypergeometric(np.maximum(c, 0), n - c, take), c)
    return take.astype(np.int64), thinned.astype(np.int64)

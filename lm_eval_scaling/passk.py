"""The unbiased pass@k estimator (Chen et al. 2021), exact and vectorised.

Pure numerics, no I/O.  ``pass_at_k(n, c, k) = 1 - C(n-c, k) / C(n, k)``.

Algorithm (SPEC.md section 1).  Write ``R = C(n-c, k) / C(n, k)`` and ``L = log R <= 0``;
then ``pass@k = -expm1(L)``.  ``L`` is computed in one of two ways:

* **lgamma** -- ``L = lgamma(n-c+1) - lgamma(n-c-k+1) - lgamma(n+1) + lgamma(n-k+1)``.
  Fast and vectorised, but the four terms are of size ``n log n`` and cancel, so the
  absolute error of ``L`` is about ``eps * n log n``.  That error is harmless when
  ``R`` is small (pass@k near 1): the relative error of ``1 - R`` is
  ``|dL| * R / (1 - R)``.  We use it only where a conservative bound on that relative
  error is below ``1e-12``.
* **direct** -- the exact finite product written as a sum of ``m = min(k, c)``
  ``log1p`` terms, ``L = sum_{j<k} log1p(-c/(n-j)) = sum_{i<c} log1p(-k/(n-i))``.
  Every term carries relative error ~eps and all have the same sign, so ``L`` has
  relative error <= m * eps.  Where lgamma is not accurate enough ``|L|`` is small,
  and since ``|L| >= k c / n`` this forces ``m <= sqrt(n |L|)``: the direct sums are
  short (at most a few thousand terms for n = 1e7).

Both are evaluated on unique ``(n, c, k)`` triples only, in bounded-size chunks.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

__all__ = ["pass_at_k"]

_EPS: Final = np.finfo(np.float64).eps
# Relative error accepted from the lgamma route (well under the 1e-9 contract).
_LGAMMA_TOL: Final = 1e-12
# Safety factor on the ulp-level error of each gammaln value.
_LGAMMA_ULPS: Final = 16.0
# Maximum number of log1p terms held in memory at once by the direct route.
_CHUNK_TERMS: Final = 2_000_000


def pass_at_k(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    k: int | npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Unbiased per-problem pass@k.

    Parameters
    ----------
    num_samples, num_correct:
        Integer arrays over problems (``n_i`` samples drawn, ``c_i`` correct).
        Scalars are treated as one problem.
    k:
        An int (result shape ``(P,)``) or a 1-d array of ints (result ``(P, len(k))``).

    Returns
    -------
    numpy.ndarray of float64.  ``NaN`` where ``k > n_i`` (undefined: never 1.0),
    ``0`` where ``c_i = 0``, ``1`` where ``n_i - c_i < k``.

    Raises
    ------
    ValueError
        On negative counts, ``c > n``, ``k < 1``, non-integer values or shape mismatch.
    """
    n = _as_int_array(num_samples, "num_samples")
    c = _as_int_array(num_correct, "num_correct")
    if n.shape != c.shape:
        raise ValueError(
            f"num_samples and num_correct must have the same shape, got {n.shape} and {c.shape}"
        )
    n = n.reshape(-1)
    c = c.reshape(-1)
    if np.any(n < 0):
        raise ValueError(f"num_samples must be >= 0, got {int(n[n < 0][0])}")
    if np.any(c < 0):
        raise ValueError(f"num_correct must be >= 0, got {int(c[c < 0][0])}")
    bad = c > n
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"num_correct must be <= num_samples, got num_correct={int(c[i])} > "
            f"num_samples={int(n[i])} at index {i}"
        )

    scalar_k = np.ndim(k) == 0
    ks = _as_int_array(k, "k").reshape(-1)
    if np.any(ks < 1):
        raise ValueError(f"k must be >= 1, got {int(ks[ks < 1][0])}")

    out = _pass_at_k_grid(n, c, ks)
    return out[:, 0] if scalar_k else out


def _as_int_array(x: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    arr = np.asarray(x)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        raise ValueError(f"{name} must be integers, got booleans")
    try:
        as_float = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}") from exc
    if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
        raise ValueError(f"{name} must be whole numbers, got non-integer values")
    return as_float.astype(np.int64)


def _pass_at_k_grid(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64], ks: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """pass@k for every (problem, k) pair; shape (P, K)."""
    P, K = n.size, ks.size
    out = np.empty((P, K), dtype=np.float64)
    if P == 0 or K == 0:
        return out
    # Deduplicate problems by (n, c): real benchmarks repeat them a lot.
    pairs = np.stack([n, c], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    un, uc = uniq[:, 0], uniq[:, 1]
    ukk = np.unique(ks)
    k_index = np.searchsorted(ukk, ks)

    N = np.broadcast_to(un[:, None], (un.size, ukk.size))
    C = np.broadcast_to(uc[:, None], (un.size, ukk.size))
    KK = np.broadcast_to(ukk[None, :], (un.size, ukk.size))
    res = np.full(N.shape, np.nan)
    undefined = KK > N
    zero = (C == 0) & ~undefined
    one = (N - C < KK) & ~undefined & ~zero
    res[zero] = 0.0
    res[one] = 1.0
    todo = ~(undefined | zero | one)
    if np.any(todo):
        res[todo] = _pass_general(N[todo], C[todo], KK[todo])
    out[:] = res[inverse.reshape(-1)][:, k_index]
    return out


def _pass_general(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64], k: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """pass@k where 1 <= c, k <= n - c (so 0 < pass < 1)."""
    nf, cf, kf = (x.astype(np.float64) for x in (n, c, k))
    g1 = gammaln(nf - cf + 1.0)
    g2 = gammaln(nf - cf - kf + 1.0)
    g3 = gammaln(nf + 1.0)
    g4 = gammaln(nf - kf + 1.0)
    log_r = (g1 - g3) - (g2 - g4)
    log_r = np.minimum(log_r, 0.0)
    # Absolute error bound of log_r, then relative error bound of 1 - R.
    abs_err = _LGAMMA_ULPS * _EPS * (np.abs(g1) + np.abs(g2) + np.abs(g3) + np.abs(g4) + 1.0)
    r = np.exp(log_r)
    one_minus_r = -np.expm1(log_r)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_err = abs_err * r / one_minus_r
    ok = np.isfinite(rel_err) & (rel_err < _LGAMMA_TOL)
    result = one_minus_r
    need = np.flatnonzero(~ok)
    if need.size:
        result[need] = -np.expm1(_log_ratio_direct(n[need], c[need], k[need]))
    return result


def _log_ratio_direct(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64], k: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """log C(n-c,k)/C(n,k) as an explicit sum of min(k, c) log1p terms (ragged, chunked)."""
    use_k = k <= c  # sum over j < k of log1p(-c/(n-j)); else over i < c of log1p(-k/(n-i))
    m = np.where(use_k, k, c)
    numer = np.where(use_k, c, k).astype(np.float64)
    out = np.empty(n.size, dtype=np.float64)
    # Process in chunks whose total number of terms stays bounded.
    order = np.arange(n.size)
    cum = np.cumsum(m)
    start = 0
    while start < n.size:
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + _CHUNK_TERMS, side="right"))
        stop = max(stop, start + 1)
        idx = order[start:stop]
        lengths = m[idx]
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        j = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(offsets, lengths)
        denom = np.repeat(n[idx], lengths) - j
        terms = np.log1p(-np.repeat(numer[idx], lengths) / denom)
        out[idx] = np.add.reduceat(terms, offsets)
        start = stop
    return out

"""The unbiased pass@k estimator (Chen et al. 2021), exact and vectorised.

Pure numerics, no I/O.  ``pass_at_k(n, c, k) = 1 - C(n-c, k) / C(n, k)``.

Algorithm (docs/formulas.md §1).  Write ``R = C(n-c, k) / C(n, k)`` and ``L = log R <= 0``;
then ``pass@k = -expm1(L)``.  ``L`` is computed in one of two ways:

* **lgamma** -- ``L = lgamma(n-c+1) - lgamma(n-c-k+1) - lgamma(n+1) + lgamma(n-k+1)``.
  Fast and vectorised, but the four terms are of size ``n log n`` and cancel, so the
  absolute error of ``L`` is about ``eps * n log n``.  That error is harmless when
  ``R`` is small (pass@k near 1): the relative error of ``1 - R`` is
  ``|dL| * R / (1 - R)``.  We use it only where the computed ``1 - R`` is positive and a
  conservative bound on that relative error, evaluated at it, is below ``1e-10``.  (At
  large ``n`` rounding can push ``L`` to ``>= 0``; ``1 - R`` is then ``0`` or ``-0.0``
  and the bound meaningless, so the direct route takes over.)
* **direct** -- the exact finite product written as a sum of ``m = min(k, c)``
  ``log1p`` terms, ``L = sum_{j<k} log1p(-c/(n-j)) = sum_{i<c} log1p(-k/(n-i))``.
  Every term carries relative error ~eps and all have the same sign, so ``L`` has
  relative error <= m * eps.  Where lgamma is not accurate enough ``|L|`` is small,
  and since ``|L| >= k c / n`` this forces ``m <= sqrt(n |L|)``: the direct sums are
  short (at most a few thousand terms for n = 1e7, a few million for n = 1e12).

Both are evaluated on unique ``(n, c, k)`` triples only, in bounded-size chunks.
Exact to a relative error below 1e-9 for every ``n <= 1e12`` (tested against
``fractions`` oracles on a grid of ``n``, ``c``, ``k``).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

__all__ = ["pass_at_k", "passk_ks"]

_EPS: Final = np.finfo(np.float64).eps
# Relative error accepted from the lgamma route (10x under the 1e-9 contract).
_LGAMMA_TOL: Final = 1e-10
# Bound on |error of log R| in units of eps * (sum of |gammaln| terms).  Measured worst
# case against 50-digit mpmath over 3,000 random (n, c, k) with n up to 1e7: 1.19.
_LGAMMA_ULPS: Final = 4.0
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
    big = np.abs(as_float) >= 2.0**63
    if np.any(big):
        first = arr.reshape(-1)[np.flatnonzero(big.reshape(-1))[0]]
        raise ValueError(f"{name} must fit in a 64-bit integer, got {first}")
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
    un, uc, inverse = _unique_pairs(n, c)
    ukk = np.unique(ks)
    k_index = np.searchsorted(ukk, ks)

    shape = (un.size, ukk.size)
    N = np.broadcast_to(un[:, None], shape)
    C = np.broadcast_to(uc[:, None], shape)
    KK = np.broadcast_to(ukk[None, :], shape)
    res = np.full(shape, np.nan)
    undefined = KK > N
    zero = (C == 0) & ~undefined
    one = (N - C < KK) & ~undefined & ~zero
    res[zero] = 0.0
    res[one] = 1.0
    # k = 1 is c / n exactly (one correctly rounded division).
    first = (KK == 1) & ~(undefined | zero | one)
    res[first] = C[first] / N[first]
    todo = ~(undefined | zero | one | first)
    if np.any(todo):
        # lgamma(n - c + 1) and lgamma(n + 1) once per problem, broadcast over k.
        g_nc = np.broadcast_to(gammaln((un - uc).astype(np.float64) + 1.0)[:, None], shape)
        g_n = np.broadcast_to(gammaln(un.astype(np.float64) + 1.0)[:, None], shape)
        res[todo] = _pass_general(N[todo], C[todo], KK[todo], g_nc[todo], g_n[todo])
    out[:] = res[inverse][:, k_index]
    return out


def _unique_pairs(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Distinct (n, c) pairs and the index mapping each problem to its pair."""
    width = int(c.max()) + 1
    if int(n.max()) < np.iinfo(np.int64).max // width - 1:
        keys, inverse = np.unique(n * width + c, return_inverse=True)
        return keys // width, keys % width, inverse.reshape(-1)
    pairs, inverse = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True)
    return pairs[:, 0], pairs[:, 1], inverse.reshape(-1)


def _pass_general(
    n: npt.NDArray[np.int64],
    c: npt.NDArray[np.int64],
    k: npt.NDArray[np.int64],
    g1: npt.NDArray[np.float64],
    g3: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """pass@k where 1 <= c, 2 <= k <= n - c (so 0 < pass < 1).

    ``g1 = lgamma(n - c + 1)`` and ``g3 = lgamma(n + 1)`` are passed in (per problem).
    """
    g2 = gammaln((n - c - k).astype(np.float64) + 1.0)
    g4 = gammaln((n - k).astype(np.float64) + 1.0)
    log_r = np.minimum((g1 - g3) - (g2 - g4), 0.0)
    # Absolute error bound of log_r, then relative error bound of 1 - R.
    abs_err = _LGAMMA_ULPS * _EPS * (np.abs(g1) + np.abs(g2) + np.abs(g3) + np.abs(g4) + 1.0)
    result = -np.expm1(log_r)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rel_err = abs_err * np.exp(log_r) / result
    need = np.flatnonzero(~((result > 0) & (rel_err < _LGAMMA_TOL)))
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


def passk_ks(n: int) -> list[int]:
    """``[1, 2, 4, ...]`` up to ``n`` (empty for ``n < 1``): the k values reported by default."""
    ks = []
    k = 1
    while k <= n:
        ks.append(k)
        k *= 2
    return ks

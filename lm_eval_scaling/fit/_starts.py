"""Starting points for the fits, adapted to the data's scale.

A grid over the *shape* of a law (its exponents, the irreducible term as a fraction of
the smallest response, and how the reducible part splits between two terms); for every
shape the prefactors are profiled from the data (each term's log prefactor is the median
over points of what it must be to carry its share of ``y - E0``).  So the grid does not
depend on the units of the covariates (``C`` near 1e20 needs ``log C0`` near
``alpha * 46``; a fixed grid of prefactors would mostly miss).  Laws that are linear in
their parameters (a single term, no irreducible part) start from ordinary least squares
on the logs, which is the exact optimum of the squared loss and lies in the basin of
the (convex) Huber loss.
"""

from __future__ import annotations

import itertools
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import qmc

from .laws import LawSpec

__all__ = ["GridName", "grid_starts"]

GridName = Literal["auto", "full", "none"]
FloatArray = npt.NDArray[np.float64]

# Exponent ranges (natural units) spanned by the grids.
_EXPONENT_RANGE: Final[dict[str, tuple[float, float]]] = {
    "alpha": (0.02, 1.5), "beta": (0.02, 1.5), "gamma": (0.02, 1.5), "kappa": (0.1, 6.0),
}
# Grid sizes: values per exponent, irreducible fractions, two-term splits.
_SIZES: Final[dict[str, tuple[int, int, int]]] = {"auto": (5, 4, 3), "full": (12, 8, 5)}
_SEED: Final = 20250924


def grid_starts(spec: LawSpec, M: FloatArray, log_y: FloatArray,
                grid: Literal["auto", "full"] | int) -> FloatArray:
    """Internal starting points ``(S, P)`` for ``spec`` on design ``M`` and data ``log_y``."""
    P = spec.n_params
    const_cols = [j for j in range(P) if np.all(M[:, :, j] == M[:, :1, j])]
    terms = _term_layout(M, const_cols)
    is_irreducible_first = spec.irreducible is not None
    reducible = terms[1:] if is_irreducible_first else terms
    n_exp = len(spec.exponents)
    if not is_irreducible_first and len(reducible) == 1:
        return _ols_start(M, log_y)

    exp_idx = [spec.param_names.index(e) for e in spec.exponents]
    ranges = [_EXPONENT_RANGE.get(e, (0.02, 1.5)) for e in spec.exponents]
    n_split = len(reducible) - 1
    if isinstance(grid, int):
        shapes = _lhs_shapes(grid, ranges, is_irreducible_first, n_split)
    else:
        per_exp, n_frac, n_splits = _SIZES[grid]
        axes = [np.geomspace(lo, hi, per_exp) for lo, hi in ranges]
        axes.append(np.concatenate([[0.0], np.geomspace(1e-3, 0.95, n_frac - 1)])
                    if is_irreducible_first else np.array([0.0]))
        axes.extend([np.linspace(0.1, 0.9, n_splits)] * n_split)
        shapes = np.array(list(itertools.product(*axes)))
    exps = shapes[:, :n_exp]
    frac = shapes[:, n_exp]
    splits = shapes[:, n_exp + 1:]

    S = shapes.shape[0]
    theta = np.zeros((S, P))
    theta[:, exp_idx] = exps
    y = np.exp(log_y)
    e0 = frac * y.min()  # (S,)
    if is_irreducible_first:
        theta[:, terms[0][0]] = np.log(np.maximum(e0, 1e-300 * y.min()))
    log_red = np.log(np.maximum(y[None, :] - e0[:, None], 1e-300))  # (S, n)
    shares = _shares(splits, len(reducible))  # (S, T_red)
    for t, (pre_j, tensor_t) in enumerate(reducible):
        # shape part of the term: design row without its prefactor column, at these exponents
        shape_part = np.einsum("np,sp->sn", M[tensor_t][:, exp_idx], exps)
        need = np.log(shares[:, t])[:, None] + log_red - shape_part
        theta[:, pre_j] = np.median(need, axis=1)
    return theta


def _term_layout(M: FloatArray, const_cols: list[int]) -> list[tuple[int, int]]:
    """For each term: (index of its prefactor column, term index)."""
    out = []
    for t in range(M.shape[0]):
        pre = [j for j in const_cols if np.all(M[t, :, j] == 1.0)]
        out.append((pre[0], t))
    return out


def _shares(splits: FloatArray, n_terms: int) -> FloatArray:
    if n_terms == 1:
        return np.ones((splits.shape[0], 1))
    if n_terms == 2:
        return np.column_stack([splits[:, 0], 1.0 - splits[:, 0]])
    raise NotImplementedError("grids for more than two reducible terms")  # pragma: no cover


def _lhs_shapes(n: int, ranges: list[tuple[float, float]], irreducible: bool,
                n_split: int) -> FloatArray:
    dim = len(ranges) + 1 + n_split
    u = qmc.LatinHypercube(d=dim, seed=_SEED).random(n)
    cols = [np.exp(np.log(lo) + u[:, i] * (np.log(hi) - np.log(lo)))
            for i, (lo, hi) in enumerate(ranges)]
    j = len(ranges)
    cols.append(np.exp(np.log(1e-4) + u[:, j] * (np.log(0.95) - np.log(1e-4)))
                if irreducible else np.zeros(n))
    cols.extend(0.05 + 0.9 * u[:, j + 1 + s] for s in range(n_split))
    return np.column_stack(cols)


def _ols_start(M: FloatArray, log_y: FloatArray) -> FloatArray:
    sol, *_ = np.linalg.lstsq(M[0], log_y, rcond=None)
    return sol.reshape(1, -1)

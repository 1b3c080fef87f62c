"""Where to spend the next samples: a per-problem allocation, and how many samples a width needs.

The quantity planned for is benchmark pass@k at one k.  A problem with ``c`` successes in
``n`` samples has a binomial interval ``[p_lo, p_hi]`` for its success probability
(``statsmodels.stats.proportion.proportion_confint``, Wilson), hence an interval
``[f(p_lo), f(p_hi)]`` for its pass@k, ``f(p) = 1 - (1 - p)^k``.  A problem is *resolved*
at k when that interval is narrower than ``tol``: more samples would barely move the
benchmark mean.  Unresolved problems include those never solved so far whose upper limit
still allows a sizeable pass@k (PassUntil: keep sampling them), and those solved only
rarely.

:func:`allocate_samples` spends a budget a ``chunk`` at a time on the unresolved problems,
never on resolved ones.  By default (``priority="fewest"``, PassUntil) the unresolved
problems advance together, fewest samples first; ``priority="width"`` feeds the widest
intervals first (the problem's current success rate projected forward), the fastest way to
narrow the interval of the benchmark mean, ``sqrt(sum_i width_i^2) / P``.
:func:`samples_needed` says how many samples per problem (uniform) and how many in all
(allocated widest-first) bring that interval -- the sampling noise of the problems at hand
-- under a target width.  :func:`samples_rounds` turns an allocation into lm_eval ``--samples`` selections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from statsmodels.stats.proportion import proportion_confint

from ..errors import InputError

__all__ = ["Allocation", "allocate_samples", "problem_widths", "samples_needed", "samples_rounds"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_METHOD: Final = "wilson"


@dataclass(frozen=True)
class Allocation:
    """The next samples per problem (``n_more``, aligned with the input problems)."""

    n_more: IntArray
    resolved: npt.NDArray[np.bool_]  # after the allocation, at the projected rates
    width_before: float  # interval width of benchmark pass@k now
    width_after: float  # ... projected after the allocation
    budget: int
    spent: int


def _pass(p: FloatArray, k: int) -> FloatArray:
    out: FloatArray = -np.expm1(k * np.log1p(-np.clip(p, 0.0, 1.0 - 1e-16)))
    return np.where(p >= 1.0, 1.0, out)


def problem_widths(num_samples: npt.ArrayLike, num_correct: npt.ArrayLike, k: int, *,
                   ci: float = 0.95) -> FloatArray:
    """Width of each problem's pass@k interval (``num_correct`` may be fractional: a projection)."""
    n = np.asarray(num_samples, dtype=np.float64)
    c = np.asarray(num_correct, dtype=np.float64)
    lo, hi = proportion_confint(c, n, alpha=1.0 - ci, method=_METHOD)
    out: FloatArray = _pass(np.asarray(hi, dtype=np.float64), k) - _pass(np.asarray(lo, dtype=np.float64), k)
    return out


def _bench_width(widths: FloatArray) -> float:
    return float(np.sqrt((widths ** 2).sum()) / widths.size)  # 2z sqrt(sum (w/2z)^2) / P


def _check(n: IntArray, c: IntArray, k: int, ci: float) -> None:
    if n.shape != c.shape or n.size == 0:
        raise InputError("need num_samples and num_correct of the same, non-zero length")
    if (n < 1).any() or (c < 0).any() or (c > n).any():
        raise InputError("need 1 <= num_samples and 0 <= num_correct <= num_samples for every problem")
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1), got {ci}")


def allocate_samples(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    k: int,
    budget: int,
    *,
    chunk: int = 1,
    tol: float = 0.05,
    ci: float = 0.95,
    cap: npt.ArrayLike | None = None,
    stop_width: float | None = None,
    priority: str = "fewest",
) -> Allocation:
    """Spend ``budget`` samples (in multiples of ``chunk``) on the unresolved problems.

    ``priority``: ``"fewest"`` (PassUntil) gives each chunk to the unresolved problems with
    the fewest samples (ties: the widest interval), so unresolved problems advance together;
    ``"width"`` to the widest intervals (ties: fewer samples), the fastest way to narrow
    the benchmark interval.

    ``cap``: most samples a problem may have in all (scalar or per problem).  ``stop_width``:
    stop early once the projected benchmark interval is that narrow.  The allocation sums to
    ``chunk * (budget // chunk)`` unless every problem is resolved (or capped) first.
    """
    n = np.asarray(num_samples, dtype=np.int64).reshape(-1)
    c = np.asarray(num_correct, dtype=np.int64).reshape(-1)
    _check(n, c, k, ci)
    if budget < 0 or chunk < 1:
        raise InputError(f"need budget >= 0 and chunk >= 1, got budget={budget}, chunk={chunk}")
    rate = c / n
    limit = np.full(n.size, np.iinfo(np.int64).max) if cap is None else \
        np.broadcast_to(np.asarray(cap, dtype=np.int64), n.shape)
    more = np.zeros(n.size, dtype=np.int64)
    widths = problem_widths(n, c, k, ci=ci)
    before = _bench_width(widths)
    var = widths ** 2
    chunks = budget // chunk
    if priority not in ("fewest", "width"):
        raise InputError(f"priority must be 'fewest' or 'width', got {priority!r}")
    while chunks > 0:
        if stop_width is not None and np.sqrt(var.sum()) / n.size <= stop_width:
            break
        open_ = (widths > tol) & (n + more + chunk <= limit)
        cand = np.flatnonzero(open_)
        if cand.size == 0:
            break
        take = min(chunks, max(1, cand.size // 4))
        total = n[cand] + more[cand]
        if priority == "fewest":
            pick = cand[np.lexsort((-widths[cand], total))[:take]]
        else:
            pick = cand[np.lexsort((total, -widths[cand]))[:take]]
        more[pick] += chunk
        chunks -= take
        total = n[pick] + more[pick]
        widths[pick] = problem_widths(total, rate[pick] * total, k, ci=ci)
        var[pick] = widths[pick] ** 2
    return Allocation(n_more=more, resolved=widths <= tol, width_before=before,
                      width_after=_bench_width(widths), budget=int(budget),
                      spent=int(more.sum()))


def samples_needed(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    k: int,
    width: float,
    *,
    ci: float = 0.95,
    chunk: int = 64,
    max_samples: int = 10**8,
) -> dict[str, float | int | None]:
    """Samples that bring the interval of benchmark pass@k at ``k`` under ``width``.

    Returns ``uniform_per_problem`` (the smallest ``n`` that, given to every problem, does
    it; None if not within ``max_samples``), ``uniform_more`` (samples to draw for that,
    beyond those drawn) and ``allocated_more`` (samples :func:`allocate_samples` needs for
    the same width; None if not within ``max_samples`` per problem).  Success rates are
    projected from the counts so far.
    """
    n = np.asarray(num_samples, dtype=np.int64).reshape(-1)
    c = np.asarray(num_correct, dtype=np.int64).reshape(-1)
    _check(n, c, k, ci)
    if not width > 0:
        raise InputError(f"width must be > 0, got {width}")
    rate = c / n

    def uniform_width(m: int) -> float:
        total = np.maximum(n, m)
        return _bench_width(problem_widths(total, rate * total, k, ci=ci))

    uniform: int | None = None
    if uniform_width(max_samples) <= width:
        lo, hi = int(n.min()), max_samples  # invariant: width(hi) <= target
        if uniform_width(lo) <= width:
            hi = lo
        while hi - lo > max(1, lo // 1000):
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if uniform_width(mid) <= width else (mid, hi)
        uniform = hi
    alloc = allocate_samples(n, c, k, int(n.size) * max_samples, chunk=chunk, ci=ci, tol=0.0,
                             cap=max_samples, stop_width=width, priority="width")
    allocated = alloc.spent if alloc.width_after <= width else None
    return {
        "uniform_per_problem": uniform,
        "uniform_more": None if uniform is None else int(np.maximum(uniform - n, 0).sum()),
        "allocated_more": allocated,
    }


def samples_rounds(problem_ids: Sequence[str], n_more: npt.ArrayLike, chunk: int,
                   task: str) -> list[dict[str, list[int]]]:
    """lm_eval ``--samples`` selections, one per round of ``chunk`` samples per problem.

    Round ``j`` (1-based) holds the doc indices of the problems with ``n_more >= j * chunk``;
    run each round with ``n_samples = chunk`` (and a seed of its own).  ``problem_id`` must
    be the doc index in the task's evaluation split (as the lm-eval-scaling tasks number
    their problems).
    """
    more = np.asarray(n_more, dtype=np.int64)
    if (more % chunk).any():
        raise InputError(f"n_more must be multiples of chunk={chunk}")
    docs = []
    for pid in problem_ids:
        try:
            docs.append(int(pid))
        except ValueError:
            raise InputError(f"problem_id {pid!r} is not a doc index (an integer); "
                             "lm_eval --samples selects docs by index") from None
    rounds = []
    for j in range(1, int(more.max(initial=0)) // chunk + 1):
        rounds.append({task: sorted(d for d, m in zip(docs, more) if m >= j * chunk)})
    return rounds


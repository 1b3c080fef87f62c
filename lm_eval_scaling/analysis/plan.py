"""Where to spend the next samples: a per-problem allocation, and how many samples a width needs.

The quantity planned for is benchmark pass@k at one k.  A problem with ``c`` successes in
``n`` samples has a binomial interval ``[p_lo, p_hi]`` for its success probability
(``statsmodels.stats.proportion.proportion_confint``, Wilson), hence an interval
``[f(p_lo), f(p_hi)]`` for its pass@k, ``f(p) = 1 - (1 - p)^k``.  A problem is *resolved*
at k when that interval is narrower than ``tol``: more samples would barely move the
benchmark mean.  Unresolved problems include those never solved so far whose upper limit
still allows a sizeable pass@k (PassUntil: keep sampling them), and those solved only
rarely.

:func:`allocate_samples` spends a budget a ``chunk`` at a time on the unresolved problems
only.  By default (``rule="variance"``) it is the Neyman allocation: samples in proportion to
the standard deviation of a problem's pass@k estimate (:func:`variance_weights`), never less
for a problem that looks hopeless.  ``rule="passuntil"``: with ``priority="fewest"`` the
unresolved problems advance together, fewest samples first; ``priority="width"`` feeds the
widest intervals first (the problem's current success rate projected forward), the fastest
way to narrow the interval of the benchmark mean, ``sqrt(sum_i width_i^2) / P``.
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
from scipy import special
from statsmodels.stats.proportion import proportion_confint

from ..errors import InputError
from ..passk.model import fit_success_model

__all__ = [
    "PRIORS",
    "RULES",
    "Allocation",
    "allocate_samples",
    "problem_widths",
    "samples_needed",
    "samples_rounds",
    "variance_weights",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_METHOD: Final = "wilson"
RULES: Final = ("passuntil", "variance")
PRIORS: Final = ("lower", "interval", "posterior")


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


def variance_weights(num_samples: npt.ArrayLike, num_correct: npt.ArrayLike, k: int, *,
                     ci: float = 0.95, prior: str = "lower") -> FloatArray:
    """Each problem's ``a_i``: its pass@k estimate from ``n`` samples has variance ~ ``a_i^2 / n``.

    For the unbiased estimator at ``n >> k`` that variance is ``f'(p)^2 p (1 - p) / n``,
    ``f(p) = 1 - (1 - p)^k`` (delta method): ``a(p)^2 = k^2 p (1 - p)^(2k - 1)``, largest
    at ``p* = 1/(2k)``, ~0 where pass@k is ~1 or ~0.  ``p`` is unknown:

    * ``prior="lower"`` (the planner's rule): ``a(max(p*, p_lo))``, ``p_lo`` the lower limit
      of the problem's Wilson interval: a problem gets less only once it is surely solved
      often enough that its pass@k is near 1; a problem that looks hopeless so far is never
      starved.
    * ``prior="interval"``: the largest ``a(p)`` over the whole interval, so problems never
      or rarely solved get less too.
    * ``prior="posterior"``: ``E[a(p)^2]^(1/2)`` under the problem's posterior Beta(alpha + c,
      beta + n - c) of a beta-binomial model fitted to all problems
      (:func:`lm_eval_scaling.passk.model.fit_success_model`; closed form
      ``k^2 B(A + 1, B + 2k - 1) / B(A, B)``): variance-optimal if the model were right.

    The last two bias benchmark pass@k low when the counts are pooled (the unbiased
    estimator on all samples of a problem): a problem that was unlucky so far gets fewer new
    samples to correct it than one that was lucky (docs/passk_model.md measures it).
    """
    n = np.asarray(num_samples, dtype=np.int64).reshape(-1)
    c = np.asarray(num_correct, dtype=np.int64).reshape(-1)
    _check(n, c, k, ci)
    if prior not in PRIORS:
        raise InputError(f"prior must be one of {', '.join(PRIORS)}, got {prior!r}")
    if prior == "posterior":
        model = fit_success_model(n, c, "beta_binomial")
        a = model.alpha[0] + c
        b = model.beta[0] + (n - c)
        log_e = special.betaln(a + 1.0, b + 2.0 * k - 1.0) - special.betaln(a, b)
        post: FloatArray = k * np.exp(0.5 * log_e)
        return post
    lo, hi = proportion_confint(c, n, alpha=1.0 - ci, method=_METHOD)
    p = np.clip(1.0 / (2.0 * k), lo, np.inf if prior == "lower" else hi)
    p = np.minimum(p, 1.0 - 1e-16)
    out: FloatArray = k * np.sqrt(p * np.exp((2.0 * k - 1.0) * np.log1p(-p)))
    return out


def _variance_allocation(n: IntArray, weights: FloatArray, limit: IntArray, chunks: int,
                         chunk: int) -> IntArray:
    """Chunks that minimise ``sum_i a_i^2 / (n_i + more_i)`` (Neyman allocation).

    Continuous optimum: totals ``clip(lam * a_i, n_i, limit_i)`` (water filling, ``lam`` by
    bisection); whole chunks of it, then the chunks left over one at a time to the largest
    variance reduction.
    """
    room = np.minimum(np.maximum((limit - n) // chunk, 0), chunks) * chunk  # most a problem may still get
    more = np.zeros(n.size, dtype=np.int64)
    live = (weights > 0) & (room > 0)
    if chunks == 0 or not live.any():
        return more
    target = float(chunks * chunk)

    def spend(lam: float) -> FloatArray:
        return np.where(live, np.clip(lam * weights - n, 0.0, room), 0.0)

    lo, hi = 0.0, 1.0
    while spend(hi).sum() < target and hi < 1e300:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if spend(mid).sum() < target else (lo, mid)
    more = (np.floor(spend(lo) / chunk) * chunk).astype(np.int64)
    left = min(chunks - int(more.sum()) // chunk, int(((room - more) // chunk)[live].sum()))
    w2 = np.where(live, weights ** 2, 0.0)
    for _ in range(left):
        total = (n + more).astype(np.float64)
        gain = np.where(live & (more + chunk <= room), w2 * (1.0 / total - 1.0 / (total + chunk)), -1.0)
        more[int(np.argmax(gain))] += chunk
    return more


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
    rule: str = "variance",
    priority: str = "fewest",
    prior: str = "lower",
) -> Allocation:
    """Spend ``budget`` samples (in multiples of ``chunk``) where they reduce the error most.

    Resolved problems (pass@k interval narrower than ``tol``) get nothing.  Among the others:

    * ``rule="variance"`` (default): the allocation that minimises
      ``sum_i a_i^2 / (n_i + more_i)`` (Neyman), ``a_i`` from :func:`variance_weights` with
      ``prior``: totals proportional to ``a_i``, nothing to problems already past their
      share; problems whose pass@k is surely near 1 get (almost) nothing.
    * ``rule="passuntil"``: ``priority="fewest"`` gives each chunk to the problems with the
      fewest samples (ties: the widest interval), so they advance together; ``"width"`` to
      the widest intervals (ties: fewer samples), the fastest way to narrow the benchmark
      interval.  ``stop_width``: stop early once the projected benchmark interval is that
      narrow.

    ``cap``: most samples a problem may have in all (scalar or per problem).  The
    allocation sums to ``chunk * (budget // chunk)`` unless every problem is resolved or
    capped first.  ``resolved`` and the widths use the Wilson interval at the counts'
    success rates, projected to the new sample sizes.
    """
    n = np.asarray(num_samples, dtype=np.int64).reshape(-1)
    c = np.asarray(num_correct, dtype=np.int64).reshape(-1)
    _check(n, c, k, ci)
    if budget < 0 or chunk < 1:
        raise InputError(f"need budget >= 0 and chunk >= 1, got budget={budget}, chunk={chunk}")
    if rule not in RULES:
        raise InputError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    if priority not in ("fewest", "width"):
        raise InputError(f"priority must be 'fewest' or 'width', got {priority!r}")
    rate = c / n
    limit = np.full(n.size, np.iinfo(np.int64).max // 2) if cap is None else \
        np.broadcast_to(np.asarray(cap, dtype=np.int64), n.shape)
    widths = problem_widths(n, c, k, ci=ci)
    before = _bench_width(widths)
    chunks = budget // chunk
    if rule == "variance":
        weights = np.where(widths > tol, variance_weights(n, c, k, ci=ci, prior=prior), 0.0)
        more = _variance_allocation(n, weights, limit, chunks, chunk)
        got = np.flatnonzero(more)
        total = n[got] + more[got]
        widths[got] = problem_widths(total, rate[got] * total, k, ci=ci)
        return Allocation(n_more=more, resolved=widths <= tol, width_before=before,
                          width_after=_bench_width(widths), budget=int(budget),
                          spent=int(more.sum()))
    more = np.zeros(n.size, dtype=np.int64)
    var = widths ** 2
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
                             cap=max_samples, stop_width=width, rule="passuntil", priority="width")
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


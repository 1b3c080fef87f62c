"""maj@k (majority voting over k samples) and avg@n, from the answers of logged samples.

maj@k of a problem is the probability that the most frequent answer among k samples is
the reference answer.  Given ``n`` logged samples of a problem whose extracted answers
occur ``num_correct`` times (the reference), ``wrong_counts`` times (each other answer)
and ``num_invalid`` times (no answer found), :func:`maj_at_k` is the average of the
majority vote's correctness over **all** ``C(n, k)`` subsets of ``k`` samples, computed
exactly (not by resampling).  Like the unbiased pass@k estimator it is a U-statistic, so
it is an unbiased estimate of the maj@k of k fresh samples, for every ``k <= n``.

Vote rules (of one subset of k samples):

* invalid samples do not vote; a subset without any valid answer is incorrect;
* the answer with the most votes wins; a tie between the reference and ``t`` other
  answers is broken uniformly at random, so it counts ``1 / (t + 1)``.

Computation: condition on the number ``x >= 1`` of correct samples in the subset
(``C(num_correct, x)`` ways).  The other ``k - x`` samples come from the rest; answers
with fewer than ``x`` samples in total can never reach ``x`` and are pooled with the
invalid ones into one binomial factor, while each answer with at least ``x`` samples
contributes ``sum_{y<x} C(m, y) s^y + u C(m, x) s^x`` (``u`` marks a tie).  The
coefficient of ``s^(k-x) u^t`` counts the subsets with ``t`` tied answers and none
above ``x``.  ``C(n, k)`` overflows floats for ``n`` in the thousands, so the
polynomials are kept scaled (``s -> rho s``, peaking at ``k - x``) with their scale in log;
each answer costs one direct convolution, ``O(k^2)`` per (problem, k) and answer.

avg@n is the plain mean correctness of the n samples, ``num_correct / n`` (= pass@1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .estimator import pass_at_k, passk_ks

__all__ = ["ANSWERS_COLUMNS", "maj_at_k", "majority_table"]

# answers at most this many votes away are added as shifted copies, not convolved
_SHIFT_MAX = 8

#: Columns of an answers table (one row per distinct answer of a problem).
ANSWERS_COLUMNS = ("model", "revision", "task", "problem_id", "answer", "count", "correct",
                   "valid")


def maj_at_k(num_correct: int, wrong_counts: Sequence[int], k: int, num_invalid: int = 0) -> float:
    """Unbiased maj@k of one problem (see the module docstring).

    ``num_correct``: samples whose answer is the reference; ``wrong_counts``: the number
    of samples of each other (valid) answer; ``num_invalid``: samples without an answer.
    ``1 <= k <= n`` with ``n`` the total.  Raises ValueError otherwise.
    """
    counts = [_count("num_correct", num_correct), _count("num_invalid", num_invalid)]
    wrong = [_count("wrong_counts", m) for m in wrong_counts]
    a, z = counts
    n = a + z + sum(wrong)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer with 1 <= k <= n = {n} (got {k!r})")
    k = int(k)
    if a == 0:
        return 0.0
    log_total = _log_comb(n, k)
    result = 0.0
    for x in range(1, min(a, k) + 1):
        rest = k - x
        if rest > n - a:
            continue
        big = [m for m in wrong if m >= x]
        pooled = n - a - sum(big)
        if rest < x or not big:  # no other answer can reach x votes
            log_ways = _log_comb(n - a, rest)
        else:
            log_ways = _log_ties_weighted(big, pooled, x, rest)
        result += math.exp(_log_comb(a, x) + log_ways - log_total)
    return min(result, 1.0)


def majority_table(answers: pd.DataFrame, ks: Iterable[int] | None = None, *,
                   progress: bool | None = None) -> pd.DataFrame:
    """Benchmark maj@k, pass@k and avg@n per (model, revision, task) from an answers table.

    ``answers`` has :data:`ANSWERS_COLUMNS` (one row per distinct answer of a problem;
    ``correct`` marks the reference, ``valid`` is False for "no answer found").  ``ks``
    defaults to the powers of two up to the smallest ``n`` of the group.  For each k the
    means are over the problems with ``n >= k`` (``num_problems``); ``avg@n`` is over all
    problems of the group.  ``progress``: a progress bar (None: on a terminal).
    """
    missing = [c for c in ANSWERS_COLUMNS if c not in answers.columns]
    if missing:
        raise ValueError(f"answers table lacks columns {missing}")
    from tqdm.auto import tqdm

    rows = []
    groups = answers.groupby(["model", "revision", "task"], sort=True)
    bar = tqdm(groups, desc="maj@k", unit="checkpoint",
               disable=None if progress is None else not progress)
    for (model, revision, task), group in bar:
        problems = []
        for _, prob in group.groupby("problem_id", sort=False):
            count = prob["count"].to_numpy(np.int64)
            correct = prob["correct"].to_numpy(bool)
            valid = prob["valid"].to_numpy(bool)
            c = int(count[correct].sum())
            wrong = [int(m) for m in count[valid & ~correct]]
            invalid = int(count[~valid].sum())
            problems.append((c, wrong, invalid, c + invalid + sum(wrong)))
        ns = np.array([p[3] for p in problems])
        avg = float(np.mean([p[0] / p[3] for p in problems]))
        chosen = sorted(set(ks)) if ks is not None else passk_ks(int(ns.min()))
        for k in chosen:
            use = [p for p in problems if p[3] >= k]
            if not use:
                continue
            maj = float(np.mean([maj_at_k(c, w, k, z) for c, w, z, _ in use]))
            passk = float(np.mean([_scalar(pass_at_k(n, c, k)) for c, _, _, n in use]))
            rows.append({"model": model, "revision": revision, "task": task, "k": k,
                         "num_problems": len(use), "pass@k": passk, "maj@k": maj,
                         "avg@n": avg})
    return pd.DataFrame(rows, columns=["model", "revision", "task", "k", "num_problems",
                                       "pass@k", "maj@k", "avg@n"])


def _log_ties_weighted(big: Sequence[int], pooled: int, x: int, rest: int) -> float:
    """log of the sum, over the ways to draw ``rest`` of the other samples with every
    answer at most ``x`` times, of ``1 / (1 + number of answers at exactly x)``.

    Polynomials in ``s`` (samples drawn) with one row per number of ties, in linear
    floats: ``s`` is scaled by ``rho`` so that the coefficients peak near ``s = rest``,
    and every step is divided by its maximum (the scale is kept in log).  A coefficient
    lost to underflow is below 1e-300 of the total and cannot matter.
    """
    from scipy.signal import convolve2d

    others = pooled + sum(big)
    log_rho = math.log((rest + 0.5) / (others - rest + 0.5))
    max_ties = min(len(big), rest // x)
    state = np.zeros((max_ties + 1, rest + 1))
    s = np.arange(min(pooled, rest) + 1)
    log_first = _log_comb_array(pooled, s) + s * log_rho
    log_scale = float(log_first.max())
    state[0, : s.size] = np.exp(log_first - log_scale)
    y = np.arange(x + 1)
    for m in sorted(big, reverse=True):
        log_coef = _log_comb_array(m, y) + y * log_rho
        top = float(log_coef.max())
        coef = np.exp(log_coef - top)
        if x <= _SHIFT_MAX:  # a few shifted copies beat a convolution call
            new = state * coef[0]
            for j in range(1, x):
                new[:, j:] += state[:, : rest + 1 - j] * coef[j]
        else:
            new = convolve2d(state, coef[None, :x], mode="full")[:, : rest + 1]
        new[1:, x:] += state[:-1, : rest + 1 - x] * coef[x]  # x votes: one more tie
        peak = float(new.max())
        if peak <= 0.0:
            return -math.inf
        state = new / peak
        log_scale += top + math.log(peak)
    weighted = float(state[:, rest] @ (1.0 / np.arange(1, max_ties + 2)))
    if weighted <= 0.0:
        return -math.inf
    return math.log(weighted) + log_scale - rest * log_rho


def _log_comb(n: int, k: int) -> float:
    if k < 0 or k > n:
        return -math.inf
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _log_comb_array(n: int, ks: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln

    ks = np.asarray(ks, dtype=np.float64)
    out = np.full(ks.shape, -np.inf)
    ok = (ks >= 0) & (ks <= n)
    out[ok] = gammaln(n + 1) - gammaln(ks[ok] + 1) - gammaln(n - ks[ok] + 1)
    return out


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be non-negative integers (got {value!r})")
    return int(value)


def _scalar(value: object) -> float:
    return float(np.ravel(np.asarray(value))[0])

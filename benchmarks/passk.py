"""Benchmark: pass_at_k vs human-eval's per-problem product loop, in the same run.

Setting (issue 2): 1319 problems (GSM8K test size) x n = 10,000 samples, 40 log-spaced
k in [1, 10,000]; per-problem pass rates drawn from a Beta(0.3, 3) so c spans 0..n.
Prints both times, their ratio and the largest relative difference; then times every
k from 1 to n with the vectorised estimator alone (the loop would take minutes).

    python benchmarks/passk.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

import numpy as np

from lm_eval_scaling import pass_at_k


def human_eval_estimator(n: int, c: int, k: int) -> float:
    """The estimator of openai/human-eval (``execution.estimate_pass_at_k``), one problem."""
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def log_spaced_ints(hi: int, count: int) -> np.ndarray:
    """``count`` distinct log-spaced integers from 1 to ``hi``."""
    num = count
    while True:
        ks = np.unique(np.round(np.geomspace(1, hi, num)).astype(int))
        if ks.size >= count or num > 10 * count:
            return ks[np.round(np.linspace(0, ks.size - 1, min(count, ks.size))).astype(int)]
        num += 1


def exact_pass(n: int, c: int, k: int) -> Fraction:
    ratio = Fraction(1)
    for j in range(min(k, c)):
        ratio *= Fraction(n - c - j, n - j) if k <= c else Fraction(n - k - j, n - j)
    return 1 - ratio


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--problems", type=int, default=1319)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--num-k", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    P, n = args.problems, args.samples
    num_samples = np.full(P, n)
    num_correct = rng.binomial(n, rng.beta(0.3, 3.0, P))
    ks = log_spaced_ints(n, args.num_k)

    def loop() -> np.ndarray:
        return np.array([[human_eval_estimator(n, int(c), int(k)) for k in ks] for c in num_correct])

    t_loop, ref = best_of(loop, 1)
    t_vec, got = best_of(lambda: pass_at_k(num_samples, num_correct, ks), args.repeat)
    ref = np.asarray(ref)
    got = np.asarray(got)
    nz = ref > 0
    max_rel = float(np.max(np.abs(got[nz] - ref[nz]) / ref[nz]))
    print(f"{P} problems x n={n} x {ks.size} k values")
    print(f"  human-eval loop : {t_loop * 1e3:10.1f} ms")
    print(f"  pass_at_k       : {t_vec * 1e3:10.1f} ms")
    print(f"  speed-up        : {t_loop / t_vec:10.1f}x   (goal >= 50x)")
    print(f"  max rel diff    : {max_rel:10.2e}")
    # Who is right where they differ most?  Exact rational arithmetic decides.
    i, j = np.unravel_index(np.argmax(np.where(nz, np.abs(got - ref) / np.where(nz, ref, 1), 0)), ref.shape)
    exact = exact_pass(n, int(num_correct[i]), int(ks[j]))
    print(f"    at c={int(num_correct[i])}, k={int(ks[j])}: rel error vs exact fraction: "
          f"pass_at_k {float(abs(Fraction(float(got[i, j])) - exact) / exact):.1e}, "
          f"human-eval loop {float(abs(Fraction(float(ref[i, j])) - exact) / exact):.1e}")
    print(f"  zero/one agree  : {bool(np.array_equal(ref == 0, got == 0) and np.array_equal(ref == 1, got == 1))}")

    all_k = np.arange(1, n + 1)
    t_all, _ = best_of(lambda: pass_at_k(num_samples, num_correct, all_k), 1)
    print(f"every k = 1..{n} ({P * n:,} values): {t_all:.2f} s "
          f"({P * n / t_all / 1e6:.1f} M values/s)")


if __name__ == "__main__":
    main()

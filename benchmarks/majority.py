"""Benchmark: exact maj@k (passk.majority.maj_at_k) vs enumerating every k-subset, same run.

1. A problem small enough to enumerate (n = 22 samples, 5 answers, k = 11: 705,432
   subsets): both times, their ratio and the difference of the two values.
2. Problems of realistic size that cannot be enumerated (n ~ 1000, one answer repeated
   or hundreds of distinct answers), k = 16 ... 512: time per (problem, k).

    python benchmarks/majority.py
"""

from __future__ import annotations

import itertools
import time
from collections import Counter

from lm_eval_scaling.passk.majority import maj_at_k


def enumerate_subsets(correct: int, wrong: list[int], invalid: int, k: int) -> float:
    labels: list[int] = [0] * correct + [-1] * invalid
    for j, m in enumerate(wrong):
        labels += [j + 1] * m
    total, count = 0.0, 0
    for subset in itertools.combinations(labels, k):
        count += 1
        votes = Counter(a for a in subset if a >= 0)
        if votes:
            top = max(votes.values())
            winners = [a for a, v in votes.items() if v == top]
            if 0 in winners:
                total += 1.0 / len(winners)
    return total / count


def main() -> None:
    import scipy.signal  # noqa: F401  (imported once, outside the timings)

    small = (7, [6, 4, 2], 3, 11)
    t0 = time.perf_counter()
    brute = enumerate_subsets(*small)
    t1 = time.perf_counter()
    exact = maj_at_k(small[0], small[1], small[3], small[2])
    t2 = time.perf_counter()
    print(f"n=22, k=11: enumeration {t1 - t0:.2f} s, maj_at_k {1e3 * (t2 - t1):.2f} ms, "
          f"ratio {(t1 - t0) / (t2 - t1):.0f}x, |difference| {abs(brute - exact):.1e}")
    cases = {
        "n=1000, 154 answers (one dominant)": (400, [300, 100, 50] + [1] * 150, 0),
        "n=1030, 331 answers, 100 invalid": (30, [20] * 30 + [1] * 300, 100),
        "n=965, 921 answers (mostly singletons)": (5, [3] * 20 + [1] * 900, 0),
    }
    for label, (c, wrong, invalid) in cases.items():
        times = []
        for k in (16, 64, 256, 512):
            t = time.perf_counter()
            maj_at_k(c, wrong, k, invalid)
            times.append(f"k={k}: {time.perf_counter() - t:.3f} s")
        print(f"{label}: " + ", ".join(times))


if __name__ == "__main__":
    main()

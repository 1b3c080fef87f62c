"""maj@k (lm_eval_scaling.passk.majority) against brute-force enumeration of all subsets."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_eval_scaling.passk.estimator import pass_at_k
from lm_eval_scaling.passk.majority import maj_at_k, majority_table

_CORRECT, _INVALID = "gold", None


def _brute_force(labels: list[str | None], k: int) -> Fraction:
    """Mean over every k-subset of the vote's correctness (ties split evenly)."""
    total = Fraction(0)
    subsets = 0
    for subset in itertools.combinations(range(len(labels)), k):
        subsets += 1
        votes = Counter(labels[i] for i in subset if labels[i] is not _INVALID)
        if not votes:
            continue
        top = max(votes.values())
        winners = [a for a, v in votes.items() if v == top]
        if _CORRECT in winners:
            total += Fraction(1, len(winners))
    return total / subsets


def _labels(c: int, wrong: list[int], invalid: int) -> list[str | None]:
    out: list[str | None] = [_CORRECT] * c + [_INVALID] * invalid
    for j, m in enumerate(wrong):
        out += [f"w{j}"] * m
    return out


@settings(max_examples=150, deadline=None)
@given(c=st.integers(0, 5), wrong=st.lists(st.integers(1, 4), max_size=3),
       invalid=st.integers(0, 3), data=st.data())
def test_equals_enumeration_of_all_subsets(c: int, wrong: list[int], invalid: int,
                                           data: st.DataObject) -> None:
    n = c + sum(wrong) + invalid
    if n == 0:
        return
    k = data.draw(st.integers(1, n))
    expected = _brute_force(_labels(c, wrong, invalid), k)
    assert maj_at_k(c, wrong, k, invalid) == pytest.approx(float(expected), abs=1e-12)


def test_closed_forms() -> None:
    # k = 1: the vote is the single sample: maj@1 = c / n = pass@1 (invalid never wins)
    assert maj_at_k(3, [2, 4], 1, num_invalid=1) == pytest.approx(3 / 10)
    # only the reference and invalid answers: maj@k = pass@k
    for k in range(1, 9):
        assert maj_at_k(3, [], k, 5) == pytest.approx(float(np.ravel(pass_at_k(8, 3, k))[0]))
    # k = n: the full sample's vote; a 2-way tie counts one half
    assert maj_at_k(3, [3], 6) == pytest.approx(0.5)
    assert maj_at_k(4, [3, 1], 8) == 1.0 and maj_at_k(2, [3], 5) == 0.0
    assert maj_at_k(0, [5], 3) == 0.0


@pytest.mark.parametrize(("c", "wrong", "k", "invalid"), [
    (900, [700, 300, 50, 50], 600, 1000),
    (30, [400, 20] + [1] * 50, 64, 3000),
    (50, [45, 40, 5, 5], 32, 10),
])
def test_large_n_agrees_with_random_subsets(c: int, wrong: list[int], k: int,
                                            invalid: int) -> None:
    """C(n, k) overflows floats here; the log-space sums must not.  Oracle: the vote of
    20,000 random k-subsets (4 standard errors)."""
    value = maj_at_k(c, wrong, k, invalid)
    assert math.isfinite(value) and 0.0 <= value <= 1.0
    labels = np.array([0] * c + [-1] * invalid
                      + [j + 1 for j, m in enumerate(wrong) for _ in range(m)])
    rng = np.random.default_rng(0)
    draws = 20_000
    wins = 0.0
    for _ in range(draws):
        votes = np.bincount(rng.choice(labels, size=k, replace=False) + 1)[1:]
        if votes.size and votes.max() > 0 and votes[0] == votes.max():
            wins += 1.0 / np.count_nonzero(votes == votes.max())
    estimate = wins / draws
    stderr = max(math.sqrt(estimate * (1 - estimate) / draws), 1 / draws)
    assert abs(value - estimate) < 4 * stderr + 1e-9


@pytest.mark.parametrize(("args", "message"), [
    ((1, [1], 3), "k must be"), ((1, [1], 0), "k must be"), ((-1, [], 1), "num_correct"),
    ((1, [-2], 1), "wrong_counts"), ((1, [1], True), "k must be"),
])
def test_bad_arguments(args: tuple[int, list[int], int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        maj_at_k(*args)


def test_majority_table_means_over_problems() -> None:
    rows = []
    problems = {"0": (3, [2], 1), "1": (0, [1, 1], 2)}  # n = 6 and 4
    for pid, (c, wrong, invalid) in problems.items():
        rows.append(("m", "", "t", pid, "7", c, True, True))
        rows += [("m", "", "t", pid, f"w{j}", m, False, True) for j, m in enumerate(wrong)]
        rows.append(("m", "", "t", pid, "[invalid]", invalid, False, False))
    answers = pd.DataFrame(rows, columns=["model", "revision", "task", "problem_id", "answer",
                                          "count", "correct", "valid"])
    table = majority_table(answers)
    assert table["k"].tolist() == [1, 2, 4]  # powers of two up to the smallest n (4)
    row = table.set_index("k").loc[4]
    assert row["num_problems"] == 2
    expected = np.mean([maj_at_k(3, [2], 4, 1), maj_at_k(0, [1, 1], 4, 2)])
    assert row["maj@k"] == pytest.approx(expected)
    assert row["pass@k"] == pytest.approx(np.mean([float(np.ravel(pass_at_k(6, 3, 4))[0]), 0.0]))
    assert row["avg@n"] == pytest.approx((3 / 6 + 0 / 4) / 2)
    only_big = majority_table(answers, ks=[5]).iloc[0]
    assert only_big["num_problems"] == 1  # k = 5 > n = 4 for problem "1"

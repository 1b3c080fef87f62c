"""pass_at_k against exact rational arithmetic and the laws of the estimator."""

from __future__ import annotations

import math
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_eval_scaling import pass_at_k
from tests.support import exact_pass

REL_TOL = 1e-9


def rel_err(got: float, want: Fraction) -> float:
    if want == 0:
        return abs(got)
    return abs(Fraction(got) - want) / want


def test_oracle_agrees_with_binomials() -> None:
    for n, c, k in [(10, 3, 2), (20, 0, 5), (7, 7, 3), (30, 4, 30), (12, 5, 8)]:
        want = 1 - Fraction(comb(n - c, k), comb(n, k))
        assert exact_pass(n, c, k) == want


# Cases that break the plain lgamma difference (SPEC.md section 1) and others at n up to 1e7.
HARD_CASES = [
    (3_000_000, 1, 1),
    (10_000_000, 1, 3),
    (10_000_000, 1, 1),
    (10_000_000, 2, 10_000),
    (10_000_000, 5, 1_000_000),
    (10_000_000, 1000, 7),
    (10_000_000, 3, 9_999_990),
    (10_000_000, 9_999_000, 2),
    (10_000_000, 40, 100_000),
    (1_000_000, 2000, 300),
    (123_456, 17, 3_000),
    (10_000, 5000, 2),
    (10_000, 1, 9_999),
    (128, 5, 100),
    (2, 1, 1),
]


@pytest.mark.parametrize("n,c,k", HARD_CASES)
def test_relative_error_vs_fraction(n: int, c: int, k: int) -> None:
    got = float(pass_at_k([n], [c], k)[0])
    assert rel_err(got, exact_pass(n, c, k)) < REL_TOL


def test_every_k_against_fractions_small_n() -> None:
    rng = np.random.default_rng(1)
    n = 300
    c = np.array([0, 1, 2, 17, 150, 299, 300] + list(rng.integers(0, n + 1, 10)))
    ks = np.arange(1, n + 1)
    got = pass_at_k(np.full(c.size, n), c, ks)
    assert got.shape == (c.size, n)
    for i, ci in enumerate(c):
        for j in range(0, n, 7):
            assert rel_err(float(got[i, j]), exact_pass(n, int(ci), int(ks[j]))) < REL_TOL


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 10_000_000),
    c_frac=st.floats(0, 1),
    k_frac=st.floats(0, 1),
)
def test_random_large_n_vs_fraction(n: int, c_frac: float, k_frac: float) -> None:
    c = round(c_frac * n)
    k = max(1, round(k_frac * n))
    # The oracle costs min(k, c) multiplications: keep it affordable.
    if min(k, c) > 3000 and n - c >= k:
        c = min(c, 3000)
    got = float(pass_at_k([n], [c], k)[0])
    assert rel_err(got, exact_pass(n, c, k)) < REL_TOL


def test_edge_values() -> None:
    n = np.array([10, 10, 10, 5, 0])
    c = np.array([0, 10, 3, 5, 0])
    out = pass_at_k(n, c, np.array([1, 8, 11]))
    # c = 0 -> 0 (k <= n); all correct -> 1; k > n -> NaN, never 1.0
    np.testing.assert_array_equal(out[0, :2], [0.0, 0.0])
    np.testing.assert_array_equal(out[1, :2], [1.0, 1.0])
    assert np.isnan(out[:, 2]).all()
    assert out[2, 1] == 1.0  # n - c = 7 < 8
    assert np.isnan(out[4]).all()


def test_shapes_and_scalar_k() -> None:
    assert pass_at_k([10, 20], [1, 2], 3).shape == (2,)
    assert pass_at_k([10, 20], [1, 2], [3]).shape == (2, 1)
    assert pass_at_k([10, 20], [1, 2], [1, 2, 3]).shape == (2, 3)
    assert pass_at_k(10, 1, 1).shape == (1,)


def test_k1_is_c_over_n() -> None:
    n = np.array([1, 7, 128, 10_000, 3_000_000])
    c = np.array([1, 3, 5, 9_999, 2])
    np.testing.assert_array_equal(pass_at_k(n, c, 1), c / n)


@pytest.mark.parametrize(
    "n,c,k,match",
    [
        ([5], [6], 1, "num_correct must be <= num_samples"),
        ([-1], [0], 1, "num_samples must be >= 0"),
        ([5], [-2], 1, "num_correct must be >= 0"),
        ([5], [1], 0, "k must be >= 1"),
        ([5, 6], [1], 1, "same shape"),
        ([5.5], [1], 1, "whole numbers"),
    ],
)
def test_bad_input(n, c, k, match) -> None:
    with pytest.raises(ValueError, match=match):
        pass_at_k(n, c, k)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 2000), data=st.data())
def test_monotone_in_k_and_c(n: int, data) -> None:
    c = data.draw(st.integers(0, n))
    ks = np.arange(1, n + 1)
    row = pass_at_k([n], [c], ks)[0]
    assert np.all(np.diff(row) >= -1e-15)
    assert np.all((row >= 0) & (row <= 1))
    k = data.draw(st.integers(1, n))
    col = pass_at_k(np.full(n + 1, n), np.arange(n + 1), k)
    assert np.all(np.diff(col) >= -1e-15)
    assert col[0] == 0.0
    # exactly 1 once fewer than k samples are wrong
    assert np.all(col[np.arange(n + 1) > n - k] == 1.0)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 100_000), data=st.data())
def test_k1_property(n: int, data) -> None:
    c = data.draw(st.integers(0, n))
    assert pass_at_k([n], [c], 1)[0] == c / n


def test_order_and_duplicates_do_not_matter() -> None:
    rng = np.random.default_rng(0)
    n = rng.integers(1, 5000, 300)
    c = rng.integers(0, n + 1)
    ks = np.array([100, 1, 10, 1000, 10])
    out = pass_at_k(n, c, ks)
    perm = rng.permutation(n.size)
    np.testing.assert_array_equal(pass_at_k(n[perm], c[perm], ks), out[perm])
    np.testing.assert_array_equal(out[:, 2], pass_at_k(n, c, 10))
    np.testing.assert_array_equal(out[:, 2], out[:, 4])


@pytest.mark.parametrize("c", [1, 10, 100, 1000, 3000])
@pytest.mark.parametrize("target", [1e-6, 1e-2, 0.3, 0.6, 0.9, 0.999])
def test_sweep_across_route_boundary(c: int, target: float) -> None:
    """n = 1e7 with k chosen so pass@k spans 1e-6..0.999: both evaluation routes and the switch."""
    n = 10_000_000
    k = min(n, max(1, round(-n / c * float(np.log1p(-target)))))
    got = float(pass_at_k([n], [c], k)[0])
    assert rel_err(got, exact_pass(n, c, k)) < REL_TOL


def _grid_cases() -> list[tuple[int, int, int]]:
    """(n, c, k) on a log grid of n up to 1e12, with min(k, c) small enough for the oracle."""
    cases = []
    for n in [10**e for e in range(2, 13)] + [4 * 10**7, 7 * 10**7, 123_456_789_012]:
        for c in sorted({1, 2, 3, 17, 300, n // 1000 or 1, n // 3, n - 1}):
            for k in sorted({2, 3, 10, 150, n // 10**6 or 2, n // 7 or 2, n - c}):
                if 2 <= k <= n and 1 <= c < n and min(k, c) <= 300:
                    cases.append((n, c, k))
    return cases


def test_exact_to_1e9_for_n_up_to_1e12() -> None:
    """Every (n, c, k) of a grid over n = 1e2 ... 1.2e11 against the fractions oracle,
    including the rounding case where the lgamma route gives log R >= 0 (it returned -0.0
    for pass_at_k(70_000_000, 1, 2), exactly 2/n)."""
    cases = _grid_cases()
    assert len(cases) > 300
    n = np.array([x[0] for x in cases])
    c = np.array([x[1] for x in cases])
    got = np.array([pass_at_k(n[i:i + 1], c[i:i + 1], x[2])[0] for i, x in enumerate(cases)])
    for (ni, ci, ki), value in zip(cases, got):
        exact = exact_pass(ni, ci, ki)
        assert value > 0, (ni, ci, ki, value)
        assert abs(Fraction(value) - exact) <= Fraction(1, 10**9) * exact, (ni, ci, ki, value)


def test_two_over_n_at_seventy_million() -> None:
    got = float(pass_at_k(70_000_000, 1, 2)[0])
    assert got == pytest.approx(2 / 70_000_000, rel=1e-12)
    assert math.copysign(1.0, got) == 1.0


def test_k_above_n_is_undefined_not_one() -> None:
    """lm-eval 0.5 / lighteval return 1.0 when k > n (``if n - c < k: return 1.0`` is
    checked before ``k <= n``); here pass@k is undefined there, NaN, never 1.0."""
    def lighteval_style(n: int, c: int, k: int) -> float:
        if n - c < k:
            return 1.0
        return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))

    assert lighteval_style(4, 1, 8) == 1.0  # the behaviour this estimator avoids
    assert np.isnan(pass_at_k(4, 1, 8)[0])
    assert np.isnan(pass_at_k(4, 0, 5)[0])
    assert pass_at_k(4, 1, 4)[0] == 1.0  # k = n with one correct sample: every draw holds it


@pytest.mark.parametrize("args", [(1e20, 1, 2), (10, 1, 1e20), ([99999999999999999999], [1], 2)])
def test_beyond_int64_names_the_real_value(args) -> None:
    with pytest.raises(ValueError, match=r"64-bit integer, got (1e\+20|99999999999999999999)"):
        pass_at_k(*args)

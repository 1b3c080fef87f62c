"""The compute-optimal envelope against independent oracles.

Oracles: numerical minimisation of the law over the split of a budget
(``scipy.optimize.minimize_scalar`` in log N), the law written out directly in the
tests, exact rational Taylor series of the penalty, and numerical log-log slopes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

import lm_eval_scaling
from lm_eval_scaling.analysis.envelope import Envelope, envelope, envelope_from_fit
from lm_eval_scaling.errors import InputError, ParameterError

LOG6 = math.log(6.0)

# ----------------------------------------------------------------------------- oracles


def law(p: dict[str, float], N: np.ndarray | float, D: np.ndarray | float) -> np.ndarray:
    """y = E0 + A N^-beta + B D^-gamma, written out independently of the module."""
    return p["E0"] + p["N0"] * np.power(N, -p["beta"]) + p["D0"] * np.power(D, -p["gamma"])


def log_reducible_at(p: dict[str, float], log_n: float, log_c: float) -> float:
    """ln(A N^-beta + B D^-gamma) with D = C / (6N), in log space (no overflow)."""
    log_d = log_c - LOG6 - log_n
    return float(
        np.logaddexp(math.log(p["N0"]) - p["beta"] * log_n,
                     math.log(p["D0"]) - p["gamma"] * log_d)
    )


def numerical_optimum(p: dict[str, float], C: float) -> tuple[float, float]:
    """(ln N*, ln reducible*) by bounded Brent over ln N (the objective is convex in ln N)."""
    log_c = math.log(C)
    res = minimize_scalar(
        lambda u: log_reducible_at(p, u, log_c),
        bounds=(-2000.0, 2000.0),
        method="bounded",
        options={"xatol": 1e-12, "maxiter": 2000},
    )
    assert res.success
    return float(res.x), float(res.fun)


def exact_excess_series(beta: float, gamma: float, u: float) -> Fraction:
    """Phi(e^u) - 1 = sum_{k>=2} u^k (gamma (-beta)^k + beta gamma^k) / (k! (beta+gamma)),
    summed in exact rational arithmetic (relative truncation < 1e-30 for |u| <= 0.1
    and exponents <= 1.5)."""
    assert abs(u) <= 0.11
    terms = 12 if abs(u) < 1e-3 else 50
    b, g, x = Fraction(beta), Fraction(gamma), Fraction(u)
    total = Fraction(0)
    fact = 1
    for k in range(2, terms):
        fact *= k
        total += x**k * (g * (-b) ** k + b * g**k) / (fact * (b + g))
    return total


def params_dict(E0: float, N0: float, beta: float, D0: float, gamma: float) -> dict[str, float]:
    return {"E0": E0, "N0": N0, "beta": beta, "D0": D0, "gamma": gamma}


# ------------------------------------------------------------------------- strategies

exponents = st.floats(min_value=0.05, max_value=1.5)
prefactors = st.floats(min_value=-1.0, max_value=5.0).map(lambda x: 10.0**x)
irreducible = st.floats(min_value=0.0, max_value=5.0)
budgets = st.floats(min_value=12.0, max_value=30.0).map(lambda x: 10.0**x)
ratios = st.floats(min_value=-6.0, max_value=6.0).map(lambda x: 10.0**x)
law_params = st.builds(params_dict, irreducible, prefactors, exponents, prefactors, exponents)

FAST = settings(max_examples=40, deadline=None)

EXAMPLES = [
    params_dict(1.69, 406.4, 0.34, 410.7, 0.28),  # Chinchilla-like magnitudes
    params_dict(0.2, 50.0, 0.12, 3000.0, 0.6),    # very unequal exponents
    params_dict(0.0, 10.0, 0.4, 10.0, 0.4),       # equal exponents, E0 = 0
    params_dict(2.0, 1e4, 1.2, 0.5, 0.07),
]


# ------------------------------------------------------------ closed forms vs minimiser


@FAST
@given(p=law_params, C=budgets)
def test_ridge_matches_numerical_minimisation(p: dict[str, float], C: float) -> None:
    env = envelope(**p)
    log_n_num, log_red_num = numerical_optimum(p, C)
    assume(-1990.0 < log_n_num < 1990.0)  # optimum strictly inside the search bracket
    # ln N* is determined to ~sqrt(eps / (beta gamma)) by a minimiser (flat minimum).
    assert math.log(env.n_opt(C)) == pytest.approx(log_n_num, abs=1e-4)
    # The minimum value is determined to ~eps; the closed form is the true minimum.
    log_red_closed = math.log(env.C0) - env.alpha * math.log(C)
    assert log_red_closed == pytest.approx(log_red_num, abs=1e-9)
    assert env.loss_opt(C) == pytest.approx(p["E0"] + math.exp(log_red_num), rel=1e-9)
    assert log_red_closed <= log_red_num + 1e-12
    assert env.d_opt(C) == pytest.approx(C / (6.0 * env.n_opt(C)), rel=1e-12)
    assert env.tokens_per_param_opt(C) == pytest.approx(env.d_opt(C) / env.n_opt(C), rel=1e-12)


@pytest.mark.parametrize("p", EXAMPLES)
def test_ridge_matches_minimisation_over_budget_grid(p: dict[str, float]) -> None:
    env = envelope(**p)
    Cs = np.logspace(10, 40, 13)
    n_closed = env.n_opt(Cs)
    loss_closed = env.loss_opt(Cs)
    for C, n_c, y_c in zip(Cs, n_closed, loss_closed):
        log_n_num, log_red_num = numerical_optimum(p, float(C))
        assert math.log(n_c) == pytest.approx(log_n_num, abs=1e-4)
        assert y_c == pytest.approx(p["E0"] + math.exp(log_red_num), rel=1e-12)


@FAST
@given(p=law_params, C=budgets)
def test_loss_opt_is_the_law_at_the_optimum(p: dict[str, float], C: float) -> None:
    env = envelope(**p)
    n, d = env.n_opt(C), env.d_opt(C)
    assert 6.0 * n * d == pytest.approx(C, rel=1e-12)
    assert env.loss_opt(C) == pytest.approx(float(law(p, n, d)), rel=1e-12)
    assert env.loss(n, d) == pytest.approx(float(law(p, n, d)), rel=1e-13)
    # first-order optimality: beta A N^-beta = gamma B D^-gamma on the ridge
    assert p["beta"] * p["N0"] * n ** -p["beta"] == pytest.approx(
        p["gamma"] * p["D0"] * d ** -p["gamma"], rel=1e-11
    )


@FAST
@given(p=law_params)
def test_alpha_and_C0_formulas(p: dict[str, float]) -> None:
    env = envelope(**p)
    b, g = p["beta"], p["gamma"]
    s = b + g
    assert env.alpha == pytest.approx(b * g / s, rel=1e-15)
    assert 1.0 / env.alpha == pytest.approx(1.0 / b + 1.0 / g, rel=1e-14)  # parallel sum
    spec_c0 = s * (p["N0"] / g) ** (g / s) * (p["D0"] / b) ** (b / s) * 6.0**env.alpha
    assert env.C0 == pytest.approx(spec_c0, rel=1e-12)
    assert env.n_opt_exponent == pytest.approx(g / s, rel=1e-15)
    assert env.d_opt_exponent == pytest.approx(b / s, rel=1e-15)


@pytest.mark.parametrize("p", EXAMPLES)
def test_alpha_and_C0_from_numerical_minima(p: dict[str, float]) -> None:
    """Slope and intercept of ln(min reducible loss) vs ln C, both from the minimiser."""
    env = envelope(**p)
    c1, c2 = 1e15, 1e35
    _, r1 = numerical_optimum(p, c1)
    _, r2 = numerical_optimum(p, c2)
    slope = (r2 - r1) / (math.log(c2) - math.log(c1))
    assert -slope == pytest.approx(env.alpha, rel=1e-9)
    assert math.log(env.C0) == pytest.approx(r1 + env.alpha * math.log(c1), abs=1e-9)


def test_chinchilla_exponent_split() -> None:
    """Hoffmann et al. (2022) eq. 10 (A=406.4, B=410.7, alpha_N=0.34, beta_D=0.28): the
    optimal-size exponent is beta_D / (alpha_N + beta_D) = 0.28 / 0.62."""
    env = envelope(1.69, 406.4, 0.34, 410.7, 0.28)
    assert env.n_opt_exponent == pytest.approx(0.28 / 0.62)
    ratio = env.n_opt(1e25) / env.n_opt(1e24)
    assert math.log10(ratio) == pytest.approx(0.28 / 0.62, rel=1e-12)


# ---------------------------------------------------------------------------- penalty


@settings(max_examples=100, deadline=None)
@given(beta=exponents, gamma=exponents, r=ratios)
def test_penalty_at_least_one(beta: float, gamma: float, r: float) -> None:
    env = envelope(0.0, 1.0, beta, 1.0, gamma)
    phi = env.penalty(r)
    excess = env.penalty_excess(r)
    assert phi >= 1.0
    if r != 1.0:
        assert excess > 0.0
    direct = (gamma * r**-beta + beta * r**gamma) / (beta + gamma)
    assert phi == pytest.approx(direct, rel=1e-13)


@settings(max_examples=100, deadline=None)
@given(beta=exponents, gamma=exponents,
       r=st.floats(min_value=1 - 1e-6, max_value=1 + 1e-6))
def test_penalty_excess_strictly_positive_near_one(beta: float, gamma: float, r: float) -> None:
    env = envelope(0.0, 1.0, beta, 1.0, gamma)
    excess = env.penalty_excess(r)
    if r == 1.0:
        assert excess == 0.0
    else:
        assert excess > 0.0
        want = exact_excess_series(beta, gamma, math.log(r))
        assert abs(Fraction(excess) - want) <= 1e-13 * want


def test_penalty_is_exactly_one_at_the_ridge() -> None:
    for p in EXAMPLES:
        env = envelope(**p)
        assert env.penalty(1.0) == 1.0
        assert env.penalty_excess(1.0) == 0.0
        for C in [3e21, 1.7e13, 9.1e27]:
            assert env.effective_compute(C, 1.0) == C  # exactly: no misallocation, no loss
            assert env.effective_compute(C, 1.0 + 1e-12) <= C


@pytest.mark.parametrize("p", EXAMPLES)
def test_penalty_excess_against_exact_series(p: dict[str, float]) -> None:
    env = envelope(**p)
    for u in [-0.1, -0.03, -1e-3, -1e-7, -1e-12, 1e-15, 1e-9, 1e-4, 0.02, 0.1]:
        r = math.exp(u)
        got = env.penalty_excess(r)
        want = exact_excess_series(p["beta"], p["gamma"], math.log(r))
        assert abs(Fraction(got) - want) <= 1e-13 * want, u


@FAST
@given(p=law_params, C=budgets, r=ratios)
def test_penalty_is_ratio_of_reducible_losses(p: dict[str, float], C: float, r: float) -> None:
    env = envelope(**p)
    n_star = env.n_opt(C)
    n = r * n_star
    d = C / (6.0 * n)
    off = p["N0"] * n ** -p["beta"] + p["D0"] * d ** -p["gamma"]
    on = p["N0"] * n_star ** -p["beta"] + p["D0"] * env.d_opt(C) ** -p["gamma"]
    assert env.penalty(r) == pytest.approx(off / on, rel=1e-11)
    assert env.ratio(n, C) == pytest.approx(r, rel=1e-12)


@FAST
@given(p=law_params,
       log_n=st.floats(min_value=5.0, max_value=13.0),
       log_d=st.floats(min_value=7.0, max_value=14.0))
def test_any_run_factorises_through_the_envelope(
    p: dict[str, float], log_n: float, log_d: float
) -> None:
    """y(N, D) - E0 = Phi(r) * (y*(6ND) - E0) for every (N, D), r = N / N*(6ND)."""
    env = envelope(**p)
    n, d = 10.0**log_n, 10.0**log_d
    C = 6.0 * n * d
    r = env.ratio(n, C)
    reducible = float(law(p, n, d)) - p["E0"]
    optimal = env.C0 * C ** -env.alpha
    assert reducible == pytest.approx(env.penalty(r) * optimal, rel=1e-10)
    assert env.loss(n, d) >= env.loss_opt(C) * (1 - 1e-14)


@pytest.mark.parametrize(
    "beta,gamma", [(0.34, 0.28), (0.12, 0.6), (0.4, 0.4), (1.2, 0.07), (0.05, 1.5)]
)
def test_quadratic_approximation_near_one(beta: float, gamma: float) -> None:
    """Phi(r) - 1 - (beta gamma / 2) ln(r)^2 = c3 ln(r)^3 + O(ln(r)^4),
    c3 = beta gamma (gamma - beta) / 6, c4 = beta gamma (beta^2 - beta gamma + gamma^2) / 24."""
    env = envelope(0.0, 1.0, beta, 1.0, gamma)
    c3 = beta * gamma * (gamma - beta) / 6.0
    c4 = beta * gamma * (beta**2 - beta * gamma + gamma**2) / 24.0
    for u in [0.1, -0.1, 0.03, -0.03, 0.01, -0.01, 3e-3, -3e-3]:
        err = env.penalty_excess(math.exp(u)) - 0.5 * beta * gamma * u * u
        # remainder after the cubic term is c4 u^4 + O(u^5); allow a factor 2 for the O(u^5)
        assert abs(err - c3 * u**3) <= 2.0 * c4 * u**4 + 1e-16, u
        if beta != gamma:
            assert err / u**3 == pytest.approx(c3, rel=3.0 * abs(u) * max(beta, gamma) * 5)
    if beta == gamma:  # cubic term vanishes: the error is O(u^4)
        u = 0.01
        err = env.penalty_excess(math.exp(u)) - 0.5 * beta * gamma * u * u
        assert err / u**4 == pytest.approx(c4, rel=0.05)


# ------------------------------------------------------------------ effective compute


@FAST
@given(p=law_params, C=budgets, r=st.floats(min_value=-3.0, max_value=3.0).map(lambda x: 10**x))
def test_effective_compute_reaches_the_same_loss(p: dict[str, float], C: float, r: float) -> None:
    env = envelope(**p)
    n = r * env.n_opt(C)
    d = C / (6.0 * n)
    c_eff = env.effective_compute(C, r)
    assert c_eff <= C  # never more than the budget spent, not even by one ulp
    misallocated = float(law(p, n, d))
    on_ridge = float(law(p, env.n_opt(c_eff), env.d_opt(c_eff)))
    assert on_ridge == pytest.approx(misallocated, rel=1e-10)
    # reducible parts, free of the E0 offset
    assert env.C0 * c_eff ** -env.alpha == pytest.approx(misallocated - p["E0"], rel=1e-10)


def test_effective_compute_extreme_ratios_stay_finite() -> None:
    env = envelope(**EXAMPLES[0])
    phi = env.penalty(1e200)
    assert math.isfinite(phi)
    c_eff = env.effective_compute(1e24, 1e200)
    assert 0.0 <= c_eff < 1e24
    # moderate-size check of the log-sum-exp branch against the direct formula
    r = 1e4
    assert env.effective_compute(1e24, r) == pytest.approx(
        1e24 * env.penalty(r) ** (-1.0 / env.alpha), rel=1e-12
    )


# ------------------------------------------------------------- fixed tokens/param ratio


def fixed_ratio_log_reducible(p: dict[str, float], log_c: np.ndarray, kappa: float) -> np.ndarray:
    """ln(y - E0) along D = kappa N (so N = sqrt(C / (6 kappa))), in log space."""
    log_n = 0.5 * (log_c - LOG6 - math.log(kappa))
    log_d = log_n + math.log(kappa)
    return np.logaddexp(math.log(p["N0"]) - p["beta"] * log_n,
                        math.log(p["D0"]) - p["gamma"] * log_d)


@pytest.mark.parametrize(
    "beta,gamma", [(0.3, 0.5), (0.5, 0.3), (0.34, 0.28), (0.12, 0.6), (0.4, 0.4)]
)
@pytest.mark.parametrize("kappa", [1.0, 20.0, 1000.0])
def test_fixed_ratio_exponent_is_the_asymptotic_slope(
    beta: float, gamma: float, kappa: float
) -> None:
    p = params_dict(1.0, 400.0, beta, 400.0, gamma)
    env = envelope(**p)
    assert env.fixed_ratio_exponent == min(beta, gamma) / 2
    # many decades beyond any realistic budget: slope of ln(y - E0) vs ln C -> min/2
    log_c = np.log(10.0) * np.linspace(150.0, 250.0, 41)
    slope = np.polyfit(log_c, fixed_ratio_log_reducible(p, log_c, kappa), 1)[0]
    assert -slope == pytest.approx(env.fixed_ratio_exponent, abs=1e-6)
    # the fixed-ratio path never beats the envelope asymptotically
    assert env.fixed_ratio_exponent <= env.alpha + 1e-15
    # the slope at huge C matches the module's local exponent there
    assert env.fixed_ratio_local_exponent(1e200, kappa) == pytest.approx(-slope, abs=1e-6)


def test_fixed_ratio_slope_is_not_min_over_realistic_budgets() -> None:
    """The qualifier: at finite C the slope is a mixture; it equals alpha where the
    fixed ratio crosses the ridge, exceeds alpha before and approaches min/2 only slowly."""
    p = params_dict(1.0, 400.0, 0.3, 400.0, 0.5)
    env = envelope(**p)
    c_cross = 1e21
    kappa = env.tokens_per_param_opt(c_cross)  # fixed ratio that is optimal at 1e21
    # numerical local slope at the crossing by central differences of the direct law
    h = 1e-4
    lc = math.log(c_cross)
    f = fixed_ratio_log_reducible(p, np.array([lc - h, lc + h]), kappa)
    local = -(f[1] - f[0]) / (2 * h)
    assert local == pytest.approx(env.alpha, rel=1e-7)
    assert env.fixed_ratio_local_exponent(c_cross, kappa) == pytest.approx(env.alpha, rel=1e-12)
    # fitted over 1e18..1e24 the exponent is nowhere near min(beta, gamma)/2 = 0.15
    log_c = np.log(np.logspace(18, 24, 25))
    fitted = -np.polyfit(log_c, fixed_ratio_log_reducible(p, log_c, kappa), 1)[0]
    assert abs(fitted - env.alpha) < 0.01
    assert fitted - env.fixed_ratio_exponent > 0.03
    # before the crossing the fixed-ratio run improves faster than the envelope
    assert env.fixed_ratio_local_exponent(1e15, kappa) > env.alpha
    assert env.fixed_ratio_local_exponent(1e27, kappa) < env.alpha


@FAST
@given(p=law_params, C=budgets, kappa=st.floats(min_value=-2.0, max_value=4.0).map(
    lambda x: 10**x))
def test_fixed_ratio_local_exponent_matches_finite_differences(
    p: dict[str, float], C: float, kappa: float
) -> None:
    env = envelope(**p)
    h = 1e-4
    lc = math.log(C)
    f = fixed_ratio_log_reducible(p, np.array([lc - h, lc + h]), kappa)
    numeric = -(f[1] - f[0]) / (2 * h)
    assert env.fixed_ratio_local_exponent(C, kappa) == pytest.approx(numeric, abs=1e-7)
    lo, hi = sorted((p["beta"] / 2, p["gamma"] / 2))
    assert lo - 1e-15 <= env.fixed_ratio_local_exponent(C, kappa) <= hi + 1e-15


@FAST
@given(beta=exponents, gamma=exponents)
def test_fixed_ratio_exponent_below_alpha_unless_equal(beta: float, gamma: float) -> None:
    env = envelope(0.0, 1.0, beta, 1.0, gamma)
    if beta == gamma:
        assert env.fixed_ratio_exponent == pytest.approx(env.alpha, rel=1e-15)
    else:
        assert env.fixed_ratio_exponent < env.alpha
    assert env.path_exponent(0.5) == pytest.approx(env.fixed_ratio_exponent, rel=1e-15)


@pytest.mark.parametrize("beta,gamma", [(0.3, 0.5), (0.34, 0.28), (0.4, 0.4)])
def test_path_exponent(beta: float, gamma: float) -> None:
    p = params_dict(0.5, 400.0, beta, 400.0, gamma)
    env = envelope(**p)
    log_c = np.log(10.0) * np.linspace(200.0, 280.0, 21)
    for a in [0.2, 0.45, 0.5, 0.73, 0.9, 1.2, -0.3]:
        if abs(a * beta - (1 - a) * gamma) < 0.02 and beta != gamma:
            continue  # near the kink the two terms decay alike: convergence too slow
        log_n = a * (log_c - LOG6)  # N = (C/6)^a, D = (C/6)^(1-a)
        log_d = log_c - LOG6 - log_n
        red = np.logaddexp(math.log(400.0) - beta * log_n, math.log(400.0) - gamma * log_d)
        slope = np.polyfit(log_c, red, 1)[0]
        assert -slope == pytest.approx(env.path_exponent(a), abs=1e-6), a
    grid = np.linspace(0.0, 1.0, 100001)
    best = grid[np.argmax(env.path_exponent(grid))]
    assert best == pytest.approx(env.n_opt_exponent, abs=2e-5)
    assert env.path_exponent(env.n_opt_exponent) == pytest.approx(env.alpha, rel=1e-14)


# ------------------------------------------------------------------ API and validation


def test_vectorised_broadcasting_and_scalars() -> None:
    env = envelope(**EXAMPLES[0])
    Cs = np.logspace(18, 24, 4)
    rs = np.array([[0.5], [1.0], [2.0]])
    out = env.effective_compute(Cs, rs)
    assert out.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert out[i, j] == env.effective_compute(float(Cs[j]), float(rs[i, 0]))
    assert isinstance(env.n_opt(1e21), float)
    assert isinstance(env.penalty(2.0), float)
    assert env.n_opt(Cs).shape == (4,)
    assert env.loss(np.array([1e8, 1e9]), 1e11).shape == (2,)
    assert env.ratio(np.array([1e8, 1e9]), np.array([1e20, 1e21])).shape == (2,)


def test_far_budgets_in_log_space() -> None:
    env = envelope(**EXAMPLES[1])
    n = env.n_opt(1e300)
    assert math.isfinite(n) and n > 0
    assert math.log(n) == pytest.approx(numerical_optimum(EXAMPLES[1], 1e300)[0], abs=1e-4)


def test_to_dict_and_params() -> None:
    env = envelope(**EXAMPLES[0])
    d = env.to_dict()
    assert set(d) == {"E0", "N0", "beta", "D0", "gamma", "alpha", "C0", "n_opt_exponent",
                      "d_opt_exponent", "fixed_ratio_exponent"}
    assert json.loads(json.dumps(d)) == d
    assert env.params() == EXAMPLES[0]
    assert envelope(**env.params()) == env


def test_frozen() -> None:
    env = envelope(**EXAMPLES[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.beta = 0.5  # type: ignore[misc]
    assert Envelope(**EXAMPLES[0]) == env
    assert dataclasses.replace(env, beta=0.5).alpha == pytest.approx(0.5 * 0.28 / 0.78)


def test_envelope_from_fit_variants() -> None:
    p = EXAMPLES[0]
    want = envelope(**p)
    assert envelope_from_fit(p) == want
    assert Envelope.from_params(p) == want
    assert envelope_from_fit(SimpleNamespace(law="params_tokens", params=p)) == want
    assert envelope_from_fit(SimpleNamespace(params=p)) == want
    wrapped = {k: SimpleNamespace(value=v) for k, v in p.items()}
    assert envelope_from_fit(SimpleNamespace(params=wrapped)) == want
    assert envelope_from_fit({k: np.float64(v) for k, v in p.items()}) == want


def test_envelope_from_fit_refuses_bad_input(caplog: pytest.LogCaptureFixture) -> None:
    p = EXAMPLES[0]
    with pytest.raises(InputError, match="law 'compute'"):
        envelope_from_fit(SimpleNamespace(law="compute", params={"E0": 1, "C0": 2, "alpha": 0.1}))
    with pytest.raises(InputError, match="missing gamma"):
        envelope_from_fit({k: v for k, v in p.items() if k != "gamma"})
    with pytest.raises(InputError, match="unexpected alpha"):
        envelope_from_fit({**p, "alpha": 0.2})
    with pytest.raises(InputError, match=r"\.params mapping"):
        envelope_from_fit(SimpleNamespace(params=[1, 2, 3]))
    with pytest.raises(InputError, match="mapping"):
        Envelope.from_params([("E0", 1.0)])  # type: ignore[arg-type]
    with caplog.at_level("WARNING", logger="lm_eval_scaling.analysis.envelope"):
        envelope_from_fit(SimpleNamespace(law="params_tokens", params=p, converged=False))
    assert "did not converge" in caplog.text


@pytest.mark.parametrize("name", ["N0", "beta", "D0", "gamma"])
@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "x", None, True])
def test_parameter_validation(name: str, bad: object) -> None:
    p: dict[str, object] = dict(EXAMPLES[0])
    p[name] = bad
    with pytest.raises(ParameterError, match=f"parameter '{name}'") as info:
        envelope(**p)  # type: ignore[arg-type]
    assert info.value.name == name
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)


def test_e0_validation() -> None:
    assert envelope(**{**EXAMPLES[0], "E0": 0.0}).E0 == 0.0
    for bad in [-0.1, math.nan, -math.inf]:
        with pytest.raises(ParameterError, match="'E0'"):
            envelope(**{**EXAMPLES[0], "E0": bad})


def test_derived_prefactor_out_of_range() -> None:
    with pytest.raises(ParameterError, match="'C0'"):
        envelope(0.0, 1e308, 1.0, 1e308, 1.0)  # C0 = 2 * 1e308 * sqrt(6)
    with pytest.raises(ParameterError, match="'C0'"):
        envelope(0.0, 1e-320, 1.0, 1e-320, 1.0)  # C0 = 2 * 1e-320 * sqrt(6): subnormal


def test_argument_validation_names_the_entry() -> None:
    env = envelope(**EXAMPLES[0])
    with pytest.raises(ParameterError, match=r"'C'.*index \(2,\)") as info:
        env.n_opt([1e20, 1e21, -5.0])
    assert info.value.value == -5.0
    with pytest.raises(ParameterError, match="'r'"):
        env.penalty(0.0)
    with pytest.raises(ParameterError, match="'r'"):
        env.effective_compute(1e20, math.nan)
    with pytest.raises(ParameterError, match="'N'"):
        env.loss(-1.0, 1e9)
    with pytest.raises(ParameterError, match="'D'"):
        env.loss(1e9, math.inf)
    with pytest.raises(ParameterError, match="'tokens_per_param'"):
        env.fixed_ratio_local_exponent(1e20, 0.0)
    with pytest.raises(ParameterError, match="'a'"):
        env.path_exponent(math.nan)
    with pytest.raises(ParameterError, match="'C'"):
        env.loss_opt("big")


def test_exported_from_package() -> None:
    assert lm_eval_scaling.envelope is envelope
    assert lm_eval_scaling.Envelope is Envelope
    assert lm_eval_scaling.ParameterError is ParameterError
    assert {"envelope", "Envelope", "ParameterError"} <= set(lm_eval_scaling.__all__)

"""The success-probability model: fits recover known parameters, closed forms match exact
fractions, filling k > n, thinning is exactly hypergeometric, held-out selection."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy import stats

from lm_eval_scaling.passk.model import (
    fill_pass_at_k,
    fit_success_model,
    held_out_log_likelihood,
    select_model,
    thin_counts,
)
from tests.support import exact_pass


def _beta_ratio(a: int, b: int, k: int) -> Fraction:
    """B(a, b + k) / B(a, b) = prod_{j<k} (b + j) / (a + b + j) for integers, exactly."""
    out = Fraction(1)
    for j in range(k):
        out *= Fraction(b + j, a + b + j)
    return out


def test_recovers_beta_binomial_parameters() -> None:
    rng = np.random.default_rng(0)
    a, b, P = 0.4, 20.0, 4000
    n = rng.integers(100, 400, P)
    c = rng.binomial(n, rng.beta(a, b, P))
    fit = fit_success_model(n, c, "beta_binomial")
    assert fit.alpha[0] == pytest.approx(a, rel=0.1)
    assert fit.beta[0] == pytest.approx(b, rel=0.15)
    # The fitted log likelihood is scipy.stats.betabinom's.
    assert fit.log_likelihood == pytest.approx(
        stats.betabinom.logpmf(c, n, fit.alpha[0], fit.beta[0]).sum(), rel=1e-10)


def test_recovers_zero_mass() -> None:
    rng = np.random.default_rng(1)
    P = 4000
    p = np.where(rng.random(P) < 0.3, 0.0, rng.beta(1.0, 10.0, P))
    n = np.full(P, 300)
    c = rng.binomial(n, p)
    fit = fit_success_model(n, c, "zero_inflated")
    assert fit.zero_mass == pytest.approx(0.3, abs=0.03)
    assert fit.alpha[0] == pytest.approx(1.0, rel=0.15)
    plain = fit_success_model(n, c, "beta_binomial")
    assert fit.log_likelihood > plain.log_likelihood + 10


def test_population_pass_at_k_matches_exact_beta_ratio() -> None:
    # A model with integer Beta(2, 5) component and a point mass at zero of 1/4.
    fit = fit_success_model([10, 10, 10], [0, 3, 5], "zero_inflated")
    model = type(fit)(kind="zero_inflated", weights=np.array([0.75]), alpha=np.array([2.0]),
                      beta=np.array([5.0]), zero_mass=0.25, log_likelihood=0.0, num_problems=3,
                      converged=True, theta=fit.theta)
    for k in (1, 7, 50, 1000):
        want = Fraction(3, 4) * (1 - _beta_ratio(2, 5, k))
        assert abs(Fraction(float(model.pass_at_k(k))) - want) / want < 1e-12


def test_fill_is_unbiased_where_k_le_n_and_posterior_beyond() -> None:
    fit = fit_success_model([10, 10, 10], [0, 3, 5], "beta_binomial")
    model = type(fit)(kind="beta_binomial", weights=np.array([1.0]), alpha=np.array([2.0]),
                      beta=np.array([5.0]), zero_mass=0.0, log_likelihood=0.0, num_problems=3,
                      converged=True, theta=fit.theta)
    n = np.array([20, 20, 500])
    c = np.array([0, 4, 7])
    ks = [1, 10, 20, 100, 800]
    out = fill_pass_at_k(model, n, c, ks)
    for i in range(n.size):
        for j, k in enumerate(ks):
            if k <= n[i]:
                want = exact_pass(int(n[i]), int(c[i]), k)
            else:  # posterior Beta(2 + c, 5 + n - c)
                want = 1 - _beta_ratio(2 + int(c[i]), 5 + int(n[i] - c[i]), k)
            got = Fraction(float(out[i, j]))
            assert got == want if want in (0, 1) else abs(got - want) / want < 1e-11


def test_thinning_law_is_exact() -> None:
    """Hypergeometric thinning keeps pass@k unbiased for k <= m (exact identity), and the
    draws follow the hypergeometric pmf."""
    n, c, m = 40, 9, 12
    pmf = [Fraction(comb(c, x) * comb(n - c, m - x), comb(n, m)) for x in range(min(c, m) + 1)]
    assert sum(pmf) == 1
    for k in (1, 3, 12):
        thinned = sum(p * exact_pass(m, x, k) for x, p in enumerate(pmf))
        assert thinned == exact_pass(n, c, k)
    rng = np.random.default_rng(5)
    draws = 20_000
    nt, ct = thin_counts(np.full(draws, n), np.full(draws, c), m, rng)
    assert (nt == m).all()
    freq = np.bincount(ct, minlength=len(pmf)) / draws
    sd = np.sqrt(np.array([float(p) * (1 - float(p)) for p in pmf]) / draws)
    assert np.all(np.abs(freq - np.array([float(p) for p in pmf])) < 5 * sd + 1e-12)
    # Problems with n <= m are kept whole.
    nt, ct = thin_counts([5, 100], [2, 50], 10, rng)
    assert nt.tolist() == [5, 10] and ct[0] == 2 and 0 <= ct[1] <= 10


def test_held_out_selection() -> None:
    rng = np.random.default_rng(2)
    P = 600
    n = np.full(P, 200)
    # Two well-separated groups of problems: a two-beta mixture is needed.
    p = np.where(rng.random(P) < 0.5, rng.beta(2, 400, P), rng.beta(20, 20, P))
    kind, scores = select_model(n, rng.binomial(n, p))
    assert kind == "mixture" and scores["mixture"] > scores["beta_binomial"] + 5
    c = rng.binomial(n, rng.beta(0.5, 5, P))
    kind, scores = select_model(n, c)
    assert kind == "beta_binomial" or scores[kind] - scores["beta_binomial"] < 2.0
    # held-out likelihood is below the in-sample one
    assert held_out_log_likelihood(n, c, "beta_binomial") < fit_success_model(n, c).log_likelihood


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="num_correct <= num_samples"):
        fit_success_model([10], [11])
    with pytest.raises(ValueError, match="kind"):
        fit_success_model([10], [1], "gaussian")  # type: ignore[arg-type]


def test_posterior_draws_match_the_posterior_mean() -> None:
    fit = fit_success_model([10, 10, 10], [0, 3, 5], "zero_inflated")
    model = type(fit)(kind="zero_inflated", weights=np.array([0.6]), alpha=np.array([2.0]),
                      beta=np.array([30.0]), zero_mass=0.4, log_likelihood=0.0, num_problems=3,
                      converged=True, theta=fit.theta)
    n, c = np.array([50, 50]), np.array([0, 4])
    draws = model.sample_posterior(n, c, 40_000, np.random.default_rng(0))
    # E[p | c = 4] = (2 + 4) / (32 + 50); E[p | c = 0] = P(beta | c = 0) * 2 / 82
    w_beta = 0.6 * stats.betabinom.pmf(0, 50, 2, 30)
    w_beta /= w_beta + 0.4
    assert draws[:, 1].mean() == pytest.approx(6 / 82, rel=0.02)
    assert draws[:, 0].mean() == pytest.approx(w_beta * 2 / 82, rel=0.05)
    assert (draws[:, 0] == 0).mean() == pytest.approx(1 - w_beta, abs=0.01)
    assert (draws[:, 1] > 0).all()

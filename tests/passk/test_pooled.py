"""The pooled model of success probabilities across checkpoints (passk/pooled.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.passk import pooled
from lm_eval_scaling.passk.benchmark import benchmark_pass_at_k, passk_table
from lm_eval_scaling.passk.estimator import pass_at_k
from lm_eval_scaling.passk.model import fit_success_model


def _simulate(seed: int, num_ckpts: int = 24, num_problems: int = 100, n: int = 128):
    """Counts drawn from the pooled model itself, with the realised success probabilities."""
    rng = np.random.default_rng(seed)
    ease = rng.normal(0.0, 1.5, num_problems)
    theta = np.linspace(-7.5, -3.0, num_ckpts)
    slope = rng.uniform(1.0, 2.0, num_ckpts)
    spread = rng.uniform(0.4, 1.0, num_ckpts)
    eta = theta[:, None] + slope[:, None] * ease[None, :] + spread[:, None] * rng.normal(
        size=(num_ckpts, num_problems))
    p = special.expit(eta) * (rng.random((num_ckpts, num_problems)) > 0.1)  # 10% out of reach
    c = rng.binomial(n, p)
    return np.full(c.shape, n), c, p


def test_adaptive_quadrature_matches_numerical_integration():
    # cells with few and with very many samples: the likelihood of z is sharp for the latter
    cases = [(128, 0, -6.0, 0.8), (128, 3, -4.0, 1.5), (3_000_000, 50, -11.0, 1.0),
             (1000, 500, 0.3, 2.0), (10_000, 0, -2.0, 0.5)]
    for n, c, mu, s in cases:
        def integrand(z, n=n, c=c, mu=mu, s=s):
            return stats.norm.pdf(z) * stats.binom.pmf(c, n, special.expit(mu + s * z))
        mode = optimize.minimize_scalar(lambda z: -np.log(integrand(z) + 1e-300),
                                        bounds=(-40, 40), method="bounded").x
        exact, _ = integrate.quad(integrand, -40, 40, points=[mode], limit=500)
        nodes, log_w = pooled._nodes(np.array([[mu]]), np.array([s]), np.array([[float(n)]]),
                                     np.array([[float(c)]]))
        eta = mu + s * nodes
        approx = np.exp(special.logsumexp(log_w + stats.binom.logpmf(c, n, special.expit(eta))))
        assert approx == pytest.approx(exact, rel=1e-3), (n, c, mu, s)


def test_gradient_matches_finite_differences():
    n, c, _ = _simulate(0, num_ckpts=4, num_problems=10)
    mask = np.ones(n.shape)
    mask[1, 2] = 0.0
    mask[:, 5] = 2.0  # a problem drawn twice by a resample
    rng = np.random.default_rng(1)
    t = pooled._start(n.astype(float), c.astype(float), mask) + rng.normal(0, 0.3, 2 * 4 + 6 + 10)

    def value(x):
        return pooled._objective(x, n.astype(float), c.astype(float), mask, 1.0)[0]

    grad = pooled._objective(t, n.astype(float), c.astype(float), mask, 1.0)[1]
    numeric = optimize.approx_fprime(t, value, 1e-6)
    np.testing.assert_allclose(grad, numeric, atol=2e-3 * np.abs(grad).max())


def test_objective_is_smooth_where_adaptive_sampling_gives_some_cells_millions_of_samples():
    # Adaptive sampling: a few cells with 10^4 to 10^6 samples and a handful of successes,
    # far from the checkpoint's typical level.  Every cell's mode must be found (one cell
    # left mid-search shifts the objective by thousands), so the analytic gradient matches
    # finite differences and a fit from the start converges.
    rng = np.random.default_rng(3)
    n, c, _ = _simulate(2, num_ckpts=6, num_problems=30)
    n = n * rng.choice([1, 80, 8000], size=n.shape, p=[0.6, 0.3, 0.1])
    c = rng.binomial(n, np.clip((c + 0.5) / 130.0 * rng.uniform(0.01, 1.0, n.shape), 0, 1))
    n, c = n.astype(float), c.astype(float)
    mask = np.ones(n.shape)
    t = pooled._start(n, c, mask) + rng.normal(0, 0.3, 2 * 6 + 6 + 30)

    def value(x):
        return pooled._objective(x, n, c, mask, 1.0)[0]

    grad = pooled._objective(t, n, c, mask, 1.0)[1]
    numeric = optimize.approx_fprime(t, value, 1e-6)
    np.testing.assert_allclose(grad, numeric, atol=1e-3 * np.abs(grad).max())
    fit = pooled.fit_pooled_model(n, c)
    assert fit.converged
    assert fit.log_likelihood <= 0.0


def test_fill_keeps_the_unbiased_estimator_where_k_fits():
    n, c, _ = _simulate(2, num_ckpts=6, num_problems=30)
    n = n.copy()
    n[:, :10] = 2000  # some problems sampled more: k = 1000 fits there
    c[:, :10] = np.random.default_rng(3).binomial(2000, 0.01, size=(6, 10))
    model = pooled.fit_pooled_model(n, c)
    ks = [1, 100, 1000, 10_000]
    filled = pooled.fill_pooled_pass_at_k(model, n, c, ks)
    exact = pass_at_k(n.reshape(-1), c.reshape(-1), ks).reshape(filled.shape)
    fits = ~np.isnan(exact)
    assert fits[:, :10, 2].all() and not fits[:, 10:, 2].any()
    np.testing.assert_array_equal(filled[fits], exact[fits])
    assert ((filled >= 0) & (filled <= 1)).all()
    post = model.posterior_pass_at_k(n, c, ks)
    assert (np.diff(post, axis=2) >= -1e-12).all()  # the posterior pass@k never falls with k
    solved = c > 0
    assert (filled[..., 3][solved] > 0).all()


def test_recovers_pass_at_k_beyond_the_samples_better_than_one_checkpoint_at_a_time():
    # counts drawn from the model: pass@1000 from 128 samples per problem, against the
    # pass@1000 of the realised success probabilities
    errors, per_ckpt = [], []
    for seed in range(2):
        n, c, p = _simulate(10 + seed)
        truth = (-np.expm1(1000 * np.log1p(-p))).mean(axis=1)
        model = pooled.fit_pooled_model(n, c)
        assert model.converged
        est = pooled.pooled_benchmark_pass_at_k(model, n, c, np.ones(n.shape, bool), [1000])[:, 0]
        for j in np.flatnonzero(c.sum(axis=1) > 0):
            errors.append(abs(np.log(est[j] / truth[j])) / -np.log(truth[j]))
            bb = float(np.ravel(fit_success_model(n[j], c[j], "beta_binomial").pass_at_k(1000))[0])
            per_ckpt.append(abs(np.log(bb / truth[j])) / -np.log(truth[j]))
    # on these draws: pooled 13%, one beta-binomial per checkpoint 32%
    assert np.median(errors) < 0.2
    assert np.median(errors) < 0.6 * np.median(per_ckpt)


def _table(n, c, names=None):
    J, I = n.shape
    names = names or [f"m{j}" for j in range(J)]
    return pd.DataFrame({"model": np.repeat(names, I), "revision": "main", "task": "t",
                         "problem_id": np.tile([str(i) for i in range(I)], J),
                         "num_samples": n.reshape(-1), "num_correct": c.reshape(-1)})


def test_passk_table_pooled_sources_intervals_and_unresolved_checkpoints():
    n, c, _ = _simulate(4, num_ckpts=5, num_problems=25)
    c[0] = 0  # a checkpoint without any success
    table = passk_table(_table(n, c), [1, 1000], ci=0.9, n_boot=10, seed=0, estimator="pooled")
    first = table[table["checkpoint"] == "m0@main"].set_index("k")
    assert first.loc[1, "pass_at_k"] == 0.0 and first.loc[1, "source"] == "unbiased"
    assert np.isnan(first.loc[1000, "pass_at_k"]) and first.loc[1000, "source"] == "not_resolved"
    assert 0 < first.loc[1000, "ci_high"] < 1 and bool(first.loc[1000, "censored"])
    rest = table[(table["checkpoint"] != "m0@main")]
    at1 = rest[rest["k"] == 1]
    unbiased = passk_table(_table(n, c), [1], ci=None)
    np.testing.assert_allclose(at1["pass_at_k"].to_numpy(),
                               unbiased[unbiased["checkpoint"] != "m0@main"]["pass_at_k"].to_numpy())
    far = rest[rest["k"] == 1000]
    assert (far["source"] == "pooled").all() and (far["pass_at_k"] > 0).all()
    assert (far["ci_low"] <= far["pass_at_k"]).all() and (far["pass_at_k"] <= far["ci_high"]).all()
    assert (far["num_problems_excluded"] == 0).all()


def test_redrawn_counts_follow_each_cells_posterior():
    n, c, _ = _simulate(6, num_ckpts=4, num_problems=12)
    n[1, 3] = 0  # a cell not sampled
    c[1, 3] = 0
    n[2, 5], c[2, 5] = 2_000_000, 40  # a sharp cell
    model = pooled.fit_pooled_model(n, c)
    rng = np.random.default_rng(0)
    draws = np.stack([model.draw_correct(n, c, rng) for _ in range(3000)])
    assert draws.shape == (3000, *n.shape) and (draws >= 0).all() and (draws <= n).all()
    assert (draws[:, 1, 3] == 0).all()
    # E[c*] = n E[p | n, c]: the posterior mean of p, as E[1 - (1 - p)^1] at k = 1
    want = n * model.posterior_pass_at_k(n, c, [1])[:, :, 0]
    se = np.sqrt(np.maximum(draws.var(axis=0), want) / draws.shape[0])  # rare cells: Poisson
    assert (np.abs(draws.mean(axis=0) - want) <= 5 * se).all()
    # a cell with many samples: c* ~ 40, with variance ~ 40 from the posterior of p and
    # ~ 40 from the binomial draw
    assert abs(draws[:, 2, 5].mean() - 40) < 1.5
    assert 0.8 < draws[:, 2, 5].std() / np.sqrt(80) < 1.2


def test_hierarchical_pooled_intervals_are_wider_and_seeded():
    n, c, _ = _simulate(7, num_ckpts=5, num_problems=25, n=64)
    table = _table(n, c)
    kwargs = {"ci": 0.9, "n_boot": 12, "seed": 3, "estimator": "pooled"}
    flat = passk_table(table, [1000], **kwargs)
    deep = passk_table(table, [1000], hierarchical=True, **kwargs)
    again = passk_table(table, [1000], hierarchical=True, **kwargs)
    pd.testing.assert_frame_equal(deep, again)
    np.testing.assert_allclose(deep["pass_at_k"], flat["pass_at_k"])  # point values unchanged
    def width(t):
        return (t["ci_high"] - t["ci_low"]).to_numpy()

    assert np.median(width(deep) / width(flat)) > 1.0
    # worker processes do not change the resamples
    pd.testing.assert_frame_equal(passk_table(table, [1000], hierarchical=True, n_jobs=1, **kwargs),
                                  deep)


def test_pooled_is_refused_where_it_cannot_apply():
    with pytest.raises(InputError, match="passk_table"):
        benchmark_pass_at_k([128, 128], [1, 0], [1000], estimator="pooled")
    assert FitOptions(estimator="pooled", hierarchical=True).estimator == "pooled"
    with pytest.raises(ValueError, match="matrices"):
        pooled.fit_pooled_model(np.array([128, 128]), np.array([1, 0]))


@pytest.mark.slow
def test_thinned_pythia_pass_at_1000_from_128_samples(pythia_dir) -> None:
    """Real data thinned to 128 samples per problem: does the pooled model predict the
    full-data pass@1000?  (One thinning draw; benchmarks/passk_model.py runs many.)"""
    from lm_eval_scaling.passk.benchmark import count_matrices
    from lm_eval_scaling.passk.model import thin_counts
    from lm_eval_scaling.tables.schema import read_counts

    _, _, n, c, observed = count_matrices(read_counts(pythia_dir / "counts.csv"))
    rng = np.random.default_rng(0)
    n_thin, c_thin = np.zeros_like(n), np.zeros_like(c)
    for j in range(n.shape[0]):
        o = observed[j]
        n_thin[j][o], c_thin[j][o] = thin_counts(n[j][o], c[j][o], 128, rng)
    model = pooled.fit_pooled_model(n_thin, c_thin, observed=observed)
    est = pooled.pooled_benchmark_pass_at_k(model, n_thin, c_thin, observed, [1000])[:, 0]
    errors, per_ckpt = [], []
    for j in range(n.shape[0]):
        o = observed[j]
        if n[j][o].min() < 1000 or c_thin[j].sum() == 0:
            continue
        truth = pass_at_k(n[j][o], c[j][o], 1000).mean()
        errors.append(abs(np.log(est[j] / truth)) / -np.log(truth))
        bb = float(np.ravel(fit_success_model(n_thin[j][o], c_thin[j][o],
                                              "beta_binomial").pass_at_k(1000))[0])
        per_ckpt.append(abs(np.log(bb / truth)) / -np.log(truth))
    assert len(errors) >= 25 and (est[c_thin.sum(axis=1) > 0] > 0).all()
    # this draw: pooled 15.2%, one beta-binomial per checkpoint 17.3% (over 20 draws the
    # median is 11.7% against 20%: see docs/passk_model.md)
    assert np.median(errors) < 0.2
    assert np.median(errors) < np.median(per_ckpt)


def test_log_likelihood_is_the_sum_of_integrated_cell_likelihoods():
    n, c, _ = _simulate(6, num_ckpts=12, num_problems=6)
    n = n.copy()
    n[0, 0], c[0, 0] = 2_000_000, 40  # a cell with a very sharp likelihood
    model = pooled.fit_pooled_model(n, c)
    assert model.converged and (model.spread < 5).all()
    z = np.linspace(-40.0, 40.0, 400_001)  # dense grid: the integrals in log space
    cells = np.empty(n.shape)
    for j in range(n.shape[0]):
        for i in range(n.shape[1]):
            eta = model.theta[j] + model.slope[j] * model.ease[i] + model.spread[j] * z
            log_f = stats.norm.logpdf(z) + stats.binom.logpmf(c[j, i], n[j, i], special.expit(eta))
            reach = special.logsumexp(log_f) + np.log(z[1] - z[0])
            pi = model.out_of_reach[j]
            cells[j, i] = np.logaddexp(np.log1p(-pi) + reach, np.log(pi) if c[j, i] == 0 else -np.inf)
    # 12 adaptive nodes: a few 1e-4 per cell at worst on such cells
    assert model.log_likelihood == pytest.approx(cells.sum(), abs=1e-3 * n.size)


def test_a_long_pooled_bootstrap_is_announced(monkeypatch, caplog):
    n, c, _ = _simulate(7, num_ckpts=3, num_problems=10)
    model = pooled.fit_pooled_model(n, c)
    weights = np.ones((2, 10))
    monkeypatch.setattr(pooled, "_SLOW_BOOTSTRAP_S", 0.0)
    with caplog.at_level("WARNING", logger="lm_eval_scaling.passk.pooled"):
        out = pooled.resampled_pooled_pass_at_k(model, n, c, np.ones(n.shape, bool), [1000],
                                                weights, progress="pooled bootstrap (t)")
    assert out.shape == (2, 3, 1)
    assert "2 resamples" in caplog.text and "--bootstrap" in caplog.text


def _anchored(num_ckpts: int, seed: int, n: int = 128, num_problems: int = 40):
    """Counts of ``num_ckpts`` checkpoints with ``n`` samples per problem, every one with a
    success and one unsolved problem (so pass@n strictly between 0 and 1)."""
    rng = np.random.default_rng(seed)
    p = special.expit(rng.normal(np.linspace(-6, -1, num_ckpts)[:, None], 1.5, (num_ckpts, num_problems)))
    c = rng.binomial(n, p)
    c[:, 0] = np.maximum(c[:, 0], 1)
    c[:, 1] = 0
    return np.full(c.shape, n), c


def test_smoothing_replaces_each_extrapolation_factor_by_the_least_squares_quadratic():
    n, c = _anchored(12, 0)
    observed = np.ones(n.shape, bool)
    anchor = pass_at_k(n.reshape(-1), c.reshape(-1), [128]).reshape(n.shape).mean(axis=1)
    rng = np.random.default_rng(1)
    x = np.log(-np.log(anchor))
    r = rng.normal(-1.0, 0.3, x.size)  # the model's factors, noisy
    values = np.column_stack([anchor, np.exp(-np.exp(x + r))])  # k = 128 and k = 1000
    out = pooled.smooth_extrapolation(values, n, c, observed, [128, 1000])
    design = np.column_stack([np.ones_like(x), x, x**2])
    coef = np.linalg.lstsq(design, r, rcond=None)[0]
    assert out[:, 1] == pytest.approx(np.exp(-np.exp(x + design @ coef)), rel=1e-12)
    assert np.array_equal(out[:, 0], values[:, 0])  # k <= n: the unbiased value stays
    assert ((out[:, 1] > 0) & (out[:, 1] < 1)).all()
    # factors already on a quadratic are left where they are
    exact = np.exp(-np.exp(x - 1.0 + 0.1 * x - 0.05 * x**2))  # r < 0 over this range of x
    same = pooled.smooth_extrapolation(exact[:, None], n, c, observed, [1000])
    assert same[:, 0] == pytest.approx(exact, rel=1e-10)


def test_smoothing_groups_checkpoints_by_their_fewest_samples_and_skips_small_groups():
    n, c = _anchored(pooled.SMOOTH_MIN_CHECKPOINTS + 4, 2)  # 3 + the minimum + 1 at 1.0
    n = n.copy()
    n[:3] = 512  # three checkpoints with more samples: a group of their own, too small
    c[:3] = np.minimum(c[:3] * 4, 512)
    observed = np.ones(n.shape, bool)
    rng = np.random.default_rng(3)
    values = rng.uniform(0.05, 0.9, (n.shape[0], 1))
    values[4] = 1.0  # a value of 1 has no factor: left as it is
    out = pooled.smooth_extrapolation(values, n, c, observed, [1000])
    assert np.array_equal(out[:3], values[:3])
    assert out[4, 0] == 1.0
    rest = [j for j in range(3, n.shape[0]) if j != 4]
    assert not np.allclose(out[rest], values[rest])
    # one checkpoint fewer in the large group: below the minimum, nothing changes
    fewer = observed.copy()
    fewer[5] = False
    out = pooled.smooth_extrapolation(values, n, c, fewer, [1000])
    assert np.array_equal(out, values)


def test_smoothing_leaves_checkpoints_without_success_and_uses_problem_weights():
    n, c = _anchored(10, 4)
    c[0] = 0  # no success: its anchor is 0, nothing to anchor a factor on
    observed = np.ones(n.shape, bool)
    values = np.linspace(0.1, 0.8, 10)[:, None]
    out = pooled.smooth_extrapolation(values, n, c, observed, [1000])
    assert out[0, 0] == values[0, 0]
    # a problem counted twice moves the anchors, hence the smoothed values
    w = np.ones(n.shape[1])
    w[2] = 2.0
    weighted = pooled.smooth_extrapolation(values, n, c, observed, [1000], w)
    assert not np.allclose(weighted[1:], out[1:])
    doubled_n = np.concatenate([n, n[:, [2]]], axis=1)
    doubled_c = np.concatenate([c, c[:, [2]]], axis=1)
    again = pooled.smooth_extrapolation(values, doubled_n, doubled_c,
                                        np.ones(doubled_n.shape, bool), [1000])
    assert weighted == pytest.approx(again, rel=1e-12)


def test_benchmark_values_are_smoothed_unless_asked_not_to():
    n, c, _ = _simulate(5, num_ckpts=12, num_problems=30)
    observed = np.ones(n.shape, bool)
    model = pooled.fit_pooled_model(n, c)
    raw = pooled.pooled_benchmark_pass_at_k(model, n, c, observed, [64, 1000], smooth=False)
    out = pooled.pooled_benchmark_pass_at_k(model, n, c, observed, [64, 1000])
    assert np.array_equal(out[:, 0], raw[:, 0])
    assert out[:, 1] == pytest.approx(pooled.smooth_extrapolation(raw, n, c, observed, [64, 1000])[:, 1])
    solved = c.sum(axis=1) > 0
    assert (out[solved, 1] > 0).all()


def test_smoothed_values_never_fall_below_the_anchor_and_rise_with_k():
    n, c = _anchored(12, 7)
    observed = np.ones(n.shape, bool)
    anchor = pass_at_k(n.reshape(-1), c.reshape(-1), [128]).reshape(n.shape).mean(axis=1)
    x = np.log(-np.log(anchor))
    rng = np.random.default_rng(8)
    # factors near 0 (pass@1000 barely above pass@128) but far below at both ends of x:
    # the fitted curve bows above r = 0 in the middle
    r1 = -np.abs(rng.normal(0.0, 1e-3, x.size))
    r1[[np.argmin(x), np.argmax(x)]] = -1.5
    r2 = r1 - np.abs(rng.normal(0.0, 0.4, x.size))  # k = 4000 at least as high as k = 1000
    values = np.column_stack([np.exp(-np.exp(x + r2)), np.exp(-np.exp(x + r1))])  # k unsorted
    out = pooled.smooth_extrapolation(values, n, c, observed, [4000, 1000])
    assert (out[:, 1] >= anchor - 1e-15).all()
    assert (out[:, 0] >= out[:, 1]).all()
    design = np.column_stack([np.ones_like(x), x, x**2])
    fitted = design @ np.linalg.lstsq(design, r1, rcond=None)[0]
    assert (fitted > 0).any()  # the cap at r = 0 was needed
    capped = fitted > 0
    assert out[capped, 1] == pytest.approx(anchor[capped], rel=1e-12)

"""Benchmark-level pass@k: means, the short-problem policy, censoring and the bootstrap."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.errors import InputError
from lm_eval_scaling.passk.benchmark import benchmark_pass_at_k, neg_log, passk_table
from lm_eval_scaling.tables.schema import read_counts
from tests.support import exact_pass


def test_mean_matches_exact_fractions_and_drops_short_problems() -> None:
    n = np.array([128, 128, 10_000, 3_000_000, 50])
    c = np.array([0, 5, 43, 2, 50])
    ks = [1, 10, 100, 1000]
    res = benchmark_pass_at_k(n, c, ks, ci=None)
    for j, k in enumerate(ks):
        used = [i for i in range(n.size) if n[i] >= k]
        want = sum(exact_pass(int(n[i]), int(c[i]), k) for i in used) / len(used)
        assert abs(Fraction(float(res.pass_at_k[j])) - want) / want < 1e-12
        assert res.num_problems[j] == len(used)
        assert res.num_problems_excluded[j] == n.size - len(used)
    assert np.isnan(res.ci_low).all()


def test_short_problems_never_count_as_one() -> None:
    # A problem with 5 samples, none correct, at k=10: the buggy estimator says 1.0.
    res = benchmark_pass_at_k([5, 100], [0, 0], [10], ci=None)
    assert res.pass_at_k[0] == 0.0 and res.num_problems[0] == 1
    assert res.censored[0] and np.isnan(res.neg_log_pass_at_k[0])


def test_policies() -> None:
    n, c = [5, 100], [1, 10]
    drop_k = benchmark_pass_at_k(n, c, [1, 10], ci=None, policy="drop_k")
    assert not np.isnan(drop_k.pass_at_k[0]) and np.isnan(drop_k.pass_at_k[1])
    assert drop_k.num_problems.tolist() == [2, 0]
    with pytest.raises(InputError, match="num_samples < k=10"):
        benchmark_pass_at_k(n, c, [1, 10], ci=None, policy="error")
    with pytest.raises(InputError, match="policy"):
        benchmark_pass_at_k(n, c, [1], policy="ignore")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="model 'mixture' applies to estimator 'beta_binomial' only, "
                                         "got estimator 'pooled'"):
        benchmark_pass_at_k(n, c, [1], estimator="pooled", model="mixture")


def test_neg_log_is_never_inf() -> None:
    out = neg_log([0.0, 1.0, np.exp(-3.0)])
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == pytest.approx(3.0)


def test_bootstrap_reproducible_and_brackets_the_mean() -> None:
    rng = np.random.default_rng(3)
    n = np.full(200, 100)
    c = rng.binomial(100, rng.beta(0.5, 3, 200))
    a = benchmark_pass_at_k(n, c, [1, 10], seed=7)
    b = benchmark_pass_at_k(n, c, [1, 10], seed=7)
    np.testing.assert_array_equal(a.ci_low, b.ci_low)
    assert np.all(a.ci_low < a.pass_at_k) and np.all(a.pass_at_k < a.ci_high)
    # The percentile interval's width is about 2 * 1.96 standard errors of the mean.
    per = c / n
    se = per.std(ddof=1) / np.sqrt(per.size)
    assert (a.ci_high[0] - a.ci_low[0]) == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_bootstrap_coverage_on_simulated_benchmarks() -> None:
    """About 95% of 95% intervals contain the true benchmark pass@1 (known difficulties)."""
    rng = np.random.default_rng(11)
    p_true = rng.beta(0.4, 2.0, 2000)
    hits = 0
    trials = 150
    for t in range(trials):
        idx = rng.choice(p_true.size, 150, replace=False)
        c = rng.binomial(200, p_true[idx])
        res = benchmark_pass_at_k(np.full(idx.size, 200), c, [1], seed=t, n_boot=400)
        truth = p_true.mean()
        hits += int(res.ci_low[0] <= truth <= res.ci_high[0])
    assert 0.85 <= hits / trials <= 0.995


def test_passk_table_on_pythia(pythia_dir: Path) -> None:
    counts = read_counts(pythia_dir / "counts.csv")
    table = passk_table(counts, [1, 10, 100], n_boot=200)
    assert set(table["checkpoint"]) == set(counts["model"])
    assert len(table) == 81 * 3
    # monotone in k per checkpoint, CIs bracket the estimate
    for _, grp in table.groupby("checkpoint"):
        vals = grp.sort_values("k")["pass_at_k"].to_numpy()
        assert np.all(np.diff(vals) >= 0)
    ok = ~table["censored"]
    assert (table.loc[ok, "ci_low"] <= table.loc[ok, "pass_at_k"]).all()
    assert (table.loc[ok, "pass_at_k"] <= table.loc[ok, "ci_high"]).all()
    assert np.isfinite(table.loc[ok, "neg_log_pass_at_k"]).all()
    assert table.loc[~ok, "neg_log_pass_at_k"].isna().all()
    # the independent recomputation for one checkpoint
    one = counts[counts["model"] == "Pythia_12B_300B"]
    want = np.mean([float(exact_pass(int(a), int(b), 10))
                    for a, b in zip(one["num_samples"], one["num_correct"]) if a >= 10])
    got = table[(table["checkpoint"] == "Pythia_12B_300B") & (table["k"] == 10)]["pass_at_k"].item()
    assert got == pytest.approx(want, rel=1e-12)


def test_passk_table_independent_of_row_order() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "model": np.repeat(["a", "b"], 50),
        "problem_id": np.tile(np.arange(50), 2),
        "num_samples": 64,
        "num_correct": rng.integers(0, 65, 100),
    })
    t1 = passk_table(read_counts(df), [1, 8])
    t2 = passk_table(read_counts(df.sample(frac=1, random_state=1)), [1, 8])
    pd.testing.assert_frame_equal(t1, t2)


def _table_counts(seed: int = 0, models: int = 4, problems: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return read_counts(pd.DataFrame({
        "model": np.repeat([f"m{i}" for i in range(models)], problems),
        "problem_id": np.tile(np.arange(problems), models),
        "num_samples": 64,
        "num_correct": rng.binomial(64, rng.beta(0.5, 3, models * problems)),
    }))


def test_passk_table_seeding_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint's interval is benchmark_pass_at_k's with the problem-set seed, whatever
    the batching; checkpoints on the same problems share their resamples."""
    from lm_eval_scaling.passk import benchmark as bm

    counts = _table_counts()
    table = passk_table(counts, [1, 8], n_boot=300, seed=4)
    one = counts[counts["model"] == "m2"].sort_values("problem_id")
    ids = list(one["problem_id"])
    want = benchmark_pass_at_k(one["num_samples"], one["num_correct"], [1, 8], n_boot=300,
                               seed=bm._problem_set_seed(4, "", ids))
    got = table[table["model"] == "m2"]
    np.testing.assert_allclose(got["ci_low"], want.ci_low, rtol=1e-12)
    np.testing.assert_allclose(got["ci_high"], want.ci_high, rtol=1e-12)
    monkeypatch.setattr(bm, "_BATCH_ELEMENTS", 1)  # one checkpoint per matrix product
    pd.testing.assert_frame_equal(passk_table(counts, [1, 8], n_boot=300, seed=4), table)
    # Two checkpoints with the same counts on the same problems get the same interval.
    twin = counts[counts["model"] == "m2"].assign(model="twin")
    both = passk_table(read_counts(pd.concat([counts, twin])), [8], n_boot=300, seed=4)
    a, b = (both[both["model"] == m][["ci_low", "ci_high"]].to_numpy() for m in ("m2", "twin"))
    np.testing.assert_array_equal(a, b)


def test_bootstrap_weights_are_multinomial_counts() -> None:
    from lm_eval_scaling.passk.benchmark import bootstrap_weights

    w = bootstrap_weights(50, 2000, 3)
    assert w.shape == (2000, 50) and (w.sum(axis=1) == 50).all()
    # each problem's multiplicity is Binomial(50, 1/50): mean 1, variance 49/50
    assert w.mean() == pytest.approx(1.0, abs=0.01)
    assert w.var() == pytest.approx(49 / 50, rel=0.05)
    np.testing.assert_array_equal(w, bootstrap_weights(50, 2000, 3))


def test_beta_binomial_estimator_fills_short_problems() -> None:
    rng = np.random.default_rng(4)
    n = np.where(np.arange(200) % 2 == 0, 100, 2000)
    c = rng.binomial(n, rng.beta(0.4, 20, 200))
    ks = [1, 50, 100, 1000, 5000]
    unb = benchmark_pass_at_k(n, c, ks, ci=None)
    mod = benchmark_pass_at_k(n, c, ks, ci=0.9, n_boot=60, estimator="beta_binomial",
                              model="beta_binomial")
    # k <= every n: the unbiased mean, exactly
    np.testing.assert_array_equal(mod.pass_at_k[:3], unb.pass_at_k[:3])
    assert mod.source[:3] == ("unbiased",) * 3 and mod.source[3:] == ("beta_binomial",) * 2
    assert (mod.num_problems == 200).all() and (mod.num_problems_excluded == 0).all()
    assert np.all(np.diff(mod.pass_at_k) > 0) and np.all(mod.pass_at_k > 0)
    assert np.all(mod.ci_low[3:] < mod.pass_at_k[3:]) and np.all(mod.pass_at_k[3:] < mod.ci_high[3:])


def test_beta_binomial_estimator_never_zero_and_unresolved_interval() -> None:
    # One success among 128 x 128 samples: a small but positive pass@k at every k.
    n = np.full(128, 128)
    c = np.zeros(128, dtype=int)
    c[7] = 1
    res = benchmark_pass_at_k(n, c, [1000, 10_000], ci=None, estimator="beta_binomial")
    assert np.all(res.pass_at_k > 0) and np.all(np.isfinite(res.neg_log_pass_at_k))
    # No success at all: NaN, censored, interval [0, Clopper-Pearson bound].
    none = benchmark_pass_at_k(n, np.zeros(128, dtype=int), [100, 1000], ci=0.95, n_boot=10,
                               estimator="beta_binomial")
    assert none.source == ("unbiased", "not_resolved")
    assert none.pass_at_k[0] == 0.0 and np.isnan(none.pass_at_k[1]) and none.censored.all()
    # c = 0 of n: upper limit 1 - (alpha/2)^(1/n), so the bound on pass@k is 1 - (alpha/2)^(k/n)
    assert none.ci_high[1] == pytest.approx(1 - 0.025 ** (1000 / 128), rel=1e-9)
    assert none.ci_low[1] == 0.0


def test_hierarchical_bootstrap_adds_sampling_noise() -> None:
    rng = np.random.default_rng(6)
    p = rng.beta(2, 8, 300)
    small = np.full(300, 8)
    c_small = rng.binomial(small, p)
    flat = benchmark_pass_at_k(small, c_small, [1, 4], n_boot=800, seed=1)
    hier = benchmark_pass_at_k(small, c_small, [1, 4], n_boot=800, seed=1, hierarchical=True)
    assert np.all(hier.ci_high - hier.ci_low > 1.1 * (flat.ci_high - flat.ci_low))
    np.testing.assert_array_equal(hier.pass_at_k, flat.pass_at_k)
    big = np.full(300, 100_000)
    c_big = rng.binomial(big, p)
    flat = benchmark_pass_at_k(big, c_big, [1], n_boot=800, seed=1)
    hier = benchmark_pass_at_k(big, c_big, [1], n_boot=800, seed=1, hierarchical=True)
    assert (hier.ci_high - hier.ci_low)[0] == pytest.approx((flat.ci_high - flat.ci_low)[0], rel=0.1)


def test_passk_rows_in_natural_checkpoint_order() -> None:
    import pandas as pd

    from lm_eval_scaling.passk.benchmark import passk_table
    from lm_eval_scaling.tables.schema import read_counts

    models = ["m-12b", "m-1b", "m-160m", "m-70m"]
    counts = read_counts(pd.DataFrame({"model": models, "problem_id": 1, "num_samples": 10,
                                       "num_correct": 3}))
    table = passk_table(counts, [1, 2], ci=None)
    assert table["checkpoint"].drop_duplicates().tolist() == ["m-70m", "m-160m", "m-1b", "m-12b"]
    assert table["k"].tolist() == [1, 2] * 4

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

"""The sampling planner: allocations spend the budget on unresolved problems only, widths
match the Wilson interval, samples needed for a width, lm_eval --samples rounds."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.analysis.plan import (
    allocate_samples,
    problem_widths,
    samples_needed,
    samples_rounds,
    variance_weights,
)
from lm_eval_scaling.cli import main
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.passk.estimator import pass_at_k


def _wilson(c: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    centre = (c + z * z / 2) / (n + z * z)
    half = z * math.sqrt(c * (n - c) / n + z * z / 4) / (n + z * z)
    return max(0.0, centre - half), min(1.0, centre + half)


def test_widths_are_wilson_intervals_mapped_to_pass_at_k() -> None:
    n = np.array([128, 128, 1000, 50])
    c = np.array([0, 3, 500, 50])
    for k in (1, 10, 1000):
        got = problem_widths(n, c, k)
        for i in range(n.size):
            lo, hi = _wilson(float(c[i]), float(n[i]))
            want = (1 - (1 - hi) ** k) - (1 - (1 - lo) ** k)
            assert got[i] == pytest.approx(want, abs=1e-12)


def test_allocation_spends_the_budget_on_unresolved_problems() -> None:
    # problems 0-2: solved half the time (resolved at k = 100); 3-7: rare or unsolved.
    n = np.full(8, 128)
    c = np.array([64, 70, 60, 1, 0, 0, 2, 0])
    for rule, chunk, budget in [(r, ch, b) for r in ("variance", "passuntil")
                                for ch, b in ((1, 3000), (16, 3200), (16, 3210))]:
        alloc = allocate_samples(n, c, 100, budget, chunk=chunk, rule=rule)
        assert alloc.spent == alloc.n_more.sum() == chunk * (budget // chunk)
        assert (alloc.n_more % chunk == 0).all()
        assert (alloc.n_more[:3] == 0).all() and alloc.resolved[:3].all()
        assert (alloc.n_more[3:] > 0).all()
        assert alloc.width_after < alloc.width_before
    # PassUntil: the unresolved problems advance together (within one chunk)
    alloc = allocate_samples(n, c, 100, 16 * 5 * 7, chunk=16, rule="passuntil")
    assert alloc.n_more[3:].max() - alloc.n_more[3:].min() <= 16 and alloc.n_more[3:].min() >= 96
    # widest first: one chunk goes to a widest problem (never solved: 4, 5, 7)
    alloc = allocate_samples(n, c, 100, 16, chunk=16, rule="passuntil", priority="width")
    assert alloc.n_more.tolist() == [0, 0, 0, 0, 16, 0, 0, 0]
    assert np.argmax(problem_widths(n, c, 100)) == 4


def test_allocation_stops_when_everything_is_resolved_or_capped() -> None:
    n = np.full(4, 1000)
    c = np.array([500, 600, 700, 800])
    for rule in ("variance", "passuntil"):
        alloc = allocate_samples(n, c, 10, 10_000, rule=rule)
        assert alloc.spent == 0 and alloc.resolved.all()
        capped = allocate_samples(np.full(3, 100), np.zeros(3, dtype=int), 1000, 10_000, cap=150,
                                  rule=rule)
        assert capped.spent == 150 and (capped.n_more == 50).all()


def test_variance_weights_against_brute_force_and_quadrature() -> None:
    from scipy import integrate, stats

    from lm_eval_scaling.passk.model import fit_success_model

    n = np.array([128, 128, 128, 1000, 50, 4000])
    c = np.array([0, 1, 64, 3, 50, 0])
    for k in (1, 10, 100, 1000):
        lower = variance_weights(n, c, k)
        interval = variance_weights(n, c, k, prior="interval")
        for i in range(n.size):
            lo, hi = _wilson(float(c[i]), float(n[i]))
            for got, top in ((lower, 1.0), (interval, hi)):  # the largest a(p) for p in [lo, top]
                grid = np.linspace(lo, top, 400_001)
                want = np.sqrt(k * k * grid * (1 - grid) ** (2 * k - 1)).max()
                assert got[i] == pytest.approx(want, rel=1e-4, abs=1e-300)
        model = fit_success_model(n, c, "beta_binomial")
        post = variance_weights(n, c, k, prior="posterior")
        for i in range(n.size):
            dist = stats.beta(model.alpha[0] + c[i], model.beta[0] + n[i] - c[i])
            mean_sq, _ = integrate.quad(lambda p, k, pdf: k * k * p * (1 - p) ** (2 * k - 1) * pdf(p),
                                        0, 1, args=(k, dist.pdf), points=[1 / (2 * k)], limit=200,
                                        epsabs=0)
            assert post[i] == pytest.approx(math.sqrt(mean_sq), rel=1e-5)


def _greedy(n: np.ndarray, a: np.ndarray, chunks: int, chunk: int) -> np.ndarray:
    """Oracle: one chunk at a time to the largest drop of sum a^2 / n (optimal: separable, convex)."""
    more = np.zeros(n.size, dtype=np.int64)
    for _ in range(chunks):
        t = n + more
        more[np.argmax(a ** 2 * (1 / t - 1 / (t + chunk)))] += chunk
    return more


def test_variance_rule_is_the_neyman_allocation() -> None:
    rng = np.random.default_rng(3)
    n = rng.integers(64, 512, 40)
    c = rng.binomial(n, rng.beta(0.5, 2.0, 40))
    for k, chunk, budget in ((10, 16, 4000), (100, 1, 5000), (1000, 64, 64 * 150)):
        alloc = allocate_samples(n, c, k, budget, chunk=chunk, rule="variance")
        assert alloc.spent == chunk * (budget // chunk) and (alloc.n_more % chunk == 0).all()
        a = np.where(problem_widths(n, c, k) > 0.05, variance_weights(n, c, k), 0.0)  # resolved: none
        assert (a == 0).any() and (a > 0).any()
        want = _greedy(n, a, budget // chunk, chunk)
        objective = (a ** 2 / (n + alloc.n_more)).sum()
        assert objective == pytest.approx((a ** 2 / (n + want)).sum(), rel=1e-9)
    # caps hold, and the budget goes elsewhere
    free = allocate_samples(n, c, 100, 4000, chunk=16, rule="variance")
    alloc = allocate_samples(n, c, 100, 4000, chunk=16, rule="variance", cap=n + 320)
    assert free.n_more.max() > 320 and alloc.n_more.max() == 320 and alloc.spent == 4000
    full = allocate_samples(n, c, 100, 4000, chunk=16, rule="variance", cap=n + 32)
    unresolved = problem_widths(n, c, 100) > 0.05
    assert (full.n_more == np.where(unresolved, 32, 0)).all() and full.spent == 32 * unresolved.sum()
    with pytest.raises(InputError, match="rule"):
        allocate_samples(n, c, 100, 10, rule="neyman")
    with pytest.raises(InputError, match="prior"):
        allocate_samples(n, c, 100, 10, rule="variance", prior="flat")


def _error(m: np.ndarray, hits: np.ndarray, k: int, truth: float) -> float:
    """Benchmark pass@k from the first ``m`` samples of each stream, minus the truth."""
    return float(pass_at_k(m, hits[np.arange(m.size), m - 1], k).mean()) - truth


def _simulated_errors(a: float, b: float, k: int, rules: tuple[str, ...], reps: int,
                      seed: int) -> dict[str, np.ndarray]:
    """Benchmark pass@k minus its true value, per replicate: 200 problems with p ~ Beta(a, b),
    128 samples each, then 64 more per problem on average (uniform: 64 and 128 each), in
    four re-planned rounds (at most 1152 samples per problem)."""
    rng = np.random.default_rng(seed)
    P, start, extra, longest = 200, 128, 64, 128 + 16 * 64
    rows = np.arange(P)
    out: dict[str, list[float]] = {key: [] for key in ("uniform", "uniform_2x", *rules)}
    for _ in range(reps):
        p = rng.beta(a, b, P)
        truth = float((1 - (1 - p) ** k).mean())
        hits = np.cumsum(rng.random((P, longest)) < p[:, None], axis=1)  # one stream per problem
        out["uniform"].append(_error(np.full(P, start + extra), hits, k, truth))
        out["uniform_2x"].append(_error(np.full(P, start + 2 * extra), hits, k, truth))
        for name in rules:  # "passuntil", "variance" or "variance:PRIOR"
            rule, _, prior = name.partition(":")
            m = np.full(P, start)
            for r in range(4):
                step = (extra * P - int((m - start).sum())) // (4 - r)
                m = m + allocate_samples(m, hits[rows, m - 1], k, step, chunk=16, cap=longest,
                                         rule=rule, prior=prior or "lower").n_more
            assert (m - start).sum() <= extra * P  # less only where every open problem is capped
            out[name].append(_error(m, hits, k, truth))
    return {key: np.array(v) for key, v in out.items()}


def test_planner_beats_uniform_at_equal_budget_where_problems_resolve() -> None:
    # a strong model (pass@1 ~ 0.5): at k = 100 most problems are resolved after 128 samples
    errs = _simulated_errors(1.0, 1.0, 100, ("passuntil", "variance"), reps=40, seed=11)
    mse = {key: float(np.mean(v ** 2)) for key, v in errs.items()}
    for rule in ("passuntil", "variance"):
        # lower error than uniform with the same budget, and than uniform with twice the extra budget
        assert mse[rule] < 0.5 * mse["uniform"]
        assert mse[rule] < mse["uniform_2x"]


def test_weights_that_starve_unlucky_problems_bias_a_weak_benchmark() -> None:
    # a weak model (pass@1 ~ 0.007): almost nothing resolves at k = 100
    rules = ("variance", "variance:posterior")
    errs = _simulated_errors(0.2, 30.0, 100, rules, reps=40, seed=5)
    se = {key: float(v.std(ddof=1) / math.sqrt(v.size)) for key, v in errs.items()}
    assert abs(errs["variance"].mean()) < 3 * se["variance"]
    assert errs["variance:posterior"].mean() < -4 * se["variance:posterior"]


def test_samples_needed_for_a_width() -> None:
    n = np.full(60, 128)
    c = np.r_[np.full(30, 100), np.array([0, 1, 2, 5] * 7 + [0, 3])]
    need = samples_needed(n, c, 200, 0.05, chunk=32)
    u = need["uniform_per_problem"]
    assert u is not None

    def width(m: int) -> float:
        total = np.maximum(n, m)
        return float(np.sqrt((problem_widths(total, c / n * total, 200) ** 2).sum()) / n.size)

    assert width(u) <= 0.05 < width(int(u * 0.99))
    assert need["uniform_more"] == int(np.maximum(u - n, 0).sum())
    # half the problems are resolved already: the allocation needs much less
    assert need["allocated_more"] is not None and need["allocated_more"] < 0.7 * need["uniform_more"]
    with pytest.raises(InputError, match="width"):
        samples_needed(n, c, 200, 0.0)


def test_samples_rounds() -> None:
    rounds = samples_rounds(["3", "1", "7"], [128, 0, 64], 64, "gsm8k_scaling")
    assert rounds == [{"gsm8k_scaling": [3, 7]}, {"gsm8k_scaling": [3]}]
    with pytest.raises(InputError, match="doc index"):
        samples_rounds(["a"], [64], 64, "t")
    with pytest.raises(InputError, match="multiples"):
        samples_rounds(["1"], [10], 64, "t")


def test_plan_cli(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"model": "m", "task": "gsm8k_scaling", "problem_id": np.arange(40),
                       "num_samples": 128, "num_correct": rng.binomial(128, rng.beta(0.3, 3, 40))})
    src = tmp_path / "counts.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "plan.csv"
    rounds = tmp_path / "rounds"
    assert main(["plan", str(src), "--k", "1000", "--budget", "2560", "--chunk", "64",
                 "-o", str(out), "--samples-dir", str(rounds), "--width", "0.1"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["problem_id", "num_samples", "num_correct", "n_more", "resolved"]
    resolved_now = np.array([  # Wilson interval of pass@1000 narrower than the default tol 0.05
        (1 - (1 - hi) ** 1000) - (1 - (1 - lo) ** 1000) <= 0.05
        for lo, hi in (_wilson(float(x), 128.0) for x in table["num_correct"])])
    assert 0 < resolved_now.sum() < 40
    assert table["n_more"].sum() == 2560 and (table.loc[resolved_now, "n_more"] == 0).all()
    # the default rule is the variance rule
    want = allocate_samples(table["num_samples"], table["num_correct"], 1000, 2560, chunk=64,
                            rule="variance")
    assert table["n_more"].tolist() == want.n_more.tolist()
    files = sorted(rounds.glob("round_*.json"))
    assert len(files) == table["n_more"].max() // 64
    first = json.loads(files[0].read_text())
    assert first == {"gsm8k_scaling": sorted(table.loc[table["n_more"] > 0, "problem_id"].tolist())}
    text = capsys.readouterr().out
    assert "interval width 0.1 at k=1000" in text
    assert f"resolved at k=1000 (tol 0.05): {resolved_now.sum()} now" in text
    assert f"saves about the share resolved, {resolved_now.sum() / 40:.0%}," in text
    # passuntil: same contract, another allocation
    out_p = tmp_path / "plan_passuntil.csv"
    assert main(["plan", str(src), "--k", "1000", "--budget", "2560", "--chunk", "64",
                 "--rule", "passuntil", "-o", str(out_p)]) == 0
    table_p = pd.read_csv(out_p)
    assert list(table_p.columns) == list(table.columns) and table_p["n_more"].sum() == 2560
    assert (table_p.loc[resolved_now, "n_more"] == 0).all()
    assert not table_p["n_more"].equals(table["n_more"])
    # outputs are checked before the work: a directory with rounds already is refused
    assert main(["plan", str(src), "--k", "1000", "--budget", "64", "--samples-dir", str(rounds)]) == 2

"""From tables to fits: passk_points joins, fit_table end to end, problem bootstrap.

Oracles: counts simulated per problem as Bernoulli samples from a known difficulty
distribution chosen so that the benchmark's pass@1 follows a known compute law exactly
(recovered through pass@k and the fit); the paper's qualitative findings on the shared
Pythia data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.analysis.fits import fit_table
from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.analysis.points import POINTS_COLUMNS, passk_points
from lm_eval_scaling.cli import main
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.tables.ladder import load_ladder
from lm_eval_scaling.tables.schema import read_counts, read_gold

TRUTH = {"E0": 2.0, "C0": 2.0e3, "alpha": 0.2}


def simulated_tables(n_samples: int = 40_000, problems: int = 200, seed: int = 7):
    """Counts whose benchmark pass@1 has -log pass@1 = E0 + C0 C^-alpha exactly.

    Problem i has per-sample success probability p_i(C) = u_i P(C) with fixed
    difficulties u_i (log-normal, normalised to mean 1 over the benchmark) and
    P(C) = exp(-(E0 + C0 C^-alpha)); so the benchmark mean of p_i is P(C).
    """
    rng = np.random.default_rng(seed)
    u = rng.lognormal(0.0, 0.7, problems)
    u /= u.mean()
    sizes = {"m1": 1e7, "m2": 4e7, "m3": 1.6e8, "m4": 6.4e8}
    counts, ladder = [], []
    for model, n_params in sizes.items():
        for tpp in (5, 20, 80, 320):
            tokens = n_params * tpp
            C = 6 * n_params * tokens
            P = np.exp(-(TRUTH["E0"] + TRUTH["C0"] * C ** -TRUTH["alpha"]))
            p = u * P
            assert p.max() < 1  # no clipping: the benchmark mean of p is exactly P(C)
            revision = f"t{tpp}"
            counts.append(pd.DataFrame({
                "model": model, "revision": revision, "task": "sim",
                "problem_id": np.arange(problems), "num_samples": n_samples,
                "num_correct": rng.binomial(n_samples, p)}))
            ladder.append({"model": model, "revision": revision, "parameters": n_params,
                           "tokens": tokens})
    return read_counts(pd.concat(counts, ignore_index=True)), load_ladder(pd.DataFrame(ladder))


def test_end_to_end_bernoulli_recovers_the_compute_law() -> None:
    counts, ladder = simulated_tables()
    (fit,) = fit_table(passk_points(counts, ladder, ks=[1]), laws=["compute"])
    assert fit.converged, fit.message
    assert fit.n_points == 16 and fit.task == "sim"
    assert fit.params["alpha"] == pytest.approx(TRUTH["alpha"], rel=0.1)
    assert fit.params["E0"] == pytest.approx(TRUTH["E0"], rel=0.15)
    C = np.geomspace(1e16, 1e20, 5)
    want = TRUTH["E0"] + TRUTH["C0"] * C ** -TRUTH["alpha"]
    np.testing.assert_allclose(fit.predict(C=C), want, rtol=0.02)


def test_direct_joint_fits_every_k_at_once() -> None:
    counts, ladder = simulated_tables(n_samples=2_000, problems=50)
    fits = fit_table(passk_points(counts, ladder, ks=[1, 4, 16]), laws=["direct_joint", "compute"])
    joint = [f for f in fits if f.law == "direct_joint"]
    assert len(joint) == 1 and len(fits) == 4
    (fit,) = joint
    assert fit.k is None and fit.n_points == 3 * 16
    assert all("|k=" in label for label in fit.labels)
    # -log pass@k falls with k at every compute of the ladder
    C = np.full(3, 6 * 1e8 * 2e9)
    pred = fit.predict(C=C, k=np.array([1.0, 4.0, 16.0]))
    assert np.all(np.diff(pred) < 0)


def test_passk_points_columns_and_join_on_revision() -> None:
    counts, ladder = simulated_tables(n_samples=64, problems=20)
    pts = passk_points(counts, ladder, ks=[1, 8], exclude=["m1@*"])
    assert tuple(pts.columns) == POINTS_COLUMNS
    assert len(pts) == 16 * 2
    assert pts.loc[pts["model"] == "m1", "user_excluded"].all()
    assert not pts.loc[pts["model"] != "m1", "user_excluded"].any()
    row = pts[(pts["checkpoint"] == "m2@t20") & (pts["k"] == 1)].iloc[0]
    assert row["parameters"] == 4e7 and row["tokens"] == 4e7 * 20
    assert row["compute"] == pytest.approx(6 * 4e7 * 8e8)
    assert np.isnan(pts["neg_log_gold_prob"]).all()


def test_missing_checkpoint_is_a_clear_error() -> None:
    counts, ladder = simulated_tables(n_samples=16, problems=5)
    small = ladder[ladder["model"] != "m3"]
    with pytest.raises(InputError, match=r"4 checkpoint\(s\).*missing from the ladder: m3@"):
        passk_points(counts, small, ks=[1])


def test_censored_points_are_excluded_and_counted() -> None:
    counts, ladder = simulated_tables(n_samples=64, problems=20)
    zero = counts["model"].eq("m1") & counts["revision"].eq("t5")
    counts = counts.assign(num_correct=np.where(zero, 0, counts["num_correct"]))
    (fit,) = fit_table(passk_points(counts, ladder, ks=[1]), laws=["compute"])
    assert fit.n_censored == 1 and "m1@t5" in fit.excluded_labels
    assert "m1@t5" not in fit.labels and fit.n_points == 15


# ------------------------------------------------------------------ shared Pythia data


@pytest.fixture(scope="module")
def pythia(pythia_dir: Path):
    return (read_counts(pythia_dir / "counts.csv"), load_ladder(pythia_dir / "ladder.csv"),
            read_gold(pythia_dir / "gold.csv"))


def test_pythia_join_without_revision_and_gold(pythia) -> None:
    counts, ladder, gold = pythia
    pts = passk_points(counts, ladder, ks=[1], gold=gold)
    assert len(pts) == 81
    row = pts[pts["checkpoint"] == "Pythia_12B_300B"].iloc[0]
    assert row["compute"] == pytest.approx(6 * 12e9 * 300e9)
    # gold exists for the 9 final checkpoints only
    assert pts["neg_log_gold_prob"].notna().sum() == 9
    assert np.isfinite(row["neg_log_gold_prob"]) and row["neg_log_gold_prob"] > 0


def test_pythia_gold_covariate_uses_the_sampled_problems(pythia) -> None:
    """The gold covariate averages over the problems pass@k averages over (128 here, of the
    1319 in the gold table); on them the gold law fits better (R^2 0.81 -> 0.90 at k=1)."""
    counts, ladder, gold = pythia
    r2 = {}
    for name, n_problems in (("same", 128), ("all", 1319)):
        points = passk_points(counts, ladder, ks=[1], gold=gold, exclude=["*_2M"],
                              gold_problems=name)
        has = points["gold"].notna()
        assert has.sum() == 9 and set(points.loc[has, "gold_num_problems"]) == {n_problems}
        (fit,) = fit_table(points, laws=["gold"])
        r2[name] = fit.r_squared
    assert r2["same"] >= 0.88 and r2["all"] < 0.85


def test_gold_bootstrap_resamples_the_covariate_too() -> None:
    """With pass@1 = the gold probability of every problem, a bootstrap that resampled only
    pass@k would scatter kappa (CI width ~0.09 here); resampling both sides with the same
    problems keeps every replicate on the law (y = gold: xi0 -> 0, K0 = kappa = 1)."""
    rng = np.random.default_rng(5)
    n_problems, n = 60, 400_000
    base = rng.uniform(-4.0, -0.5, n_problems)
    counts, gold, ladder = [], [], []
    for i, shift in enumerate(np.linspace(0.0, 2.5, 8)):
        lp = base - shift
        counts.append(pd.DataFrame({"model": f"m{i}", "problem_id": np.arange(n_problems),
                                    "num_samples": n, "num_correct": np.round(n * np.exp(lp))}))
        gold.append(pd.DataFrame({"model": f"m{i}", "problem_id": np.arange(n_problems),
                                  "gold_logprob": lp}))
        ladder.append({"model": f"m{i}", "parameters": 1e8 * (i + 1), "tokens": 1e10})
    counts_t = read_counts(pd.concat(counts, ignore_index=True))
    gold_t = read_gold(pd.concat(gold, ignore_index=True))
    points = passk_points(counts_t, load_ladder(pd.DataFrame(ladder)), ks=[1], gold=gold_t)
    (fit,) = fit_table(points, laws=["gold"], options=FitOptions(bootstrap=40),
                       counts=counts_t, gold=gold_t)
    assert fit.params["kappa"] == pytest.approx(1.0, abs=0.01)
    lo, hi = fit.ci["kappa"]
    assert hi - lo < 1e-3 and lo - 1e-4 <= 1.0 <= hi + 1e-4
    with pytest.raises(InputError, match="gold table"):
        fit_table(points, laws=["gold"], options=FitOptions(bootstrap=4), counts=counts_t)


def test_pythia_compute_law_follows_the_paper(pythia) -> None:
    """alpha(k) rises with k from ~0.1 to 0.3-0.4; E0(k) falls (step-1 checkpoints left out)."""
    counts, ladder, _ = pythia
    ks = [1, 10, 100, 1000, 10000]
    fits = fit_table(passk_points(counts, ladder, ks=ks, exclude=["*_2M"]), laws=["compute"])
    assert [f.k for f in fits] == ks and all(f.converged for f in fits)
    alpha = np.array([f.params["alpha"] for f in fits])
    e0 = np.array([f.params["E0"] for f in fits])
    assert np.all(np.diff(alpha) > 0)
    assert 0.08 < alpha[0] < 0.2
    assert 0.3 < alpha[-2] < 0.45 and 0.3 < alpha[-1] < 0.45
    assert np.all(np.diff(e0) <= 1e-12)
    assert e0[0] > 1.0 and e0[2] < 1e-6  # ~0 by k ~ 100


def test_problem_bootstrap_is_seeded_and_brackets_the_fit(pythia) -> None:
    counts, ladder, _ = pythia
    points = passk_points(counts, ladder, ks=[10], exclude=["*_2M"])
    options = FitOptions(bootstrap=40, seed=3)
    (a,) = fit_table(points, laws=["compute"], options=options.with_(n_jobs=1), counts=counts)
    (b,) = fit_table(points, laws=["compute"], options=options.with_(n_jobs=2), counts=counts)
    assert a.ci is not None and a.n_boot >= 30
    assert a.ci == b.ci  # reproducible, independent of the number of processes
    lo, hi = a.ci["alpha"]
    assert lo < a.params["alpha"] < hi
    assert hi - lo < 0.2


def test_cli_fit_writes_json_and_prints_table(tmp_path: Path, capsys) -> None:
    counts, ladder = simulated_tables(n_samples=2000, problems=50)
    cpath, lpath = tmp_path / "counts.csv", tmp_path / "ladder.csv"
    counts.to_csv(cpath, index=False)
    ladder.to_csv(lpath, index=False)
    out = tmp_path / "fits.json"
    rc = main(["fit", str(cpath), "--ladder", str(lpath), "--law", "compute,direct_compute",
               "--k", "1,4", "--exclude", "m1@t5", "-o", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert [(d["law"], d["k"]) for d in data] == [("compute", 1), ("compute", 4),
                                                  ("direct_compute", 1), ("direct_compute", 4)]
    assert all(d["n_points"] == 15 for d in data)
    want = fit_table(passk_points(counts, ladder, ks=[1], exclude=["m1@t5"]), laws=["compute"])[0]
    assert data[0]["params"] == pytest.approx(want.params, rel=1e-6)
    text = capsys.readouterr().out
    assert text.split()[:4] == ["law", "k", "task", "params"]
    assert "alpha=" in text
    assert main(["fit", str(cpath), "--ladder", str(lpath), "--law", "gold"]) == 2
    assert "gold" in capsys.readouterr().err


def test_direct_laws_normalise_against_chance_and_drop_points_near_it() -> None:
    """pass@1 = chance + (1 - chance) exp(-A C^-alpha) with chance 0.25 (a 4-way multiple
    choice): the direct law recovers A and alpha from the normalised accuracy; points with
    pass@1 within 5% of chance (<= 0.2625) are left out; the E0 laws ignore the chance."""
    A, alpha, chance = 2.0e3, 0.2, 0.25
    rows, ladder = [], []
    for i, C in enumerate(np.geomspace(1e12, 1e22, 10)):
        p = chance + (1 - chance) * np.exp(-A * C ** -alpha)
        rows.append({"model": f"m{i}", "problem_id": 0, "num_samples": 10**9,
                     "num_correct": round(p * 10**9)})
        ladder.append({"model": f"m{i}", "parameters": math.sqrt(C / 120), "tokens": math.sqrt(C * 20 / 6)})
    points = passk_points(read_counts(pd.DataFrame(rows)), load_ladder(pd.DataFrame(ladder)), ks=[1])
    options = FitOptions(chance_level=chance)
    (fit,) = fit_table(points, laws=["direct_compute"], options=options)
    near = points["pass_at_k"] <= 1.05 * chance
    assert near.sum() >= 1 and fit.n_points == 10 - near.sum()
    assert fit.params["A"] == pytest.approx(A, rel=1e-3)
    assert fit.params["alpha"] == pytest.approx(alpha, rel=1e-3)
    (raw,) = fit_table(points, laws=["direct_compute"])  # chance 0: the raw pass@1
    assert raw.n_points == 10 and abs(raw.params["alpha"] - alpha) > 0.01
    (e0,) = fit_table(points, laws=["compute"], options=options)
    assert e0.n_points == 10


def test_options_validate_estimator() -> None:
    with pytest.raises(InputError, match="estimator"):
        FitOptions(estimator="plugin")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="hierarchical"):
        FitOptions(hierarchical="yes")  # type: ignore[arg-type]


@pytest.mark.slow
def test_beta_binomial_points_use_every_problem(pythia) -> None:
    counts, ladder, _ = pythia
    unb = passk_points(counts, ladder, ks=[100, 10_000], exclude=["*_2M"])
    mod = passk_points(counts, ladder, ks=[100, 10_000], exclude=["*_2M"], estimator="beta_binomial")
    assert (mod["num_problems_excluded"] == 0).all() and (unb["num_problems_excluded"] > 0).any()
    # every checkpoint has n >= 100 everywhere: the estimators agree exactly at k = 100
    k100 = mod["k"] == 100
    np.testing.assert_array_equal(mod.loc[k100, "pass_at_k"], unb.loc[k100, "pass_at_k"])
    solved = counts.groupby("model")["num_correct"].sum()
    has = mod["model"].map(solved) > 0
    assert (mod.loc[has, "pass_at_k"] > 0).all()
    fits = fit_table(mod, laws=["compute"])
    assert all(f.converged for f in fits)
    assert 0.15 < fits[-1].params["alpha"] < 0.5


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["beta_binomial", "pooled"])
def test_problem_bootstrap_with_the_model_estimators(estimator: str) -> None:
    counts, ladder = simulated_tables(n_samples=500, problems=30)
    points = passk_points(counts, ladder, ks=[2000], estimator=estimator)  # type: ignore[arg-type]
    assert (points["num_problems_excluded"] == 0).all()
    options = FitOptions(bootstrap=6, seed=1, estimator=estimator, n_jobs=1)  # type: ignore[arg-type]
    (fit,) = fit_table(points, laws=["compute"], options=options, counts=counts)
    assert fit.ci is not None and fit.n_boot >= 5



def test_resampling_a_subset_of_checkpoints_over_the_same_problems_repeats_the_resamples() -> None:
    """``problems=``: a subset of the checkpoints, lacking a problem, is resampled exactly as
    in the whole table when given the whole table's problem ids (and differently without)."""
    from lm_eval_scaling.analysis.fits import resampled_passk
    from tests.support import law_tables

    counts, ladder = law_tables(n_samples=64, problems=12)
    ks = np.array([1, 4], np.int64)
    points = passk_points(counts, ladder, ks=ks)
    whole, _ = resampled_passk(counts, ks, points, 20, 3)
    dropped = counts["problem_id"].iloc[-1]
    keep = counts["model"].isin(["m5", "m6"]) & (counts["problem_id"] != dropped)
    sub_points = passk_points(counts[keep], ladder, ks=ks)
    rows = [int(np.flatnonzero((points["checkpoint"] == c).to_numpy() & (points["k"] == k).to_numpy())[0])
            for c, k in zip(sub_points["checkpoint"], sub_points["k"])]
    same, _ = resampled_passk(counts[keep], ks, sub_points, 20, 3, problems=counts["problem_id"])
    other, _ = resampled_passk(counts[keep], ks, sub_points, 20, 3)
    full_sub, _ = resampled_passk(counts[counts["model"].isin(["m5", "m6"])], ks,
                                  passk_points(counts[counts["model"].isin(["m5", "m6"])], ladder, ks=ks),
                                  20, 3, problems=counts["problem_id"])
    np.testing.assert_allclose(full_sub, whole[:, rows], rtol=1e-12)
    assert not np.allclose(same, other)
    assert np.isfinite(same).all()

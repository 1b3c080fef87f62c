"""Backtesting and the backtest / envelope commands.

Oracles: counts simulated so that pass@1 follows a known compute law exactly (the
forecast error must vanish as the cap approaches the target and the parameters must
approach the truth); independent refits with fit_law for single rows; the envelope's
closed forms written out here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling import backtest
from lm_eval_scaling.analysis.backtest import BACKTEST_COLUMNS
from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.analysis.points import passk_points
from lm_eval_scaling.cli import main
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.fit import fit_law
from lm_eval_scaling.passk.benchmark import passk_table
from lm_eval_scaling.tables.ladder import load_ladder
from lm_eval_scaling.tables.schema import read_counts, read_gold
from tests.support import TRUTH, law_tables


@pytest.fixture(scope="module")
def simulated():
    counts, ladder = law_tables()
    points = passk_points(counts, ladder, ks=[1])
    return counts, ladder, backtest(points, laws=["compute"], options=FitOptions(n_jobs=1))


def test_rows_contract_and_default_targets(simulated) -> None:
    _, _, res = simulated
    # the largest checkpoint of each of the 3 biggest sizes (m6, m5, m4; 128 tokens/param)
    assert [t for t, _ in res.targets] == ["m6@t128", "m5@t128", "m4@t128"]
    assert res.target == "m6@t128"
    assert res.target_compute == pytest.approx(6 * 1e10 * 1e10 * 128)
    rows = res.rows
    assert tuple(rows.columns[: len(BACKTEST_COLUMNS)]) == BACKTEST_COLUMNS
    assert {"E0", "C0", "alpha", "C0_pivot"} <= set(rows.columns)
    assert set(rows["law"]) == {"compute", "persistence", "trend"}
    for name, compute in res.targets:
        sub = rows[rows["target"] == name]
        np.testing.assert_allclose(sub["compute_ratio"], sub["c_max"] / compute)
        assert (sub["c_max"] < compute).all()
        for _, grp in sub.groupby("law"):
            assert len(grp) == grp["c_max"].nunique()  # one row per distinct cheaper compute


def test_baselines_are_the_naive_forecasts(simulated) -> None:
    """persistence = y of the most expensive checkpoint under the cap; trend = the line
    through log y against log C over the last decade under the cap (computed here)."""
    counts, ladder, res = simulated
    pts = passk_points(counts, ladder, ks=[1])
    name, compute = res.targets[0]
    pool = pts[(pts["checkpoint"] != name) & (pts["compute"] < compute)]
    rows = res.rows[res.rows["target"] == name].set_index(["law", "c_max"])
    for c_max in sorted(pool["compute"].unique())[::7]:
        under = pool[pool["compute"] <= c_max]
        top = under[under["compute"] == under["compute"].max()]
        assert rows.loc[("persistence", c_max), "predicted"] == pytest.approx(
            top["neg_log_pass_at_k"].mean(), rel=1e-12)
        near = under[under["compute"] >= c_max / 10]
        if near["compute"].nunique() >= 2:
            x, y = np.log(near["compute"]), np.log(near["neg_log_pass_at_k"])
            slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
            want = math.exp(y.mean() + slope * (math.log(compute) - x.mean()))
            assert rows.loc[("trend", c_max), "predicted"] == pytest.approx(want, rel=1e-9)
        else:
            assert np.isnan(rows.loc[("trend", c_max), "predicted"])


def test_summary_says_whether_a_law_beats_the_baselines(simulated) -> None:
    """On data that follow the compute law with E0 > 0, the law beats both naive forecasts
    (persistence ignores the improvement, the trend line ignores the curvature)."""
    _, _, res = simulated
    s = res.summary().set_index(["target", "law"])
    row = s.loc[("m6@t128", "compute")]
    assert row["beats_persistence"] is True and row["beats_trend"] is True
    assert row["plateau_error"] < row["persistence_plateau_error"]
    assert pd.isna(s.loc[("m6@t128", "trend"), "beats_trend"])
    assert np.isnan(s.loc[("m6@t128", "persistence"), "stable_horizon_oom"])


def test_horizon_rules(simulated) -> None:
    _, _, res = simulated
    plateau = res.summary(threshold=0.02).set_index(["target", "law"])
    absolute = res.summary(threshold=0.02, horizon="threshold").set_index(["target", "law"])
    rows = res.rows[(res.rows["target"] == "m6@t128") & (res.rows["law"] == "trend")]
    rows = rows.sort_values("horizon_oom")
    err = rows["relative_error"].to_numpy()
    ok = np.isfinite(err) & (err < 0.02)
    want = 0.0 if not ok[0] else rows["horizon_oom"].to_numpy()[
        (np.flatnonzero(~ok)[0] - 1) if (~ok).any() else len(ok) - 1]
    assert absolute.loc[("m6@t128", "trend"), "error_horizon_oom"] == pytest.approx(want)
    assert (plateau["error_horizon_oom"].fillna(0) >= 0).all()
    with pytest.raises(InputError, match="horizon"):
        res.summary(horizon="best")


def test_bootstrap_intervals_on_the_forecast_error() -> None:
    """Intervals from resampled problems shrink like 1/sqrt(problems): 16x the problems,
    about a quarter of the width (at least half) for the law and the baselines alike."""
    widths = {}
    for problems in (10, 160):
        counts, ladder = law_tables(n_samples=20_000, problems=problems)
        points = passk_points(counts, ladder, ks=[1])
        res = backtest(points, laws=["compute"], targets=["m6@t128"],
                       caps=[6 * 1e9 * 1e9 * 128, 6 * 1e10 * 1e10 * 32], counts=counts,
                       options=FitOptions(bootstrap=30, n_jobs=1))
        rows = res.rows[res.rows["converged"]]
        assert len(rows) == 6  # compute, persistence, trend at 2 caps
        assert (rows["error_ci_low"] <= rows["error_ci_high"]).all()
        far = rows[rows["horizon_oom"] > 1].set_index("law")
        widths[problems] = far["error_ci_high"] - far["error_ci_low"]
    assert (widths[10] > 2 * widths[160]).all()


def test_errors_vanish_as_caps_approach_the_target(simulated) -> None:
    _, _, res = simulated
    rows = res.rows[res.rows["converged"] & (res.rows["law"] == "compute")
                    & (res.rows["target"] == "m6@t128")].sort_values("horizon_oom")
    near = rows[rows["horizon_oom"] < 1.0]["relative_error"]
    far = rows[rows["horizon_oom"] > 3.0]["relative_error"]
    assert near.max() < 0.01
    assert far.median() > near.median()
    closest = rows.iloc[0]
    for name, value in TRUTH.items():
        assert closest[name] == pytest.approx(value, rel=0.05)
    summary = res.summary(threshold=0.02, stability=0.05, horizon="threshold")
    summary = summary.set_index(["target", "law"])
    assert summary.loc[("m6@t128", "compute"), "error_horizon_oom"] >= 1.0


def test_single_row_equals_an_independent_refit(simulated) -> None:
    counts, ladder, res = simulated
    pts = passk_points(counts, ladder, ks=[1])
    rows = res.rows[(res.rows["law"] == "compute") & (res.rows["target"] == res.target)]
    row = rows.sort_values("horizon_oom").iloc[5]
    use = pts[(pts["compute"] <= row["c_max"]) & (pts["checkpoint"] != res.target)]
    fit = fit_law("compute", use["neg_log_pass_at_k"], C=use["compute"], k=1, grid="full")
    assert row["n_points"] == len(use)
    assert row["predicted"] == pytest.approx(float(fit.predict(C=res.target_compute)[0]),
                                             rel=1e-5)


def test_parallel_equals_serial_and_errors() -> None:
    counts, ladder = law_tables(n_samples=5000, problems=30)
    points = passk_points(counts, ladder, ks=[1, 2])
    laws = ["compute", "direct_compute"]
    a = backtest(points, laws=laws, options=FitOptions(n_jobs=1))
    b = backtest(points, laws=laws, options=FitOptions(n_jobs=2))
    pd.testing.assert_frame_equal(a.rows, b.rows)
    with pytest.raises(InputError, match="did you mean 'm6@t128'"):
        backtest(points, laws=["compute"], target="m6@t12")
    with pytest.raises(InputError, match="gold"):
        backtest(points, laws=["gold"])
    with pytest.raises(InputError, match="law must be one of"):
        backtest(points, laws=["direct_joint"])


@pytest.mark.parametrize("refit", ["cap", "target"])
def test_a_pooled_backtest_never_sees_its_target(refit: str) -> None:
    """With estimator='pooled' every checkpoint's pass@k rests on one model of all of them
    (shared problem eases).  Changing only the target's counts must move its actual value
    and no forecast; the persistence forecast is the pass@k of the next cheaper checkpoint
    under a pooled model fitted to the cheaper checkpoints alone."""
    counts, ladder = law_tables(n_samples=16, problems=24)
    target = "m6@t128"
    options = FitOptions(estimator="pooled", n_jobs=1, pooled_refit=refit)
    own = ((counts["model"] == "m6") & (counts["revision"] == "t128")).to_numpy()
    changed = counts.copy()
    changed.loc[own, "num_correct"] = changed.loc[own, "num_samples"] // 2
    rows = []
    for c in (counts, changed):
        points = passk_points(c, ladder, ks=[64], estimator="pooled")
        rows.append(backtest(points, laws=["compute"], targets=[target], counts=c,
                             caps=[4.8e21, 7.68e21, 1.92e22],  # m6@t8, m5@t128, m6@t32
                             options=options, progress=True).rows)
    assert not np.allclose(rows[0]["actual"], rows[1]["actual"])
    np.testing.assert_array_equal(rows[0]["predicted"], rows[1]["predicted"])

    cheaper = passk_table(counts[~own], [64], ci=None, estimator="pooled").set_index("checkpoint")
    last = rows[0][rows[0]["law"] == "persistence"].sort_values("c_max").iloc[-1]
    assert last["predicted"] == pytest.approx(cheaper.loc["m6@t32", "neg_log_pass_at_k"], rel=1e-12)
    everyone = passk_points(counts, ladder, ks=[64], estimator="pooled").set_index("checkpoint")
    assert last["predicted"] != pytest.approx(everyone.loc["m6@t32", "neg_log_pass_at_k"], rel=1e-9)
    with pytest.raises(InputError, match="counts"):
        backtest(passk_points(counts, ladder, ks=[64], estimator="pooled"), laws=["compute"],
                 targets=[target], options=options)


def test_a_pooled_backtest_sees_nothing_above_its_cap() -> None:
    """pooled_refit='cap' (the default): a forecast from cap C fits on pass@k from a pooled
    model of the checkpoints with compute <= C alone.  Changing the counts of one checkpoint
    below the target moves no forecast from a cap under it (it does with 'target', whose
    refit still holds that checkpoint), and the persistence forecast at each cap is the
    most expensive checkpoint's pass@k under a pooled fit to the checkpoints up to the cap."""
    counts, ladder = law_tables(n_samples=16, problems=24)
    moved = ((counts["model"] == "m5") & (counts["revision"] == "t32")).to_numpy()  # C = 1.92e21
    changed = counts.copy()
    changed.loc[moved, "num_correct"] = changed.loc[moved, "num_samples"] // 2
    caps = [7.68e20, 1.2e21, 1.92e21, 4.8e21]  # m4@t128, m6@t2, m5@t32, m6@t8
    rows: dict[str, list[pd.DataFrame]] = {}
    for refit in ("cap", "target"):  # the caps' refits in 2 worker processes
        options = FitOptions(estimator="pooled", n_jobs=2 if refit == "cap" else 1,
                             pooled_refit=refit)
        rows[refit] = [backtest(passk_points(c, ladder, ks=[64], estimator="pooled"),
                                laws=["compute"], targets=["m6@t128"], counts=c, caps=caps,
                                options=options).rows.sort_values(["law", "c_max"])
                       for c in (counts, changed)]
    below = rows["cap"][0]["c_max"].to_numpy() < 1.92e21
    for refit, (before, after) in rows.items():
        same = np.isclose(before["predicted"], after["predicted"], rtol=1e-12, equal_nan=True)
        if refit == "cap":
            assert same[below].all() and not same[~below].all()
        else:
            assert not same[below].all()

    points = passk_points(counts, ladder, ks=[64], estimator="pooled")
    compute = points.drop_duplicates("checkpoint").set_index("checkpoint")["compute"]
    persistence = rows["cap"][0][rows["cap"][0]["law"] == "persistence"].set_index("c_max")
    for cap, last in ((7.68e20, "m4@t128"), (1.2e21, "m6@t2")):
        upto = set(compute.index[compute <= cap])
        keep = (counts["model"] + "@" + counts["revision"]).isin(upto).to_numpy()
        alone = passk_table(counts[keep], [64], ci=None, estimator="pooled").set_index("checkpoint")
        assert persistence.loc[cap, "predicted"] == pytest.approx(
            alone.loc[last, "neg_log_pass_at_k"], rel=1e-12)


@pytest.mark.parametrize("refit", ["cap", "target"])
def test_a_pooled_backtest_bootstraps_the_refit_without_the_target(refit: str) -> None:
    counts, ladder = law_tables(n_samples=16, problems=24)
    points = passk_points(counts, ladder, ks=[64], estimator="pooled")
    res = backtest(points, laws=["compute"], targets=["m6@t128"], counts=counts,
                   caps=[6 * 1e10 * 1e10 * 8, 6 * 1e10 * 1e10 * 32],
                   options=FitOptions(estimator="pooled", bootstrap=8, n_jobs=1,
                                      pooled_refit=refit))
    rows = res.rows[res.rows["converged"]]
    assert len(rows) == 6
    assert np.isfinite(rows[["error_ci_low", "error_ci_high"]].to_numpy()).all()
    assert (rows["error_ci_low"] <= rows["error_ci_high"]).all()


# ------------------------------------------------------------------ shared Pythia data


@pytest.fixture(scope="module")
def pythia(pythia_dir: Path):
    counts = read_counts(pythia_dir / "counts.csv")
    ladder = load_ladder(pythia_dir / "ladder.csv")
    gold = read_gold(pythia_dir / "gold.csv")
    points = passk_points(counts, ladder, ks=[1, 10], gold=gold, exclude=["*_2M"])
    res = backtest(points, target="Pythia_12B_300B", laws=["compute", "params_tokens", "gold"])
    return counts, ladder, gold, res


def test_pythia_backtest_shape_and_target(pythia) -> None:
    _, _, _, res = pythia
    assert res.target == "Pythia_12B_300B"
    assert res.target_compute == pytest.approx(6 * 12e9 * 300e9)
    rows = res.rows
    assert set(rows["law"]) == {"compute", "params_tokens", "gold", "persistence", "trend"}
    # every distinct checkpoint compute below the target (step-1 checkpoints left out)
    assert rows.groupby(["law", "k"]).size().nunique() == 1
    assert rows["horizon_oom"].max() == pytest.approx(math.log10(2.16e22 / (6 * 14e6 * 64e6)))
    laws = rows[rows["law"].isin(["compute", "params_tokens", "gold"])]
    assert len(laws[laws["converged"]]) > 0.9 * len(laws[laws["n_points"] >= 5])
    assert len(res.full_fits) == 6 and all(f.converged for f in res.full_fits)


def test_pythia_gold_law_predicts_from_the_targets_own_gold(pythia) -> None:
    counts, _, gold, res = pythia
    # oracle: -log of the mean gold probability over the problems the target was sampled on
    sampled = set(counts.loc[counts["model"] == "Pythia_12B_300B", "problem_id"])
    lp = gold.loc[(gold["model"] == "Pythia_12B_300B") & gold["problem_id"].isin(sampled),
                  "gold_logprob"].to_numpy(np.float64)
    assert lp.size == len(sampled) == 128
    target_gold = -math.log(math.fsum(math.exp(v - lp.max()) for v in lp) / lp.size) - lp.max()
    rows = res.rows[(res.rows["law"] == "gold") & (res.rows["k"] == 10) & res.rows["converged"]]
    assert len(rows) > 0
    for _, row in rows.iterrows():
        want = row["xi0"] + row["K0"] * target_gold ** row["kappa"]
        assert row["predicted"] == pytest.approx(want, rel=1e-9)


def test_pythia_summary_columns(pythia) -> None:
    _, _, _, res = pythia
    s = res.summary()
    assert list(s[["law", "k"]].itertuples(index=False, name=None)) == [
        ("compute", 1), ("compute", 10), ("gold", 1), ("gold", 10),
        ("params_tokens", 1), ("params_tokens", 10), ("persistence", 1), ("persistence", 10),
        ("trend", 1), ("trend", 10)]
    # next to the target, persistence beats the compute law (16% vs 4% error at k = 1)
    row = s.set_index(["law", "k"]).loc[("compute", 1)]
    assert row["beats_persistence"] is False
    assert row["plateau_error"] > 0.1 > row["persistence_plateau_error"]
    assert ((s["error_horizon_oom"] >= 0) & (s["error_horizon_oom"] <= s["max_horizon_oom"])).all()


# ---------------------------------------------------------------------------- CLI


def test_cli_backtest_and_envelope(tmp_path: Path, capsys) -> None:
    counts, ladder = law_tables(n_samples=20_000, problems=40)
    cpath, lpath = tmp_path / "counts.csv", tmp_path / "ladder.csv"
    counts.to_csv(cpath, index=False)
    ladder.to_csv(lpath, index=False)
    out = tmp_path / "bt.csv"
    assert main(["backtest", str(cpath), "--ladder", str(lpath), "--law", "compute",
                 "--k", "1", "--target", "m6@t128", "-o", str(out), "--jobs", "1"]) == 0
    rows = pd.read_csv(out)
    assert set(BACKTEST_COLUMNS) <= set(rows.columns)
    assert (tmp_path / "bt_summary.csv").exists()
    assert "target m6@t128" in capsys.readouterr().out

    assert main(["envelope", str(cpath), "--ladder", str(lpath), "--k", "1",
                 "--budgets", "1e22", "-o", str(tmp_path / "env.csv")]) == 0
    env = pd.read_csv(tmp_path / "env_summary.csv")
    assert {"envelope_alpha", "compute_alpha"} <= set(env.columns)
    assert "optimal split" in capsys.readouterr().out

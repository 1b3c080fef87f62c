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
from lm_eval_scaling.passk.gold import gold_summary
from lm_eval_scaling.tables.ladder import load_ladder
from lm_eval_scaling.tables.schema import read_counts, read_gold
from tests.support import TRUTH, law_tables


@pytest.fixture(scope="module")
def simulated():
    counts, ladder = law_tables()
    points = passk_points(counts, ladder, ks=[1])
    return counts, ladder, backtest(points, laws=["compute"], options=FitOptions(n_jobs=1))


def test_rows_contract_and_default_target(simulated) -> None:
    _, _, res = simulated
    assert res.target == "m6@t128"
    assert res.target_compute == pytest.approx(6 * 1e10 * 1e10 * 128)
    rows = res.rows
    assert tuple(rows.columns[: len(BACKTEST_COLUMNS)]) == BACKTEST_COLUMNS
    assert {"E0", "C0", "alpha"} <= set(rows.columns)
    np.testing.assert_allclose(rows["compute_ratio"], rows["c_max"] / res.target_compute)
    assert (rows["c_max"] < res.target_compute).all()
    assert len(rows) == rows["c_max"].nunique()  # one row per distinct cheaper compute


def test_errors_vanish_as_caps_approach_the_target(simulated) -> None:
    _, _, res = simulated
    rows = res.rows[res.rows["converged"]].sort_values("horizon_oom")
    near = rows[rows["horizon_oom"] < 1.0]["relative_error"]
    far = rows[rows["horizon_oom"] > 3.0]["relative_error"]
    assert near.max() < 0.01
    assert far.median() > near.median()
    closest = rows.iloc[0]
    for name, value in TRUTH.items():
        assert closest[name] == pytest.approx(value, rel=0.05)
    summary = res.summary(threshold=0.02, stability=0.05)
    assert summary.loc[0, "error_horizon_oom"] >= 1.0


def test_single_row_equals_an_independent_refit(simulated) -> None:
    counts, ladder, res = simulated
    pts = passk_points(counts, ladder, ks=[1])
    row = res.rows.sort_values("horizon_oom").iloc[5]
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
    assert set(rows["law"]) == {"compute", "params_tokens", "gold"}
    # every distinct checkpoint compute below the target (step-1 checkpoints left out)
    assert rows.groupby(["law", "k"]).size().nunique() == 1
    assert rows["horizon_oom"].max() == pytest.approx(math.log10(2.16e22 / (6 * 14e6 * 64e6)))
    ok = rows[rows["converged"]]
    assert len(ok) > 0.9 * len(rows[rows["n_points"] >= 5])
    assert len(res.full_fits) == 6 and all(f.converged for f in res.full_fits)


def test_pythia_gold_law_predicts_from_the_targets_own_gold(pythia) -> None:
    _, _, gold, res = pythia
    summ = gold_summary(gold).set_index("model")
    target_gold = float(summ.loc["Pythia_12B_300B", "neg_log_gold_prob"])
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
        ("params_tokens", 1), ("params_tokens", 10)]
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

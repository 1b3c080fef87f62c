"""Tests of lm_eval_scaling.analysis.envelope_tables: envelope tables of a fitted ladder vs closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.analysis.envelope_tables import envelope_tables
from lm_eval_scaling.analysis.fits import fit_table
from lm_eval_scaling.analysis.points import passk_points
from tests.support import law_tables  # a ladder whose pass@1 follows a known compute law


def test_envelope_tables_match_closed_forms() -> None:
    counts, ladder = law_tables(n_samples=20_000, problems=40)
    points = passk_points(counts, ladder, ks=[1])
    fits = fit_table(points, laws=["params_tokens", "compute"])
    t = envelope_tables(points, fits, budgets=[1e21])
    s = t["summary"].iloc[0]
    pt = fits[0]
    assert [s["pt_" + n] for n in pt.params] == list(pt.params.values())  # the fits, not refits
    b, g = s["pt_beta"], s["pt_gamma"]
    assert s["compute_alpha"] == fits[1].params["alpha"]
    assert s["envelope_alpha"] == pytest.approx(b * g / (b + g), rel=1e-12)
    A, B = s["pt_N0"], s["pt_D0"]
    n_opt = (b * A / (g * B)) ** (1 / (b + g)) * (1e21 / 6) ** (g / (b + g))
    assert t["budgets"].iloc[0]["n_opt"] == pytest.approx(n_opt, rel=1e-9)
    row = t["checkpoints"].iloc[0]
    r = row["parameters"] / ((b * A / (g * B)) ** (1 / (b + g)) * (row["compute"] / 6) ** (g / (b + g)))
    assert row["ratio"] == pytest.approx(r, rel=1e-9)
    assert row["penalty"] == pytest.approx((g * r ** -b + b * r ** g) / (b + g), rel=1e-9)
    assert (t["checkpoints"]["penalty"] >= 1 - 1e-12).all()


def test_default_budgets_are_1_10_100_times_the_top_compute() -> None:
    counts, ladder = law_tables(n_samples=20_000, problems=40)
    points = passk_points(counts, ladder, ks=[1, 4])
    t = envelope_tables(points, fit_table(points, laws=["params_tokens"]))
    assert sorted(t["summary"]["k"]) == [1, 4]
    top = float(ladder["compute"].max())
    for _, grp in t["budgets"].groupby("k"):
        np.testing.assert_allclose(np.sort(grp["budget"].to_numpy()), [top, 10 * top, 100 * top])
    # N* D* spends the budget exactly: 6 N* D* = C
    b = t["budgets"]
    np.testing.assert_allclose(6 * b["n_opt"] * b["d_opt"], b["budget"], rtol=1e-9)
    assert isinstance(t["checkpoints"], pd.DataFrame)
    assert t["summary"]["compute_alpha"].isna().all()  # no compute fit given: NaN, not a refit


def test_checkpoint_rows_satisfy_the_envelope_identities() -> None:
    """Oracle: the law itself.  Phi(r) is the factor on the reducible term, and a
    compute-optimal run at C_eff reaches the checkpoint's loss."""
    from lm_eval_scaling.analysis.envelope import envelope_from_fit

    counts, ladder = law_tables(n_samples=20_000, problems=40)
    points = passk_points(counts, ladder, ks=[1])
    fits = fit_table(points, laws=["params_tokens"])
    env = envelope_from_fit(fits[0])
    rows = envelope_tables(points, fits)["checkpoints"]
    n, d, c = (rows[col].to_numpy() for col in ("parameters", "tokens", "compute"))
    reducible = env.loss(n, d) - env.E0
    np.testing.assert_allclose(rows["penalty"], reducible / (env.loss_opt(c) - env.E0), rtol=1e-9)
    np.testing.assert_allclose(rows["ratio"], n / env.n_opt(c), rtol=1e-12)
    assert (rows["effective_compute"] <= rows["compute"] * (1 + 1e-12)).all()
    np.testing.assert_allclose(env.loss_opt(rows["effective_compute"].to_numpy()),
                               env.loss(n, d), rtol=1e-9)


def test_envelope_flags_extrapolation_and_misallocation() -> None:
    """N* and D* are flagged by how far (orders of magnitude) they leave the ladder's N in
    [1e7, 1e10] and D in [2e7, 1.28e12]; a ladder trained at 2-128 tokens/param around a
    ~20 tokens/param ridge spans r of both signs; the envelope's alpha is only comparable
    to the compute law's when the checkpoints sit near the ridge."""
    counts, ladder = law_tables(n_samples=20_000, problems=40)
    points = passk_points(counts, ladder, ks=[1])
    fits = fit_table(points, laws=["params_tokens", "compute"])
    t = envelope_tables(points, fits, budgets=[1e20, 1e26])
    budgets = t["budgets"]
    for row in budgets.itertuples():
        want_n = max(np.log10(row.n_opt / 1e10), np.log10(1e7 / row.n_opt), 0.0)
        want_d = max(np.log10(row.d_opt / (1e10 * 128)), np.log10(2e7 / row.d_opt), 0.0)
        assert row.n_outside_data == pytest.approx(want_n, abs=1e-9)
        assert row.d_outside_data == pytest.approx(want_d, abs=1e-9)
    assert budgets.iloc[1]["n_outside_data"] + budgets.iloc[1]["d_outside_data"] > 0.5
    s = t["summary"].iloc[0]
    ratios = t["checkpoints"]["ratio"]
    assert s["ratio_min"] == ratios.min() < 1 < ratios.max() == s["ratio_max"]
    spread = float(np.median(np.abs(np.log10(ratios))))
    assert s["median_abs_log10_ratio"] == pytest.approx(spread)
    assert s["far_from_ridge"] == (spread > 0.5) and s["alpha_comparable"] == (spread <= 0.5)
    # y* at a budget below which a measured checkpoint did better is flagged
    y = points["neg_log_pass_at_k"]
    for row in budgets.itertuples():
        best = y[points["compute"] <= row.budget].min() if (points["compute"] <= row.budget).any() else np.inf
        assert row.worse_than_measured == bool(row.y_opt > best)

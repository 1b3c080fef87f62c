"""The figure functions: they draw what they are given (checked against the inputs and
against independent closed forms), never an empty panel, and no overlapping text."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from lm_eval_scaling.analysis.envelope import envelope
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.fit import fit_law
from lm_eval_scaling.plots import (
    k_color,
    plot_backtest_errors,
    plot_envelope,
    plot_gold_law,
    plot_parameter_trajectories,
    plot_parameters_vs_k,
    plot_params_tokens,
    plot_passk_vs_compute,
    plot_passk_vs_k,
    save_figure,
)
from lm_eval_scaling.plots._style import grid_figure
from tests.support import assert_no_empty_panel, assert_no_text_overlap, data_axes

KS = (1, 10, 100)
SIZES = (1e6, 4e6, 16e6)
TOKENS_PER_PARAM = (5.0, 20.0, 80.0)
TRUE = {"E0": 0.05, "N0": 60.0, "beta": 0.3, "D0": 400.0, "gamma": 0.35}


# --------------------------------------------------------------------------- data


def _points(ks=KS, *, censor: bool = False, tpp_grid=TOKENS_PER_PARAM) -> pd.DataFrame:
    """(checkpoint, k) rows from a known params+tokens law, with gold and CIs."""
    rows = []
    for (i, n), tpp in itertools.product(enumerate(SIZES), tpp_grid):
        d = n * tpp
        for k in ks:
            y = (TRUE["E0"] + TRUE["N0"] * n ** -TRUE["beta"] + TRUE["D0"] * d ** -TRUE["gamma"]) \
                / k ** 0.3
            rows.append({"checkpoint": f"m{i}@d{int(d)}", "task": "", "k": k, "parameters": n,
                         "tokens": d, "compute": 6 * n * d, "neg_log_pass_at_k": y,
                         "pass_at_k": math.exp(-y), "censored": False, "user_excluded": False,
                         "neg_log_ci_low": 0.9 * y, "neg_log_ci_high": 1.1 * y,
                         "neg_log_gold_prob": 20.0 + 5.0 * y})
    df = pd.DataFrame(rows)
    if censor:
        first = df.index[df["compute"] == df["compute"].min()]
        df.loc[first, ["neg_log_pass_at_k", "pass_at_k"]] = [np.nan, 0.0]
        df.loc[first, "censored"] = True
    return df


def _fits(points: pd.DataFrame, law: str) -> list:
    cov = {"compute": {"C": "compute"}, "params_tokens": {"N": "parameters", "D": "tokens"},
           "gold": {"gold": "neg_log_gold_prob"}}[law]
    out = []
    for k in sorted(points["k"].unique()):
        sub = points[(points["k"] == k) & ~points["censored"]]
        out.append(fit_law(law, sub["neg_log_pass_at_k"].to_numpy(), k=int(k), warn=False,
                           **{c: sub[col].to_numpy() for c, col in cov.items()}))
    return out


# --------------------------------------------------------------------------- the checks


def test_the_overlap_check_can_fail() -> None:
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.set_title("a long title that collides")
    ax.text(0.5, 1.02, "another text on top of it", transform=ax.transAxes, ha="center")
    with pytest.raises(AssertionError, match="overlaps"):
        assert_no_text_overlap(fig)
    fig2 = Figure()
    fig2.subplots(1, 2)[1].plot([1, 2], [1, 2])
    with pytest.raises(AssertionError, match="empty panel"):
        assert_no_empty_panel(fig2)


# --------------------------------------------------------------------------- style


def test_k_color_is_a_function_of_k_only() -> None:
    assert k_color(10) == k_color(10.0)
    colours = [k_color(k) for k in (1, 10, 100, 1000, 10000)]
    assert len(set(colours)) == 5
    assert k_color(1e6) == k_color(1e4)  # clipped beyond the paper's range
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(InputError):
            k_color(bad)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 14), max_cols=st.integers(1, 5))
def test_grid_figure_has_exactly_the_panels_asked_for(n: int, max_cols: int) -> None:
    fig, axes = grid_figure(n, max_cols=max_cols)
    assert len(axes) == n == len(fig.axes)
    ncols = min(n, max_cols)
    assert {round(ax.get_position().x0, 6) for ax in axes}.__len__() == ncols


def test_grid_figure_rejects_zero_panels() -> None:
    with pytest.raises(InputError):
        grid_figure(0)


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"),
                                           (".svg", b"<?xml")])
def test_save_figure_formats(tmp_path: Path, suffix: str, magic: bytes) -> None:
    pts = _points()
    fig = plot_passk_vs_compute(pts)
    path = save_figure(fig, tmp_path / f"f{suffix}")
    assert path.read_bytes().startswith(magic)
    assert not list(tmp_path.glob("*.tmp"))


def test_save_figure_is_reproducible_and_checks_the_extension(tmp_path: Path) -> None:
    a = save_figure(plot_passk_vs_compute(_points()), tmp_path / "a.pdf").read_bytes()
    b = save_figure(plot_passk_vs_compute(_points()), tmp_path / "b.pdf").read_bytes()
    assert a == b  # same input, same bytes: no creation date in the file
    fig = plot_passk_vs_compute(_points())
    with pytest.raises(InputError, match="unknown figure format"):
        save_figure(fig, tmp_path / "a.jpeg")


# --------------------------------------------------------------------------- figure 1


def test_passk_vs_compute_draws_points_and_the_fitted_law() -> None:
    pts = _points(censor=True)
    fits = _fits(pts, "compute")
    fig = plot_passk_vs_compute(pts, fits)
    panels = data_axes(fig)
    assert len(panels) == len(KS)
    for ax, k, fit in zip(panels, KS, fits, strict=True):
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert ax.get_title() == f"$k = {k}$"
        curve = next(line for line in ax.lines if len(line.get_xdata()) == 200)
        np.testing.assert_allclose(curve.get_ydata(), fit.predict(C=curve.get_xdata()))
        assert curve.get_color() == k_color(k) or tuple(curve.get_color()) == k_color(k)
        # every finite point is drawn, the censored one as a marker at the top edge
        sub = pts[(pts["k"] == k) & ~pts["censored"]]
        drawn = np.concatenate([line.get_ydata() for line in ax.lines
                                if line.get_marker() == "o"])
        np.testing.assert_allclose(np.sort(drawn), np.sort(sub["neg_log_pass_at_k"]))
        tops = [line for line in ax.lines if line.get_marker() == "^"]
        assert len(tops) == 1 and np.all(np.asarray(tops[0].get_ydata()) == 0.97)
    assert_no_empty_panel(fig)
    assert_no_text_overlap(fig)


def test_passk_vs_compute_checks_its_input() -> None:
    pts = _points()
    with pytest.raises(InputError, match="lacks column"):
        plot_passk_vs_compute(pts.drop(columns="compute"))
    with pytest.raises(InputError, match="not in the table"):
        plot_passk_vs_compute(pts, ks=[7])
    before = pts.copy()
    plot_passk_vs_compute(pts)
    pd.testing.assert_frame_equal(pts, before)  # inputs never mutated


# --------------------------------------------------------------------------- figure 8


def test_passk_vs_k_one_panel_per_model_size_one_line_per_checkpoint() -> None:
    pts = _points(ks=(1, 2, 4, 8, 16))
    fig = plot_passk_vs_k(pts, points=pts, marks=(1, 16))
    panels = data_axes(fig)
    assert len(panels) == len(SIZES)
    for ax in panels:
        curves = [line for line in ax.lines if line.get_marker() == "."]
        assert len(curves) == len(TOKENS_PER_PARAM)
        assert len(ax.get_lines()) == len(curves) + 2  # + the two k marks
    assert len(fig.axes) == len(SIZES) + 1  # + colorbar
    assert_no_text_overlap(fig)


def test_passk_vs_k_without_ladder_is_one_panel() -> None:
    pts = _points(ks=(1, 2, 4))
    fig = plot_passk_vs_k(pts[["checkpoint", "k", "neg_log_pass_at_k"]])
    (ax,) = data_axes(fig)
    assert len(ax.lines) == pts["checkpoint"].nunique()


def test_passk_vs_k_refuses_nothing_to_draw() -> None:
    pts = _points(ks=(1, 2))
    pts["neg_log_pass_at_k"] = np.nan
    with pytest.raises(InputError, match="nothing to draw"):
        plot_passk_vs_k(pts)


# --------------------------------------------------------------------------- figures 2-4


def test_parameters_vs_k_plots_the_fitted_values() -> None:
    pts = _points()
    fits = _fits(pts, "compute") + _fits(pts, "params_tokens")
    fig = plot_parameters_vs_k(fits)
    panels = data_axes(fig)
    assert len(panels) == 3 + 5  # one per parameter, cells beyond a law's parameters removed
    for ax, name in zip(panels[:3], ("E0", "C0", "alpha"), strict=True):
        marks = [line for line in ax.lines if line.get_marker() == "o"]
        got = sorted(float(np.asarray(m.get_ydata())[0]) for m in marks)
        want = sorted(f.params[name] for f in fits if f.law == "compute")
        np.testing.assert_allclose(got, want)
    assert_no_text_overlap(fig)


def test_parameters_vs_k_needs_fits() -> None:
    with pytest.raises(InputError):
        plot_parameters_vs_k([])


def test_params_tokens_lines_follow_the_fit() -> None:
    pts = _points()
    fits = _fits(pts, "params_tokens")
    fig = plot_params_tokens(pts, fits)
    panels = data_axes(fig)
    assert len(panels) == 2 * len(KS)
    left = panels[0]  # k = 1, against D at fixed N
    curves = [line for line in left.lines if len(line.get_xdata()) == 120]
    assert len(curves) == len(SIZES)
    for n, curve in zip(SIZES, curves, strict=True):
        want = fits[0].predict(N=np.full(120, n), D=curve.get_xdata())
        np.testing.assert_allclose(curve.get_ydata(), want)
    # right: one line per distinct token count (5 here), the law at that D
    right = [line for line in panels[1].lines if len(line.get_xdata()) == 120]
    d = np.unique(pts["tokens"])
    assert len(right) == len(d) == 5
    for dv, curve in zip(d, right, strict=True):
        np.testing.assert_allclose(curve.get_ydata(),
                                   fits[0].predict(N=curve.get_xdata(), D=np.full(120, dv)))
    n_measured = int((pts["k"] == 1).sum())
    assert sum(len(c.get_offsets()) for c in panels[1].collections) == n_measured
    # a ladder whose checkpoints all have their own token count (15 > 12 distinct D):
    # the law at 5 log-spaced representative D
    unique = _points(tpp_grid=(3.0, 7.0, 15.0, 40.0, 90.0))
    d = np.unique(unique["tokens"])
    assert len(d) == 15
    right = [line for line in data_axes(plot_params_tokens(unique, fits))[1].lines
             if len(line.get_xdata()) == 120]
    assert len(right) == 5
    for dv, curve in zip(np.geomspace(d.min(), d.max(), 5), right, strict=True):
        np.testing.assert_allclose(curve.get_ydata(),
                                   fits[0].predict(N=curve.get_xdata(), D=np.full(120, dv)))
    assert_no_empty_panel(fig)
    assert_no_text_overlap(fig)


def test_gold_law_figure() -> None:
    pts = _points()
    fits = _fits(pts, "gold")
    fig = plot_gold_law(pts, fits)
    (ax,) = data_axes(fig)
    curves = [line for line in ax.lines if len(line.get_xdata()) == 200]
    assert len(curves) == len(KS)
    for curve, fit in zip(curves, fits, strict=True):
        np.testing.assert_allclose(curve.get_ydata(), fit.predict(gold=curve.get_xdata()))
    assert_no_text_overlap(fig)
    with pytest.raises(InputError, match="no checkpoint has gold"):
        plot_gold_law(pts.assign(neg_log_gold_prob=np.nan))


# --------------------------------------------------------------------------- figures 5-6


def _backtest_rows() -> tuple[pd.DataFrame, list]:
    rows = []
    for law, k, ratio in itertools.product(("compute", "gold"), KS, (1e-3, 1e-2, 1e-1)):
        rows.append({"law": law, "k": k, "compute_ratio": ratio, "relative_error": 2 * ratio * k,
                     "converged": ratio > 1e-3, "E0": 0.1 * k, "C0": 10.0 / ratio,
                     "alpha": 0.1 + ratio, "xi0": 1.0, "K0": 0.01, "kappa": 1.5 + ratio})
    rows_df = pd.DataFrame(rows)
    pts = _points()
    return rows_df, _fits(pts, "compute")


def test_backtest_errors_draw_the_rows() -> None:
    rows, _ = _backtest_rows()
    fig = plot_backtest_errors(rows, threshold=0.1, target="big")
    panels = data_axes(fig)
    assert len(panels) == 2
    compute_ax = panels[0]
    solid = [line for line in compute_ax.lines if line.get_linestyle() == "-"]
    assert len(solid) == len(KS)
    for line, k in zip(solid, KS, strict=True):
        np.testing.assert_allclose(line.get_xdata(), [1e-2, 1e-1])  # 1e-3 did not converge
        np.testing.assert_allclose(line.get_ydata(), [2e-2 * k, 2e-1 * k])
    hollow = [line for line in compute_ax.lines if line.get_markerfacecolor() == "none"]
    assert len(hollow) == len(KS)
    assert_no_text_overlap(fig)


def test_backtest_errors_refuse_empty() -> None:
    rows, _ = _backtest_rows()
    with pytest.raises(InputError):
        plot_backtest_errors(rows.assign(relative_error=np.nan))


def test_parameter_trajectories_one_row_per_law() -> None:
    rows, fits = _backtest_rows()
    fig = plot_parameter_trajectories(rows, fits)
    panels = data_axes(fig)
    assert len(panels) == 3 + 3
    alpha_ax = panels[2]
    dashed = [line for line in alpha_ax.lines if line.get_linestyle() == "--"]
    np.testing.assert_allclose(sorted(float(d.get_ydata()[0]) for d in dashed),
                               sorted(f.params["alpha"] for f in fits))
    assert_no_empty_panel(fig)
    assert_no_text_overlap(fig)


def test_parameter_trajectories_draw_an_at_bound_value_as_a_bound_marker() -> None:
    rows, fits = _backtest_rows()
    floor = 1e-17  # the floor value a fit at E0's bound stops at: never drawn as a number
    rows = rows.assign(at_bound=np.where(rows["compute_ratio"] > 1e-2, "E0", ""),
                       E0=np.where(rows["compute_ratio"] > 1e-2, floor, rows["E0"]))
    fig = plot_parameter_trajectories(rows, fits)
    e0_ax = data_axes(fig)[0]
    drawn = np.concatenate([line.get_ydata() for line in e0_ax.lines
                            if line.get_marker() == "o"])
    assert floor not in drawn
    markers = [line for line in e0_ax.lines if line.get_marker() == "v"]
    assert len(markers) == len(KS)
    for line in markers:
        np.testing.assert_allclose(line.get_xdata(), [1e-1])
    assert_no_empty_panel(fig)


def test_parameter_trajectories_draw_a_parameter_at_its_bound_everywhere() -> None:
    rows, fits = _backtest_rows()
    rows = rows.assign(at_bound="E0", E0=1e-17)
    fig = plot_parameter_trajectories(rows, fits)
    e0_ax = data_axes(fig)[0]
    assert e0_ax.get_yscale() == "linear"
    assert len([line for line in e0_ax.lines if line.get_marker() == "v"]) == len(KS)
    assert_no_empty_panel(fig)


def test_fit_annotation_reads_at_bound_instead_of_the_floor_value() -> None:
    from lm_eval_scaling.plots._common import fit_text

    fit = _fits(_points(ks=(1,)), "compute")[0]
    bound = replace(fit, at_bound=("E0",), params={**fit.params, "E0": 5.97e-18})
    text = fit_text(bound)
    assert "(at bound)" in text.splitlines()[0]
    assert "5.97" not in text and "10^{-18}" not in text


# --------------------------------------------------------------------------- figure 7


def test_envelope_ridge_is_the_minimum_of_each_drawn_iso_compute_curve() -> None:
    env = envelope(**TRUE)
    pts = _points(ks=(1,))
    budgets = [1e14, 1e16, 1e18]
    fig = plot_envelope({1: env}, pts, budgets=budgets)
    iso_ax, pen_ax = data_axes(fig)
    curves = [line for line in iso_ax.lines if len(line.get_xdata()) == 300]
    assert len(curves) == len(budgets)
    for c, curve in zip(budgets, curves, strict=True):
        n, y = curve.get_xdata(), curve.get_ydata()
        i = int(np.argmin(y))  # independent of the closed form: the drawn curve's minimum
        step = np.log(n[1] / n[0])
        assert abs(np.log(n[i]) - np.log(env.n_opt(c))) <= step
        np.testing.assert_allclose(y, TRUE["E0"] + TRUE["N0"] * n ** -TRUE["beta"]
                                   + TRUE["D0"] * (c / (6 * n)) ** -TRUE["gamma"], rtol=1e-10)
    stars = next(line for line in iso_ax.lines if line.get_marker() == "*")
    np.testing.assert_allclose(stars.get_xdata(), env.n_opt(np.array(budgets)))
    penalty = next(line for line in pen_ax.lines if len(line.get_xdata()) == 400)
    assert np.min(penalty.get_ydata()) >= 1.0
    assert_no_text_overlap(fig)


def test_envelope_figure_needs_an_envelope() -> None:
    with pytest.raises(InputError):
        plot_envelope({}, _points())

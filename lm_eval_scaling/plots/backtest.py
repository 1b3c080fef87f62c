"""Backtest figures: forecast error against the compute cap (figure 5) and the fitted
parameters' trajectories across caps, i.e. their stability (figure 6)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..analysis.backtest import BASELINES
from ..errors import InputError
from ..fit.laws import get_law
from ._common import FitLike, censored_marker, fit_for, require_columns, span
from ._style import (
    k_color,
    k_label,
    log_axis,
    param_label,
    style,
)

__all__ = ["plot_backtest_errors", "plot_parameter_trajectories"]

_RATIO_LABEL = r"$C_{\max} / C_{\mathrm{target}}$ (largest compute in the fit)"
_ROW_COLUMNS = ("law", "k", "compute_ratio", "relative_error", "converged")


def _k_handles(ks: Sequence[int]) -> list[Line2D]:
    handles = [Line2D([], [], color=k_color(k), marker="o", markersize=3, label=k_label(k))
               for k in ks]
    if len(handles) > 8:
        handles = [handles[0], handles[len(handles) // 2], handles[-1]]
    return handles


def plot_backtest_errors(
    rows: pd.DataFrame,
    *,
    threshold: float | None = 0.1,
    target: str | None = None,
    title: str | None = None,
) -> Figure:
    """Figure 5: relative error of the forecast of the target against ``C_max / C_target``,
    one panel per law (shared y) and per baseline forecaster (``persistence``, ``trend``),
    one line per k.

    ``rows``: :attr:`BacktestResult.rows` (``law, k, compute_ratio, relative_error,
    converged``; with a ``target`` column, the rows of ``target``, default the first).
    Caps whose fit did not converge are drawn as hollow markers; ``threshold`` is drawn
    as a dotted line (None: not drawn).
    """
    require_columns(rows, _ROW_COLUMNS, "backtest error figure")
    if "target" in rows.columns and rows["target"].nunique() > 1:
        target = target if target is not None else str(rows["target"].iloc[0])
        rows = rows[rows["target"] == target]
    laws = list(dict.fromkeys(rows["law"]))
    err = rows["relative_error"].to_numpy(np.float64)
    if not (np.isfinite(err) & (err > 0)).any():
        raise InputError("backtest error figure: no finite positive relative error to draw")
    ks = sorted(int(k) for k in rows["k"].unique())
    top = _error_ceiling(rows, threshold)
    positive = err[np.isfinite(err) & (err > 0)]
    bottom = min(float(positive.min()), threshold or np.inf, top / 10.0) / 1.5
    with style():
        fig = Figure(figsize=(min(2.6 * len(laws), 10.5) + 0.2, 2.6), layout="constrained")
        axes = fig.subplots(1, len(laws), squeeze=False, sharex=True, sharey=True)[0]
        any_failed = any_off = False
        for ax, law in zip(axes, laws, strict=True):
            for k in ks:
                sub = rows[(rows["law"] == law) & (rows["k"] == k)].sort_values("compute_ratio")
                x = sub["compute_ratio"].to_numpy(np.float64)
                y = sub["relative_error"].to_numpy(np.float64)
                conv = sub["converged"].to_numpy(bool)
                off = np.isfinite(y) & (y > top)
                ok = np.isfinite(y) & (y > 0) & ~off
                color = k_color(k)
                ax.plot(x[ok & conv], y[ok & conv], marker="o", markersize=3, color=color)
                if off.any():
                    any_off = True
                    censored_marker(ax, x[off], color)
                bad = ok & ~conv
                if bad.any():
                    any_failed = True
                    ax.plot(x[bad], y[bad], linestyle="none", marker="o", markersize=3.5,
                            markerfacecolor="none", color=color)
            if threshold is not None:
                ax.axhline(threshold, color="0.35", linestyle=":", linewidth=0.9)
            log_axis(ax, ("x",), numticks=4)
            log_axis(ax, ("y",))
            ax.set_ylim(bottom, top)
            ax.set_title(f"{law} (baseline)" if law in BASELINES else get_law(law).label)
        fig.supxlabel(_RATIO_LABEL, fontsize=8.5)
        axes[0].set_ylabel("relative error of the forecast\n"
                           r"$|\hat y - y| / y$ at the target")
        handles = _k_handles(ks)
        if threshold is not None:
            handles.append(Line2D([], [], color="0.35", linestyle=":",
                                  label=f"{threshold:.0%} error"))
        if any_failed:
            handles.append(Line2D([], [], color="0.4", marker="o", markerfacecolor="none",
                                  linestyle="none", label="fit not converged"))
        if any_off:
            handles.append(Line2D([], [], color="0.4", marker="^", markerfacecolor="none",
                                  linestyle="none", label=f"error > {top:g} (off scale)"))
        fig.legend(handles=handles, loc="outside right upper")
        if title or target:
            fig.suptitle(title or f"backtest: forecasting {target}")
    return fig


def _error_ceiling(rows: pd.DataFrame, threshold: float | None) -> float:
    """Top of the error axis: a little above the largest converged error, at most 100
    (a forecast off by more than 100x is off scale; such points are marked at the top)."""
    err = rows["relative_error"].to_numpy(np.float64)
    conv = rows["converged"].to_numpy(bool) & np.isfinite(err) & (err > 0)
    ref = float(np.max(err[conv])) if conv.any() else float(np.nanmax(err))
    floor = 2.0 * threshold if threshold else 0.0
    return float(min(max(2.0 * ref, floor), 100.0))


def plot_parameter_trajectories(
    rows: pd.DataFrame,
    full_fits: Sequence[FitLike] = (),
    *,
    laws: Sequence[str] | None = None,
    clip_decades: float = 3.0,
    title: str | None = None,
) -> Figure:
    """Figure 6: each law's fitted parameters against ``C_max / C_target``, one row per
    law, one line per k; dashed lines at the full-fit values (all checkpoints).  With a
    ``target`` column, the rows of the first target.

    ``rows``: :attr:`BacktestResult.rows` (one column per parameter of each law).
    Far-off estimates from tiny caps are clipped to ``clip_decades`` decades around the
    full-fit values (log axes) so the stable region stays readable.
    """
    require_columns(rows, ("law", "k", "compute_ratio", "converged"), "parameter trajectory figure")
    if "target" in rows.columns and rows["target"].nunique() > 1:
        rows = rows[rows["target"] == rows["target"].iloc[0]]
    present = list(dict.fromkeys(rows["law"]))
    laws = [law for law in (laws or present)
            if law in present and law not in BASELINES and get_law(law).per_k]
    if not laws:
        raise InputError(f"parameter trajectory figure: no law fitted per k in {present}")
    ks = sorted(int(k) for k in rows["k"].unique())
    ncols = max(get_law(law).n_params for law in laws)
    xlim = span(rows.loc[rows["law"].isin(laws), "compute_ratio"], pad_decades=0.15)
    with style():
        fig = Figure(figsize=(2.1 * ncols + 0.9, 1.95 * len(laws) + 0.3), layout="constrained")
        grid = fig.subplots(len(laws), ncols, squeeze=False)
        for row, law in enumerate(laws):
            names = get_law(law).param_names
            require_columns(rows, names, f"parameter trajectory figure ({law} law)")
            sub = rows[rows["law"] == law]
            for col in range(ncols):
                ax = grid[row, col]
                if col >= len(names):
                    fig.delaxes(ax)
                    continue
                _trajectory_panel(ax, sub, full_fits, law, names[col], ks, clip_decades)
                ax.set_xlim(*xlim)  # one horizon axis for every law: comparable stability
                if col == 0:
                    ax.set_title(get_law(law).label, loc="left", fontweight="bold")
        handles = _k_handles(ks)
        handles.append(Line2D([], [], color="0.35", linestyle="--", label="full fit"))
        fig.legend(handles=handles, loc="outside right upper")
        if title:
            fig.suptitle(title)
    return fig


def _trajectory_panel(ax: Axes, rows: pd.DataFrame, full_fits: Sequence[FitLike], law: str,
                      name: str, ks: Sequence[int], clip_decades: float) -> None:
    vals = rows[name].to_numpy(np.float64)
    conv = rows["converged"].to_numpy(bool) & ~_at_bound(rows, name)
    refs = [float(f.params[name]) for k in ks if (f := fit_for(full_fits, law, k)) is not None
            and name not in getattr(f, "at_bound", ())]
    # prefactors and irreducible terms live on a log scale (they are fitted in log space);
    # exponents on a linear one.  Non-positive values (underflow) cannot be drawn on log axes.
    logy = name in get_law(law).log_params
    finite = vals[np.isfinite(vals) & conv & ((vals > 0) if logy else True)]
    refs = [r for r in refs if np.isfinite(r) and (r > 0 or not logy)]
    for k in ks:
        sub = rows[rows["k"] == k].sort_values("compute_ratio")
        y = sub[name].to_numpy(np.float64)
        bound = sub["converged"].to_numpy(bool) & _at_bound(sub, name)
        ok = (sub["converged"].to_numpy(bool) & ~bound & np.isfinite(y)
              & ((y > 0) | (not logy)))
        color = k_color(k)
        x = sub["compute_ratio"].to_numpy(np.float64)
        ax.plot(x[ok], y[ok], marker="o", markersize=2.5, linewidth=1.0, color=color)
        if bound.any():  # at its bound: a triangle on the bottom edge, never the floor value
            ax.plot(x[bound], np.zeros(int(bound.sum())), linestyle="none", marker="v",
                    markersize=4, color=color, transform=ax.get_xaxis_transform(), clip_on=False)
        full = fit_for(full_fits, law, k)
        if full is not None and name not in getattr(full, "at_bound", ()):
            ax.axhline(float(full.params[name]), color=color, linestyle="--", linewidth=0.8,
                       alpha=0.8)
    log_axis(ax, ("x",), numticks=4)
    if logy and finite.size:
        log_axis(ax, ("y",))
    elif logy:  # every fit left it at its bound: only the bound markers, on a linear axis
        ax.set_ylim(0.0, 1.0)
        ax.set_yticks([0.0])
    if refs and finite.size:
        ax.set_ylim(*_clipped_limits(finite, np.asarray(refs), logy, clip_decades))
    ax.set_xlabel(r"$C_{\max} / C_{\mathrm{target}}$")
    ax.set_ylabel(param_label(law, name))


def _clipped_limits(values: np.ndarray, refs: np.ndarray, logy: bool,
                    clip_decades: float) -> tuple[float, float]:
    if logy:
        lo = max(values.min(), refs.min() / 10.0**clip_decades)
        hi = min(values.max(), refs.max() * 10.0**clip_decades)
        lo, hi = min(lo, refs.min()), max(hi, refs.max())
        return lo / 1.5, hi * 1.5
    width = max(float(refs.max() - refs.min()), float(np.abs(refs).max()), 1e-12)
    lo = max(values.min(), refs.min() - 2.0 * width)
    hi = min(values.max(), refs.max() + 2.0 * width)
    lo, hi = min(lo, refs.min()), max(hi, refs.max())
    pad = 0.08 * (hi - lo) if hi > lo else 0.1 * abs(hi) + 1e-12
    return lo - pad, hi + pad


def _at_bound(rows: pd.DataFrame, name: str) -> npt.NDArray[np.bool_]:
    """Rows whose fit left ``name`` at its bound (the ``at_bound`` column, comma-separated)."""
    if "at_bound" not in rows.columns:
        return np.zeros(len(rows), dtype=bool)
    return np.array([name in str(v).split(",") for v in rows["at_bound"].fillna("")], dtype=bool)

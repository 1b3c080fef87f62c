"""pass@k figures: -log pass@k against compute with the fitted compute law (figure 1), and
-log pass@k against k for every checkpoint, the inference-scaling view (figure 8)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import InputError
from ._common import (
    FitLike,
    censored_handle,
    censored_marker,
    excluded_handle,
    fit_for,
    fit_text,
    k_values,
    require_columns,
    si_number,
    span,
)
from ._style import (
    COMPUTE_LABEL,
    NEG_LOG_LABEL,
    grid_figure,
    k_color,
    k_label,
    law_title,
    log_axis,
    log_norm,
    outer_labels,
    sequential_cmap,
    style,
)

__all__ = ["plot_passk_vs_compute", "plot_passk_vs_k"]

_MAX_LEGEND = 16
_POINT_COLUMNS = ("checkpoint", "k", "compute", "neg_log_pass_at_k", "censored")


def plot_passk_vs_compute(
    points: pd.DataFrame,
    fits: Sequence[FitLike] = (),
    *,
    ks: Sequence[int] | None = None,
    law: str = "compute",
    title: str | None = None,
) -> Figure:
    """Figure 1: -log pass@k against pretraining compute, one panel per k.

    ``points``: one row per (checkpoint, k) with ``checkpoint, k, compute,
    neg_log_pass_at_k, censored`` and optionally ``neg_log_ci_low, neg_log_ci_high``
    (drawn as error bars), ``user_excluded`` (drawn hollow) and ``num_problems_excluded``
    (points averaging over only the problems with at least k samples: diamonds).  ``fits``: fitted laws;
    the fit of ``law`` at each k (if any) is overlaid with its parameters.  Censored
    points (pass@k = 0) are marked at the top of their panel.
    """
    require_columns(points, _POINT_COLUMNS, "pass@k vs compute figure")
    ks = k_values(points, ks)
    with style():
        fig, axes = grid_figure(len(ks), sharex=True)
        xlim = span(points["compute"])
        any_censored = any_excluded = any_partial = False
        for ax, k in zip(axes, ks, strict=True):
            sub = points[points["k"] == k]
            color = k_color(k)
            excluded = (sub["user_excluded"].to_numpy(bool) if "user_excluded" in sub
                        else np.zeros(len(sub), bool))
            y = sub["neg_log_pass_at_k"].to_numpy(np.float64)
            ok = np.isfinite(y) & (y > 0) & ~sub["censored"].to_numpy(bool)
            x = sub["compute"].to_numpy(np.float64)
            yerr = _yerr(sub, y)
            # a mean over a subset of the problems (the others have fewer than k samples)
            partial = (sub["num_problems_excluded"].to_numpy(np.float64) > 0
                       if "num_problems_excluded" in sub else np.zeros(len(sub), bool))
            for mask, face, marker in ((ok & ~excluded & ~partial, color, "o"),
                                       (ok & excluded & ~partial, "none", "o"),
                                       (ok & ~excluded & partial, color, "D"),
                                       (ok & excluded & partial, "none", "D")):
                if not mask.any():
                    continue
                ax.errorbar(x[mask], y[mask], yerr=None if yerr is None else yerr[:, mask],
                            fmt=marker, color=color, markerfacecolor=face,
                            markersize=4.0 if marker == "o" else 3.4,
                            markeredgecolor=color if face == "none" else "white",
                            markeredgewidth=0.6, elinewidth=0.7, ecolor=(*color[:3], 0.5),
                            zorder=3)
            any_excluded |= bool((ok & excluded).any())
            any_partial |= bool((ok & partial).any())
            cens = sub["censored"].to_numpy(bool)
            if cens.any():
                censored_marker(ax, x[cens], color)
                any_censored = True
            fit = fit_for(fits, law, k)
            if fit is not None:
                grid = np.geomspace(*xlim, 200)
                ax.plot(grid, fit.predict(C=grid), color=color,
                        linestyle="-" if fit.converged else "--", linewidth=1.4, zorder=2)
                ax.text(0.03, 0.04, fit_text(fit), transform=ax.transAxes,
                        fontsize=6.5, va="bottom", ha="left", color="0.15",
                        bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.85",
                              "alpha": 0.85})
            if ok.any():
                log_axis(ax)
            else:
                ax.set_xscale("log")
                ax.text(0.5, 0.5, "every point censored", transform=ax.transAxes,
                        ha="center", va="center", fontsize=7, color="0.4")
            ax.set_xlim(*xlim)
            ax.set_title(k_label(k), color=color)
        outer_labels(axes, min(len(ks), 4), xlabel=COMPUTE_LABEL, ylabel=NEG_LOG_LABEL)
        handles = [Line2D([], [], color="0.2", label=f"fit: {law_title(law)}")] if fits else []
        handles.append(Line2D([], [], color="0.2", marker="o", linestyle="none",
                              label="measured (95% bootstrap CI)" if "neg_log_ci_low" in points
                              else "measured"))
        if any_excluded:
            handles.append(excluded_handle())
        if any_partial:
            handles.append(Line2D([], [], color="0.2", marker="D", markersize=3.4,
                                  linestyle="none",
                                  label=r"mean over the problems with $\geq k$ samples only"))
        if any_censored:
            handles.append(censored_handle())
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3))
        if title:
            fig.suptitle(title)
    return fig


def _yerr(sub: pd.DataFrame, y: np.ndarray) -> np.ndarray | None:
    if "neg_log_ci_low" not in sub or "neg_log_ci_high" not in sub:
        return None
    lo = sub["neg_log_ci_low"].to_numpy(np.float64)
    hi = sub["neg_log_ci_high"].to_numpy(np.float64)
    if not (np.isfinite(lo).any() or np.isfinite(hi).any()):
        return None
    # A CI whose lower pass@k bound is 0 has an infinite upper -log bound: draw to the point.
    down = np.where(np.isfinite(lo), np.clip(y - lo, 0, None), 0.0)
    up = np.where(np.isfinite(hi), np.clip(hi - y, 0, None), 0.0)
    return np.vstack([np.nan_to_num(down), np.nan_to_num(up)])


def plot_passk_vs_k(
    table: pd.DataFrame,
    *,
    points: pd.DataFrame | None = None,
    marks: Sequence[int] = (),
    title: str | None = None,
) -> Figure:
    """Figure 8: -log pass@k against k, one line per checkpoint (the inference-scaling view).

    ``table``: pass@k rows ``checkpoint, k, neg_log_pass_at_k`` on a dense k grid.
    ``points`` (optional, e.g. ``passk_points`` output): ``checkpoint, parameters,
    tokens``; with it there is one panel per model size and lines are coloured by
    pretraining tokens.  Without it, one panel with a line per checkpoint.  ``marks``:
    k values to highlight with vertical lines in their k colour (the report's k).
    """
    require_columns(table, ("checkpoint", "k", "neg_log_pass_at_k"), "pass@k vs k figure")
    data = table[["checkpoint", "k", "neg_log_pass_at_k"]].copy()
    if points is not None:
        require_columns(points, ("checkpoint", "parameters", "tokens"), "pass@k vs k figure")
        meta = points.drop_duplicates("checkpoint")[["checkpoint", "parameters", "tokens"]]
        data = data.merge(meta, on="checkpoint", how="left")
        if data["parameters"].isna().any():
            missing = sorted(data.loc[data["parameters"].isna(), "checkpoint"].unique())[:5]
            raise InputError(f"pass@k vs k figure: no parameters/tokens for checkpoint(s) {missing}")
        groups = sorted(data["parameters"].unique())
    else:
        groups = [None]
    finite = data["neg_log_pass_at_k"].to_numpy(np.float64)
    if not (np.isfinite(finite) & (finite > 0)).any():
        raise InputError("pass@k vs k figure: every pass@k is 0 or 1; nothing to draw on log axes")
    with style():
        ncols = min(len(groups), 3 if len(groups) > 4 else 4)
        fig, axes = grid_figure(len(groups), ncols=ncols, sharex=True, sharey=True,
                                panel_size=(2.4, 2.0) if points is not None else (4.0, 3.0))
        cmap = sequential_cmap("viridis")
        norm = log_norm(data["tokens"]) if points is not None else None
        for ax, group in zip(axes, groups, strict=True):
            sub = data if group is None else data[data["parameters"] == group]
            names = sorted(dict.fromkeys(sub["checkpoint"]), key=_natural)
            if group is not None:
                names.sort(key=lambda c: float(sub.loc[sub["checkpoint"] == c, "tokens"].iloc[0]))
            for i, name in enumerate(names):
                line = sub[sub["checkpoint"] == name].sort_values("k")
                y = line["neg_log_pass_at_k"].to_numpy(np.float64)
                y = np.where(y > 0, y, np.nan)
                if norm is not None:
                    color = cmap(norm(float(line["tokens"].iloc[0])))
                    label = None
                else:
                    color = cmap(i / max(len(names) - 1, 1))
                    label = _short(name)
                ax.plot(line["k"], y, color=color, label=label, marker=".", markersize=2.5)
            for k in marks:
                ax.axvline(k, color=k_color(k), linestyle=":", linewidth=0.9, zorder=0)
            log_axis(ax)
            if group is not None:
                ax.set_title(f"$N = {si_number(group)}$ parameters")
            elif len(names) <= _MAX_LEGEND:
                fig.legend(loc="outside right upper", title="checkpoint")
        outer_labels(axes, ncols, xlabel=r"attempts per problem $k$", ylabel=NEG_LOG_LABEL)
        if norm is not None:
            one_row = len(groups) <= ncols
            fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes,
                         shrink=1.0 if one_row else 0.6, aspect=15 if one_row else 30,
                         label="pretraining tokens $D$")
        if title:
            fig.suptitle(title)
    return fig


def _short(name: str, limit: int = 36) -> str:
    """Long checkpoint names (local paths) shortened from the left for legends."""
    return name if len(name) <= limit else "…" + name[-(limit - 1):]


def _natural(name: str) -> list[object]:
    """Sort key with digit runs compared as numbers (``step164`` before ``step1316``)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]

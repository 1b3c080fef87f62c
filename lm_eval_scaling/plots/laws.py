"""Figures of the fitted laws: parameters against k (figure 2), the params+tokens law
against N and D (figure 3) and the gold law against -log GoldProb (figure 4)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import InputError
from ..fit.laws import get_law
from ..fit.numbers import format_number
from ._common import (
    FitLike,
    fit_for,
    k_values,
    require_columns,
    span,
)
from ._style import (
    NEG_LOG_LABEL,
    k_color,
    k_label,
    law_title,
    log_axis,
    log_norm,
    param_label,
    sequential_cmap,
    style,
)

__all__ = ["plot_gold_law", "plot_parameters_vs_k", "plot_params_tokens"]

_MAX_LINES = 12  # more distinct N (or D) values than this: draw representative lines
_N_REPRESENTATIVE = 5


def plot_parameters_vs_k(
    fits: Sequence[FitLike],
    *,
    laws: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Figure 2: every fitted parameter against k, one row per law, one panel per parameter.

    Error bars: the fit's interval (:meth:`FitResult.intervals`: the bootstrap CI where
    there is one, else 95% from the sandwich standard error).  A parameter at its bound
    is drawn as 0 (at bound) with a downward triangle and a one-sided bar (on a log axis,
    on a floor a decade below the other values).  Fits that did not converge are hollow.
    Prefactors and irreducible terms spanning more than a decade get a log axis.  Every
    law fitted per k (:attr:`LawSpec.per_k`) gets a row, its parameters in the law's order.
    """
    present = list(dict.fromkeys(f.law for f in fits if f.k is not None))
    laws = [law for law in (laws or present) if law in present and get_law(law).per_k]
    if not laws:
        raise InputError("parameters vs k figure: no fit of a law with per-k parameters "
                         f"(have {present})")
    ncols = max(get_law(law).n_params for law in laws)
    with style():
        fig = Figure(figsize=(2.1 * ncols, 1.95 * len(laws) + 0.5), layout="constrained")
        grid = fig.subplots(len(laws), ncols, squeeze=False)
        any_failed = any_ci = any_bound = False
        for row, law in enumerate(laws):
            law_fits = sorted((f for f in fits if f.law == law and f.k is not None),
                              key=lambda f: int(f.k))  # type: ignore[arg-type]
            names = get_law(law).param_names
            for col in range(ncols):
                ax = grid[row, col]
                if col >= len(names):
                    fig.delaxes(ax)
                    continue
                failed, has_ci, at_bound = _parameter_panel(ax, law_fits, law, names[col])
                any_failed |= failed
                any_ci |= has_ci
                any_bound |= at_bound
                if col == 0:
                    ax.set_title(get_law(law).label, loc="left", fontweight="bold")
        handles = [Line2D([], [], color=k_color(k), marker="o", linestyle="none", label=k_label(k))
                   for k in sorted({int(f.k) for f in fits if f.law in laws and f.k is not None})]
        if len(handles) > 8:  # a long k grid: show the ends and the colour ramp, not every k
            handles = [handles[0], handles[len(handles) // 2], handles[-1]]
        if any_failed:
            handles.append(Line2D([], [], color="0.4", marker="o", markerfacecolor="none",
                                  linestyle="none", label="fit not converged"))
        handles.append(Line2D([], [], color="0.4", marker="|", linestyle="none",
                              label="95% bootstrap CI" if any_ci else "95% interval (sandwich)"))
        if any_bound:
            handles.append(Line2D([], [], color="0.4", marker="v", linestyle="none",
                                  label="0 (at bound): one-sided interval"))
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6))
        if title:
            fig.suptitle(title)
    return fig


def _parameter_panel(ax: Axes, fits: Sequence[FitLike], law: str,
                     name: str) -> tuple[bool, bool, bool]:
    ks = np.array([f.k for f in fits], dtype=np.float64)
    vals = np.array([f.params[name] for f in fits], dtype=np.float64)
    lo = np.full(vals.shape, np.nan)
    hi = np.full(vals.shape, np.nan)
    bound = np.array([name in getattr(f, "at_bound", ()) for f in fits], dtype=bool)
    has_ci = False
    for i, f in enumerate(fits):
        intervals = getattr(f, "intervals", None)
        ci = getattr(f, "ci", None)
        if callable(intervals):  # bootstrap or sandwich; one-sided from the bound
            lo[i], hi[i], kind = intervals()[name]
            has_ci |= kind.startswith("bootstrap")
        elif ci and name in ci:
            lo[i], hi[i] = ci[name]
            has_ci = True
        else:
            se = getattr(f, "stderr", {}).get(name, np.nan)
            lo[i], hi[i] = vals[i] - se, vals[i] + se
        if bound[i]:
            vals[i] = 0.0  # at its bound: shown as 0, the floor is an artefact
    conv = np.array([bool(f.converged) for f in fits])
    # prefactors and irreducible terms are fitted in log space: log axis (exponents: linear)
    free = vals[np.isfinite(vals) & ~bound]
    logy = name in get_law(law).log_params and free.size > 0 and bool(np.all(free > 0))
    floor = np.nan
    if logy and bound.any():
        # 0 cannot be drawn on a log axis: at-bound values sit on a floor a decade below
        # everything else, drawn as downward triangles
        tops = np.concatenate([free, hi[np.isfinite(hi) & (hi > 0)]])
        floor = float(tops.min()) / 10.0
    shown = np.where(bound & np.isfinite(floor), floor, vals)
    ax.plot(ks[~bound], shown[~bound], color="0.75", linewidth=0.9, zorder=1)
    for i, k in enumerate(ks):
        color = k_color(k)
        low, high = lo[i], hi[i]
        if bound[i] and logy:
            low = floor
        if logy and np.isfinite(low) and low <= 0:
            low = np.nan  # a bar through 0 cannot be drawn on a log axis
        if np.isfinite(low) and np.isfinite(high):
            ax.plot([k, k], [low, high], color=color, linewidth=1.0, alpha=0.7, zorder=2)
        ax.plot([k], [shown[i]], marker="v" if bound[i] else "o", color=color,
                markerfacecolor=color if conv[i] else "none", linestyle="none", zorder=3)
    log_axis(ax, ("x", "y") if logy else ("x",))
    ax.set_xlabel(r"attempts per problem $k$")
    ax.set_ylabel(param_label(law, name))
    return bool((~conv).any()), has_ci, bool(bound.any())


def plot_params_tokens(
    points: pd.DataFrame,
    fits: Sequence[FitLike] = (),
    *,
    ks: Sequence[int] | None = None,
    title: str | None = None,
) -> Figure:
    """Figure 3: the params+tokens law.  One row per k; left: -log pass@k against tokens D
    with one line per model size N; right: against N with one line per token count D.

    Markers are measurements (``points``: ``k, parameters, tokens, neg_log_pass_at_k``,
    optionally ``censored``, ``user_excluded``) coloured by N (left) or D (right); lines
    are the fitted law at each N (or D).  Where there are more than 12 distinct values (a
    ladder whose checkpoints do not share token counts), the law is drawn at 5 log-spaced
    representative values.  Without a fit, the markers of each group are joined.
    """
    require_columns(points, ("k", "parameters", "tokens", "neg_log_pass_at_k"),
                    "params+tokens figure")
    pts = points
    if "user_excluded" in pts:
        pts = pts[~pts["user_excluded"].astype(bool)]
    ks = k_values(pts, ks)
    n_cmap, d_cmap = sequential_cmap("viridis"), sequential_cmap("cividis")
    n_norm, d_norm = log_norm(pts["parameters"]), log_norm(pts["tokens"])
    d_span, n_span = span(pts["tokens"]), span(pts["parameters"])
    with style():
        fig = Figure(figsize=(6.6, 2.3 * len(ks) + 0.3), layout="constrained")
        axes = fig.subplots(len(ks), 2, squeeze=False)
        for row, k in enumerate(ks):
            sub = pts[pts["k"] == k]
            fit = fit_for(fits, "params_tokens", k)
            for col, (across, along, cmap, norm, xspan) in enumerate((
                    ("parameters", "tokens", n_cmap, n_norm, d_span),
                    ("tokens", "parameters", d_cmap, d_norm, n_span))):
                ax = axes[row, col]
                _law_lines(ax, sub, fit, across=across, along=along, cmap=cmap, norm=norm,
                           xspan=xspan)
                ax.set_xlabel("pretraining tokens $D$" if along == "tokens" else "parameters $N$")
                ax.set_ylabel(NEG_LOG_LABEL if col == 0 else "")
                ax.set_title(k_label(k), color=k_color(k))
        fig.colorbar(ScalarMappable(norm=n_norm, cmap=n_cmap), ax=axes[:, 0].tolist(),
                     location="bottom", shrink=0.85, aspect=35,
                     label="model size: parameters $N$")
        fig.colorbar(ScalarMappable(norm=d_norm, cmap=d_cmap), ax=axes[:, 1].tolist(),
                     location="bottom", shrink=0.85, aspect=35,
                     label="pretraining tokens $D$")
        handles = [Line2D([], [], color="0.3", marker="o", linestyle="none", label="measured")]
        if any(fit_for(fits, "params_tokens", k) for k in ks):
            handles.append(Line2D([], [], color="0.3", label=f"fit: {law_title('params_tokens')}"))
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        if title:
            fig.suptitle(title)
    return fig


def _law_lines(ax: Axes, sub: pd.DataFrame, fit: FitLike | None, *, across: str, along: str,
               cmap: Colormap, norm: Normalize, xspan: tuple[float, float]) -> None:
    """Measured points coloured by ``across``; the law along ``along`` at each ``across``
    value (at most ``_MAX_LINES`` of them; log-spaced representatives beyond)."""
    grid = np.geomspace(*xspan, 120)
    y = sub["neg_log_pass_at_k"].to_numpy(np.float64)
    ok = np.isfinite(y) & (y > 0)
    if "censored" in sub:
        ok &= ~sub["censored"].to_numpy(bool)
    values = np.unique(sub[across].to_numpy(np.float64))
    few = len(values) <= _MAX_LINES
    if fit is None and few:  # no law to draw: join the measurements of each group
        for value, grp in sub[ok].groupby(across, sort=True):
            grp = grp.sort_values(along)
            ax.plot(grp[along], grp["neg_log_pass_at_k"], color=cmap(norm(float(value))),
                    linewidth=1.0, zorder=2)
    ax.scatter(sub[along].to_numpy(np.float64)[ok], y[ok],
               c=sub[across].to_numpy(np.float64)[ok], cmap=cmap, norm=norm, s=14,
               edgecolors="0.25", linewidths=0.3, zorder=3)
    if fit is not None:
        lines = values if few else np.geomspace(values.min(), values.max(), _N_REPRESENTATIVE)
        for value in lines:
            fixed = np.full(grid.shape, float(value))
            cov = {"N": fixed, "D": grid} if along == "tokens" else {"N": grid, "D": fixed}
            ax.plot(grid, fit.predict(**cov), color=cmap(norm(float(value))), linewidth=1.0,
                    linestyle="-" if fit.converged else "--", zorder=2)
    log_axis(ax)
    ax.set_xlim(*xspan)
    y_all = y[ok]
    if y_all.size:
        ax.set_ylim(y_all.min() / 1.5, y_all.max() * 1.5)


def plot_gold_law(
    points: pd.DataFrame,
    fits: Sequence[FitLike] = (),
    *,
    ks: Sequence[int] | None = None,
    title: str | None = None,
) -> Figure:
    """Figure 4: -log pass@k against -log GoldProb, every k in one panel (colour per k),
    with the fitted gold law per k.

    ``points``: ``k, neg_log_gold_prob, neg_log_pass_at_k`` (rows without gold are
    skipped; optionally ``censored``, ``user_excluded``).
    """
    require_columns(points, ("k", "neg_log_gold_prob", "neg_log_pass_at_k"), "gold law figure")
    pts = points[np.isfinite(points["neg_log_gold_prob"].to_numpy(np.float64))]
    if "user_excluded" in pts:
        pts = pts[~pts["user_excluded"].astype(bool)]
    if pts.empty:
        raise InputError("gold law figure: no checkpoint has gold log-probabilities")
    ks = k_values(pts, ks)
    xspan = span(pts["neg_log_gold_prob"], pad_decades=0.03)
    grid = np.geomspace(*xspan, 200)
    with style():
        fig = Figure(figsize=(5.4, 3.4), layout="constrained")
        ax = fig.subplots()
        handles = []
        for k in ks:
            sub = pts[pts["k"] == k]
            color = k_color(k)
            y = sub["neg_log_pass_at_k"].to_numpy(np.float64)
            ok = np.isfinite(y) & (y > 0)
            if "censored" in sub:
                ok &= ~sub["censored"].to_numpy(bool)
            ax.plot(sub["neg_log_gold_prob"].to_numpy(np.float64)[ok], y[ok], "o", color=color,
                    markeredgecolor="white", markeredgewidth=0.5, zorder=3)
            fit = fit_for(fits, "gold", k)
            label = k_label(k)
            if fit is not None:
                ax.plot(grid, fit.predict(gold=grid), color=color, zorder=2,
                        linestyle="-" if fit.converged else "--")
                label += rf": $\kappa = {format_number(fit.params['kappa'], 3, tex=True)}$"
            handles.append(Line2D([], [], color=color, marker="o", label=label))
        log_axis(ax)
        ax.set_xlim(*xspan)
        ax.set_xlabel(r"$-\log\ \mathrm{GoldProb}$ (nats; mean gold-solution probability)")
        ax.set_ylabel(NEG_LOG_LABEL)
        ax.set_title(law_title("gold"))
        fig.legend(handles=handles, loc="outside right upper", title="measured and fit")
        if title:
            fig.suptitle(title)
    return fig


"""Figure 7: the compute-optimal envelope of the params+tokens law (docs/formulas.md §8).

Left: iso-compute curves ``y(N, C/(6N))`` for several budgets, the ridge ``(N*(C), y*(C))``
through their minima, and the ladder's checkpoints at their measured ``-log pass@k``.
Right: the misallocation penalty ``Phi(r)``, ``r = N / N*(C)``, with every checkpoint
placed at its own ratio (its loss sits ``Phi`` times above the ridge, in reducible terms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..analysis.envelope import Envelope
from ..errors import InputError
from ..fit.numbers import format_number
from ._common import require_columns, si_number
from ._style import (
    NEG_LOG_LABEL,
    k_color,
    k_label,
    log_axis,
    log_norm,
    sequential_cmap,
    style,
)

__all__ = ["plot_envelope"]


def plot_envelope(
    envelopes: Mapping[int, Envelope],
    points: pd.DataFrame,
    *,
    budgets: Sequence[float] | None = None,
    title: str | None = None,
) -> Figure:
    """Figure 7: one row per k with the iso-compute curves (left) and the penalty (right).

    ``envelopes``: k -> :class:`~lm_eval_scaling.analysis.envelope.Envelope` (from the
    params+tokens fit at that k).  ``points``: ``checkpoint, k, parameters, tokens,
    compute, neg_log_pass_at_k`` (``passk_points`` output; rows with ``user_excluded``
    are left out).  ``budgets``: iso-compute budgets in FLOP (default: one per decade
    across the ladder's compute, at most 6).
    """
    require_columns(points, ("checkpoint", "k", "parameters", "tokens", "compute",
                             "neg_log_pass_at_k"), "envelope figure")
    if not envelopes:
        raise InputError("envelope figure: no envelope given (no converged params_tokens fit)")
    pts = points[~points["user_excluded"].astype(bool)] if "user_excluded" in points else points
    ks = sorted(int(k) for k in envelopes)
    budgets_arr = _budgets(pts["compute"].to_numpy(np.float64), budgets)
    cmap = sequential_cmap("viridis")
    norm = log_norm(np.concatenate([budgets_arr, pts["compute"].to_numpy(np.float64)]))
    with style():
        fig = Figure(figsize=(7.0, 2.45 * len(ks) + 0.4), layout="constrained")
        axes = fig.subplots(len(ks), 2, squeeze=False)
        for row, k in enumerate(ks):
            env = envelopes[k]
            sub = pts[pts["k"] == k]
            _iso_panel(axes[row, 0], env, sub, budgets_arr, cmap, norm, k)
            _penalty_panel(axes[row, 1], env, sub, cmap, norm, k)
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes.ravel().tolist(),
                     shrink=0.7, aspect=30, label="compute $C$ (FLOP)")
        handles = [
            Line2D([], [], color="0.5", label="iso-compute curve $y(N, C/6N)$"),
            Line2D([], [], color="black", linestyle="--", label=r"ridge $N^*(C)$"),
            Line2D([], [], color="0.5", marker="o", markeredgecolor="black", linestyle="none",
                   label="checkpoint (measured)"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
        if title:
            fig.suptitle(title)
    return fig


def _budgets(compute: np.ndarray, budgets: Sequence[float] | None) -> np.ndarray:
    if budgets is not None:
        arr = np.asarray(budgets, dtype=np.float64)
        if arr.size == 0 or not np.all(np.isfinite(arr) & (arr > 0)):
            raise InputError(f"envelope budgets must be finite and > 0, got {list(budgets)}")
        return np.sort(arr)
    c = compute[np.isfinite(compute) & (compute > 0)]
    if c.size == 0:
        raise InputError("envelope figure: no checkpoint with a positive compute")
    lo, hi = int(np.ceil(np.log10(c.min()))), int(np.floor(np.log10(c.max())))
    decades = np.arange(lo, hi + 1) if hi >= lo else np.array([np.log10(c.max())])
    step = max(1, int(np.ceil(len(decades) / 6)))
    return 10.0 ** decades[::step].astype(np.float64)


def _iso_panel(ax: Axes, env: Envelope, sub: pd.DataFrame, budgets: np.ndarray, cmap: Colormap,
               norm: Normalize, k: int) -> None:
    n_pts = sub["parameters"].to_numpy(np.float64)
    n_star = np.atleast_1d(env.n_opt(budgets))
    n_all = np.concatenate([n_pts, n_star])
    n_lo, n_hi = 10.0 ** (np.log10(n_all.min()) - 1.0), 10.0 ** (np.log10(n_all.max()) + 1.0)
    n_grid = np.geomspace(n_lo, n_hi, 300)
    for c in budgets:
        ax.plot(n_grid, env.loss(n_grid, c / (6.0 * n_grid)), color=cmap(norm(c)), linewidth=1.1)
    c_dense = np.geomspace(budgets.min() / 3.0, budgets.max() * 3.0, 200)
    ax.plot(env.n_opt(c_dense), env.loss_opt(c_dense), color="black", linestyle="--",
            linewidth=1.0, zorder=3)
    ax.plot(n_star, env.loss_opt(budgets), linestyle="none", marker="*", markersize=6,
            color="black", zorder=4)
    y = sub["neg_log_pass_at_k"].to_numpy(np.float64)
    ok = np.isfinite(y) & (y > 0)
    ax.scatter(n_pts[ok], y[ok], c=sub["compute"].to_numpy(np.float64)[ok], cmap=cmap, norm=norm,
               edgecolors="black", linewidths=0.5, s=16, zorder=5)
    log_axis(ax)
    ax.set_xlim(n_lo, n_hi)
    ax.set_ylim(*_ylim(np.concatenate([env.loss_opt(budgets), y[ok]])))
    ax.set_xlabel("parameters $N$")
    ax.set_ylabel(NEG_LOG_LABEL)
    ax.set_title(rf"{k_label(k)}: iso-compute curves, $\alpha = {format_number(env.alpha, 3, tex=True)}$",
                 color=k_color(k))


def _penalty_panel(ax: Axes, env: Envelope, sub: pd.DataFrame, cmap: Colormap, norm: Normalize,
                   k: int) -> None:
    ck = sub.drop_duplicates("checkpoint")
    c = ck["compute"].to_numpy(np.float64)
    r = np.atleast_1d(env.ratio(ck["parameters"].to_numpy(np.float64), c))
    lo = min(float(np.log10(r.min())) - 0.3, -1.0)
    hi = max(float(np.log10(r.max())) + 0.3, 1.0)
    grid = np.logspace(lo, hi, 400)
    ax.plot(grid, env.penalty(grid), color="0.3", linewidth=1.2)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax.scatter(r, env.penalty(r), c=c, cmap=cmap, norm=norm, edgecolors="black",
               linewidths=0.5, s=16, zorder=5)
    log_axis(ax)
    ax.set_xlabel(r"misallocation $r = N / N^*(C)$")
    ax.set_ylabel(r"penalty $\Phi(r)$ on $y - E_0$")
    ax.set_title(f"{k_label(k)}: penalty; $N^*$ at $C_{{max}}$ = "
                 f"${si_number(float(env.n_opt(c.max())))}$", color=k_color(k))


def _ylim(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values) & (values > 0)]
    lo, hi = float(v.min()), float(v.max())
    return lo / 1.6, hi * 1.6

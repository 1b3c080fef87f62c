"""Shared look of every report figure: colours per k, figure grids, axis labels, saving.

Figures are built with :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so
plotting touches no global state, needs no interactive backend and leaks no figures;
``savefig`` renders with the Agg canvas.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from matplotlib import colormaps, rc_context
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator

from ..errors import InputError
from ..fit.laws import get_law

__all__ = [
    "COMPUTE_LABEL",
    "DEFAULT_DPI",
    "FIGURE_FORMATS",
    "NEG_LOG_LABEL",
    "figure_bytes",
    "figure_png_bytes",
    "grid_figure",
    "k_color",
    "k_label",
    "law_title",
    "log_axis",
    "log_norm",
    "outer_labels",
    "param_label",
    "save_figure",
    "sequential_cmap",
    "style",
]

DEFAULT_DPI: Final = 200
FIGURE_FORMATS: Final = ("png", "pdf", "svg")

COMPUTE_LABEL: Final = "pretraining compute $C = 6ND$ (FLOP)"
NEG_LOG_LABEL: Final = r"$-\log\ \mathrm{pass@}k$"

# k -> colour is a fixed function of log10(k) over k = 1 .. 1e4 (the paper's range), so a
# given k has the same colour in every figure and in every report.
_K_CMAP: Final = "plasma"
_K_LOG10_MAX: Final = 4.0
_K_CMAP_RANGE: Final = (0.0, 0.85)  # stop before plasma's pale yellow end

_MINOR_SUBS: Final = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)
_RC: Final[dict[Any, Any]] = {
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.3,
    "lines.markersize": 4.0,
    "errorbar.capsize": 0,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
    "pdf.fonttype": 42,  # TrueType in PDFs (editable text, accepted by publishers)
    "svg.fonttype": "none",
}

@contextmanager
def style() -> Iterator[None]:
    """Context in which every figure of the package is built (rcParams, restored on exit)."""
    with rc_context(_RC):
        yield


def k_color(k: float) -> tuple[float, float, float, float]:
    """The colour of pass@k, the same in every figure: a function of log10(k) only."""
    if not (k >= 1 and math.isfinite(k)):
        raise InputError(f"k must be a finite number >= 1 to get a colour, got {k!r}")
    t = min(math.log10(k) / _K_LOG10_MAX, 1.0)
    lo, hi = _K_CMAP_RANGE
    return tuple(colormaps[_K_CMAP](lo + (hi - lo) * t))  # type: ignore[return-value]


def k_label(k: float) -> str:
    """Legend text for one k, e.g. ``k = 100`` (``k = 1e+04`` beyond 5 digits)."""
    return f"$k = {int(k)}$" if k < 1e5 else f"$k = {k:.0e}$"


def param_label(law: str, name: str, *, meaning: bool = True) -> str:
    """Axis label of a law parameter, e.g. ``$\\alpha$ (exponent)`` (from its :class:`LawSpec`)."""
    spec = get_law(law)
    tex = spec.symbol(name)
    return f"{tex} ({spec.role(name)})" if meaning else tex


def law_title(law: str) -> str:
    """A law's name and formula for figure titles (from its :class:`LawSpec`)."""
    spec = get_law(law)
    return f"{spec.title}  ${spec.tex}$" if spec.tex else spec.title


def sequential_cmap(name: str = "viridis") -> Colormap:
    """Colormap for a continuous covariate (compute, tokens, model size): never the k map."""
    return colormaps[name]


def log_norm(values: npt.ArrayLike) -> Normalize:
    """A log colour normalisation spanning the finite positive ``values``."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return LogNorm(1.0, 10.0)
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        lo, hi = lo / 2.0, hi * 2.0
    return LogNorm(lo, hi)


def grid_figure(
    n_panels: int,
    *,
    ncols: int | None = None,
    panel_size: tuple[float, float] = (2.5, 2.1),
    sharex: bool = False,
    sharey: bool = False,
    max_cols: int = 4,
) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with ``n_panels`` axes in a grid; no empty panels.

    Cells of the last row beyond ``n_panels`` are removed, not left blank.
    """
    if n_panels < 1:
        raise InputError(f"a figure needs at least one panel, got {n_panels}")
    ncols = min(n_panels, ncols or max_cols)
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey).ravel().tolist()
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    used = axes[:n_panels]
    if sharex:  # the bottom panel of a column whose lower cell was removed needs tick labels
        for ax in used:
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig, used


def outer_labels(axes: Sequence[Axes], ncols: int, *, xlabel: str, ylabel: str) -> None:
    """Axis labels on the outer panels of a shared-axes grid only: y on the first column,
    x on the lowest panel of each column (the last row may be incomplete)."""
    n = len(axes)
    for i, ax in enumerate(axes):
        ax.set_ylabel(ylabel if i % ncols == 0 else "")
        ax.set_xlabel(xlabel if i + ncols >= n else "")


def log_axis(ax: Axes, which: Sequence[str] = ("x", "y"), *, numticks: int = 6) -> None:
    """Log scale with at most ``numticks`` labelled decades and unlabelled minor ticks."""
    for axis_name in which:
        axis = ax.xaxis if axis_name == "x" else ax.yaxis
        (ax.set_xscale if axis_name == "x" else ax.set_yscale)("log")
        axis.set_major_locator(LogLocator(base=10.0, numticks=numticks))
        axis.set_minor_locator(LogLocator(base=10.0, subs=_MINOR_SUBS, numticks=12))
        axis.set_major_formatter(_LogTickFormatter())
        # minor ticks are labelled only when the axis spans less than about one decade
        axis.set_minor_formatter(_LogTickFormatter(labelOnlyBase=False,
                                                   minor_thresholds=(1.0, 0.4)))


class _LogTickFormatter(LogFormatterSciNotation):
    """Log-axis tick labels: plain numbers (``0.3``, ``40``) between 1e-3 and 1e4,
    ``10^n`` / ``a x 10^n`` outside; which ticks get a label is matplotlib's choice."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        text = super().__call__(x, pos)
        if text and 1e-3 <= abs(x) < 1e4:
            return f"{x:g}"
        return text


def figure_png_bytes(fig: Figure, *, dpi: int = DEFAULT_DPI) -> bytes:
    """The figure rendered as PNG bytes (for embedding)."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figure_bytes(fig: Figure, fmt: str, *, dpi: int = DEFAULT_DPI) -> bytes:
    """The figure rendered as ``fmt`` (png, pdf, svg), without creation dates, so that
    identical inputs give identical bytes."""
    if fmt not in FIGURE_FORMATS:
        raise InputError(f"unknown figure format {fmt!r}; expected one of {FIGURE_FORMATS}")
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_metadata(fmt))
    return buf.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``fig`` to ``path``; the format (png, pdf, svg) comes from the extension.

    The only I/O of the plotting package.  Written atomically (temporary file + rename).
    """
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise InputError(f"{p}: unknown figure format {fmt!r}; expected one of {FIGURE_FORMATS}")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with style():
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_metadata(fmt))
    os.replace(tmp, p)
    return p


def _metadata(fmt: str) -> dict[str, Any]:
    # No creation date: identical inputs give byte-identical PDFs/SVGs.
    if fmt == "pdf":
        return {"Creator": "lm-eval-scaling", "CreationDate": None}
    if fmt == "svg":
        return {"Creator": "lm-eval-scaling", "Date": None}
    return {"Software": "lm-eval-scaling"}

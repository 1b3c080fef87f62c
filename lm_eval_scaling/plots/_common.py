"""Small helpers shared by the figure modules: input checks, fit lookup, annotations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from ..errors import InputError
from ..fit.laws import get_law
from ..fit.numbers import format_number

__all__ = [
    "FitLike",
    "censored_marker",
    "fit_for",
    "fit_text",
    "k_values",
    "require_columns",
    "si_number",
    "span",
]


class FitLike(Protocol):
    """What the figures read from a fit (:class:`lm_eval_scaling.fit.FitResult`)."""

    @property
    def law(self) -> str: ...

    @property
    def k(self) -> int | None: ...

    @property
    def params(self) -> Mapping[str, float]: ...

    @property
    def converged(self) -> bool: ...

    def predict(self, **covariates: Any) -> npt.NDArray[np.float64]: ...


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """InputError naming the figure and the missing columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what}: the table lacks column(s) {missing}; it has {list(df.columns)}")


def k_values(df: pd.DataFrame, ks: Sequence[int] | None) -> list[int]:
    """The k values to draw: ``ks`` if given (each must occur in ``df``), else all of ``df``'s."""
    present = sorted(int(k) for k in pd.unique(df["k"]))
    if ks is None:
        return present
    wanted = sorted({int(k) for k in ks})
    absent = [k for k in wanted if k not in present]
    if absent:
        raise InputError(f"k value(s) {absent} are not in the table (it has k = {present})")
    return wanted


def fit_for(fits: Iterable[FitLike], law: str, k: int) -> FitLike | None:
    """The fit of ``law`` at ``k`` among ``fits`` (None if absent)."""
    for fit in fits:
        if fit.law == law and fit.k is not None and int(fit.k) == int(k):
            return fit
    return None


def fit_text(fit: FitLike) -> str:
    """``E0 = 0.12, alpha = 0.15`` style mathtext for a fit's parameters (one a line); a
    parameter at a bound reads ``E0 = 0 (at bound)``, never the floor value it stopped at."""
    spec = get_law(fit.law)
    at_bound = getattr(fit, "at_bound", ())
    bounds = getattr(fit, "bounds", {})
    parts = [f"{spec.symbol(n)}$ = {format_number(bounds.get(n, (0.0,))[0], 3, tex=True)}$"
             " (at bound)" if n in at_bound else
             f"{spec.symbol(n)}$ = {format_number(fit.params[n], 3, tex=True)}$"
             for n in spec.param_names]
    text = "\n".join(parts)
    if not fit.converged:
        text += "\n(not converged)"
    return text


def span(values: npt.ArrayLike, *, pad_decades: float = 0.1) -> tuple[float, float]:
    """Log-space range of the finite positive ``values`` widened by ``pad_decades`` each side."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        raise InputError("no finite positive values to draw")
    lo, hi = np.log10(v.min()) - pad_decades, np.log10(v.max()) + pad_decades
    return float(10.0**lo), float(10.0**hi)


def censored_marker(ax: Axes, x: npt.ArrayLike, color: Any) -> None:
    """Mark censored points (pass@k = 0, so -log pass@k is above any finite value) at the top."""
    xs = np.asarray(x, dtype=np.float64)
    if xs.size == 0:
        return
    ax.plot(xs, np.full(xs.shape, 0.97), linestyle="none", marker="^", markersize=4.5,
            markerfacecolor="none", markeredgecolor=color, markeredgewidth=0.9,
            transform=ax.get_xaxis_transform(), clip_on=False, zorder=4)


def censored_handle() -> Line2D:
    return Line2D([], [], linestyle="none", marker="^", markerfacecolor="none",
                  markeredgecolor="0.3", label=r"pass@$k$ = 0 (censored)")


def excluded_handle() -> Line2D:
    return Line2D([], [], linestyle="none", marker="o", markerfacecolor="none",
                  markeredgecolor="0.5", label="excluded from fits")


def si_number(value: float) -> str:
    """``1.4e9`` -> ``1.4\\,\\mathrm{B}`` (mathtext; inside ``$...$``)."""
    for factor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}\\,\\mathrm{{{suffix}}}"
    return f"{value:.3g}"

"""The one number formatter of the package: fit reports, the report page, figure
annotations and command-line tables all show numbers through :func:`format_number`, and
values with intervals through :func:`format_interval` (a parameter at a bound as
``0 (at bound) [0, 0.031]``: its bound, and a one-sided interval;
:meth:`lm_eval_scaling.fit.FitResult.format_parameter` applies it to a fit)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_interval", "format_number"]


def format_number(value: Any, digits: int = 4, *, tex: bool = False, nan: str = "nan") -> str:
    """``value`` with ``digits`` significant digits: plain between 1e-3 and 1e5, else in
    scientific notation (``1.23e+21``, or mathtext ``1.23\\times10^{21}`` with ``tex``);
    ``0`` as ``0``; NaN and infinities as ``nan`` (or the text given)."""
    x = float(value)
    if not math.isfinite(x):
        return nan
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.{digits}g}"
    text = f"{x:.{max(digits - 1, 0)}e}"
    if not tex:
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa}\times10^{{{int(exponent)}}}"


def format_interval(value: float, low: float, high: float, *, at_bound: bool = False,
                    bound: float = 0.0, digits: int = 4) -> str:
    """``value [low, high]``; at a bound ``bound (at bound) [low, high]``; an undefined
    interval is said so, never left out."""
    text = (f"{format_number(bound if math.isfinite(bound) else 0.0, digits)} (at bound)"
            if at_bound else format_number(value, digits))
    if math.isfinite(low) and math.isfinite(high):
        return f"{text} [{format_number(low, 3)}, {format_number(high, 3)}]"
    return f"{text} [interval undefined]"


"""How fragile is each fitted number?  The same fits under the analysis choices that move them.

:func:`sensitivity_table` refits every (law, k) under one change at a time and reports
each law's exponents and irreducible term next to the baseline's:

==========================  ======================================================
variant                     change
==========================  ======================================================
``baseline``                the options and exclusions given
``loss=squared``            least squares on log residuals instead of Huber
``delta=1e-2``              Huber threshold 10x larger
``delta=1e-4``              Huber threshold 10x smaller
``without smallest size``   the checkpoints of the smallest model left out
``without largest size``    the checkpoints of the largest model left out
``N=non_embedding``         the other parameter count (non-embedding vs total) for N, C
``policy=drop_k``           problems with fewer samples than k: drop the point, not the
                            problems (or ``policy=drop_problems`` when that is the baseline)
==========================  ======================================================

A variant that cannot be run on these tables (no non-embedding counts, a single model
size) is listed with ``note`` saying why, never silently left out.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from ..errors import FitError, InputError
from ..fit.core import FitWarning
from ..fit.laws import get_law
from ..tables.ladder import load_ladder
from .fits import fit_table
from .options import FitOptions
from .points import passk_points

__all__ = ["SENSITIVITY_COLUMNS", "sensitivity_table"]

log = logging.getLogger(__name__)

SENSITIVITY_COLUMNS: Final = ("variant", "law", "k", "parameter", "value", "at_bound",
                              "identified", "baseline", "change", "relative_change", "n_points",
                              "note")


def sensitivity_table(counts: pd.DataFrame, ladder: pd.DataFrame, *,
                      laws: Sequence[str] = ("compute",), ks: Sequence[int],
                      gold: pd.DataFrame | None = None, exclude: Sequence[str] = (),
                      options: FitOptions | None = None) -> pd.DataFrame:
    """One row per (variant, law, k, parameter) for the exponents and irreducible term of
    every law (module doc): the value, whether it is at its bound, whether the fit is
    identified, the baseline's value and the change from it (absolute and relative).  A
    parameter at its bound is reported as the bound (0 for an irreducible term)."""
    options = (options or FitOptions()).with_(bootstrap=0)
    specs = [get_law(law) for law in dict.fromkeys(laws)]
    baseline_points = passk_points(counts, ladder, ks=ks, gold=gold, exclude=exclude,
                                   **options.points_kwargs())
    variants: list[tuple[str, Any]] = [("baseline", None)]
    variants += [("loss=squared", {"options": options.with_(loss="squared")})]
    variants += [(f"delta={d:g}", {"options": options.with_(delta=options.delta * f)})
                 for d, f in ((options.delta * 10, 10.0), (options.delta / 10, 0.1))]
    sizes = np.unique(baseline_points.loc[~baseline_points["user_excluded"], "parameters"])
    for name, size in (("without smallest size", sizes.min() if sizes.size else None),
                       ("without largest size", sizes.max() if sizes.size else None)):
        variants.append((name, {"drop_size": size} if sizes.size > 1 else
                         "a single model size: nothing to leave out"))
    other = _other_parameter_count(ladder)
    variants.append(other)
    alt_policy = "drop_k" if options.policy != "drop_k" else "drop_problems"
    variants.append((f"policy={alt_policy}", {"options": options.with_(policy=alt_policy)}))

    results: dict[str, tuple[list[Any], str]] = {}
    for name, change in variants:
        if isinstance(change, str):
            results[name] = ([], change)
            continue
        change = change or {}
        opts = change.get("options", options)
        lad = change.get("ladder", ladder)
        points = (baseline_points if not ({"options", "ladder"} & set(change))
                  else passk_points(counts, lad, ks=ks, gold=gold, exclude=exclude,
                                    **opts.points_kwargs()))
        if "drop_size" in change:
            points = points.copy()
            points.loc[points["parameters"] == change["drop_size"], "user_excluded"] = True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                fits = fit_table(points, laws=[s.name for s in specs], options=opts, warn=False)
        except (FitError, InputError) as exc:
            results[name] = ([], f"not fitted: {exc}")
            continue
        results[name] = (fits, "")
    base = {(f.law, f.k): f for f in results["baseline"][0]}
    rows = []
    for name, (fits, note) in results.items():
        if note:
            rows.append({"variant": name, "law": "", "k": -1, "parameter": "",
                         "value": np.nan, "at_bound": False, "identified": False,
                         "baseline": np.nan, "change": np.nan, "relative_change": np.nan,
                         "n_points": 0, "note": note})
            continue
        for f in fits:
            spec = f.spec
            ref = base.get((f.law, f.k))
            for p in _watched(spec):
                # a parameter at its bound is its bound (the irreducible term's floor
                # ~1e-18 is an artefact of the log parameterisation, not a value)
                v = f.bounds.get(p, (0.0,))[0] if p in f.at_bound else f.params[p]
                b = np.nan
                if ref is not None:
                    b = ref.bounds.get(p, (0.0,))[0] if p in ref.at_bound else ref.params[p]
                rows.append({
                    "variant": name, "law": f.law, "k": -1 if f.k is None else int(f.k),
                    "parameter": p, "value": v, "at_bound": p in f.at_bound,
                    "identified": f.identified, "baseline": b, "change": v - b,
                    "relative_change": (v - b) / abs(b) if b and np.isfinite(b) else np.nan,
                    "n_points": f.n_points, "note": "",
                })
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))


def _watched(spec: Any) -> list[str]:
    """The numbers a reader quotes: the exponents, then the irreducible term."""
    return [*spec.exponents, *([spec.irreducible] if spec.irreducible else [])]


def _other_parameter_count(ladder: pd.DataFrame) -> tuple[str, Any]:
    if "total_parameters" in ladder.columns:  # loaded with the non-embedding count
        other = ladder.copy()
        other["parameters"] = other["total_parameters"].to_numpy(np.float64)
        other["compute"] = 6.0 * other["parameters"] * other["tokens"].to_numpy(np.float64)
        return "N=total", {"ladder": other.drop(columns="total_parameters")}
    if "non_embedding_parameters" in ladder.columns and ladder["non_embedding_parameters"].notna().all():
        return "N=non_embedding", {"ladder": load_ladder(ladder, parameters="non_embedding")}
    return "N=non_embedding", "the ladder has no non_embedding_parameters column"

"""The report page: one self-contained HTML file from the jinja2 templates in ``templates/``
(inline CSS, figures as base64 PNG).

Nothing is fetched from the network; links point to the CSV/JSON tables and figure
files written beside ``index.html``.  This module only prepares what the page shows;
the page's structure and text live in ``templates/report.html.j2``.
"""

from __future__ import annotations

import base64
import platform
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from ..fit.numbers import format_number

if TYPE_CHECKING:
    from jinja2 import Environment

    from ..analysis.options import FitOptions
    from ._figures import ReportFigure
    from .compute import ReportResults

__all__ = ["render_html"]

_FOLD_ROWS = 25  # a longer pass@k table is folded into <details>


def render_html(results: ReportResults, figures: Sequence[ReportFigure],
                files: Sequence[str]) -> str:
    """The full page for ``results`` with the rendered ``figures`` and links to ``files``."""
    sections = [("verdict", "Verdict per law", bool(results.fits)),
                ("glossary", "Glossary of column names", True),
                ("fits", "Fitted parameters", bool(results.fits)),
                ("sensitivity", "Sensitivity of the fitted numbers",
                 results.sensitivity is not None),
                ("backtest", "Backtest summary", results.backtest is not None),
                ("envelope", "Compute-optimal envelope", results.envelope_tables is not None),
                ("gold", "Gold-reference likelihood", results.gold_summary is not None),
                ("passk", "pass@k per checkpoint and k", True), ("files", "Files", True)]
    page = _environment().get_template("report.html.j2").render(
        meta=_meta(results),
        notes=results.notes,
        figures=figures,
        sections=[(anchor, title) for anchor, title, shown in sections if shown],
        verdicts=_verdicts(results),
        glossary=GLOSSARY,
        sensitivity=_sensitivity(results),
        fits=_fits(results),
        backtest=_backtest(results),
        envelope=_envelope(results),
        gold=(_table(results.gold_summary.drop(columns=["model", "revision"]),
                     left=("task", "checkpoint"))
              if results.gold_summary is not None else None),
        passk=_passk(results),
        files=[f for f in sorted(files) if not f.startswith("figures/")],
    )
    return page + "\n"


def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("lm_eval_scaling.report", "templates"),
                      autoescape=True, undefined=StrictUndefined, keep_trailing_newline=False)
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    return env


# --------------------------------------------------------------------------- cells


def _num(v: Any) -> Markup:
    """A table cell: yes/no for booleans, integers as they are, floats through the
    package's number formatter, anything else escaped."""
    if isinstance(v, (bool, np.bool_)):
        return Markup("yes") if v else Markup('<span class="bad">no</span>')
    if isinstance(v, (int, np.integer)):
        return Markup(str(int(v)))
    if isinstance(v, (float, np.floating)):
        return escape(format_number(v, 4, nan="–"))
    return escape(v)


def _with_interval(value: float, low: float, high: float) -> Markup:
    if np.isfinite(low):
        return _num(value) + Markup(" <span class='ci'>[{}, {}]</span>").format(_num(low),
                                                                               _num(high))
    return _num(value)


def _table(df: pd.DataFrame, *, left: Sequence[str] = (),
           raw: Sequence[str] = ()) -> dict[str, Any]:
    """Columns and cells of a data frame for the template's ``table`` macro; empty text
    columns are left out; the cells of ``raw`` columns are markup built here (pandas
    keeps them as plain strings), the others are formatted and escaped."""
    empty = [c for c in df.columns if df[c].dtype == object and (df[c] == "").all()]
    df = df.drop(columns=empty)
    columns = [(str(c), c in left) for c in df.columns]
    rows = [[(Markup(v) if c in raw else _num(v), c in left) for c, v in zip(df.columns, row)]
            for row in df.itertuples(index=False)]
    return {"columns": columns, "rows": rows}


# --------------------------------------------------------------------------- sections


def _meta(results: ReportResults) -> list[tuple[str, str]]:
    from .. import __version__

    counts = results.inputs.counts
    o = results.options
    n_ckpt = counts.groupby(["model", "revision", "task"]).ngroups
    rows = [(k, v) for k, v in results.inputs.sources.items()]
    rows += [
        ("checkpoints", (f"{n_ckpt} ({counts['problem_id'].nunique()} distinct problems; "
                        f"samples per problem {int(counts['num_samples'].min())}–"
                        f"{int(counts['num_samples'].max())})")),
        ("tasks", ", ".join(sorted(t or "(none)" for t in counts["task"].unique()))),
        ("k", ", ".join(map(str, results.ks))),
        ("laws", ", ".join(results.laws) or "none (no ladder)"),
        ("pass@k bootstrap", f"{o.n_boot} resamples, CI {o.fit.ci}, seed {o.fit.seed}"
                             if o.n_boot else "none"),
        ("fit bootstrap", f"{o.fit.bootstrap} refits" if o.fit.bootstrap else "none"),
        ("fit options", f"loss {o.fit.loss}"
                        + (f" (delta {format_number(o.fit.delta)})" if o.fit.loss == "huber"
                           else "")
                        + f", grid {o.fit.grid}"
                        + (f", bounds {dict(o.fit.bounds)}" if o.fit.bounds else "")),
        ("pass@k estimator", _estimator_description(o.fit, results.backtest is not None)),
        ("gold covariate", _gold_description(results)),
        ("chance level", (f"{format_number(o.fit.chance_level)} (the direct laws normalise "
                         "pass@k against it)")),
        ("excluded from fits", ", ".join(o.exclude) or "none"),
    ]
    if results.backtest is not None:
        rows.append(("backtest targets", ", ".join(
            f"{name} (C = {format_number(compute)} FLOP)"
            for name, compute in (results.backtest.targets or
                                  ((results.backtest.target, results.backtest.target_compute),)))))
    rows.append(("versions", (f"lm-eval-scaling {__version__}, numpy {np.__version__}, "
                             f"pandas {pd.__version__}, Python {platform.python_version()}")))
    return rows


def _estimator_description(f: FitOptions, backtested: bool) -> str:
    """The pass@k estimator of the run, what it does with problems short of k, and (pooled,
    ``backtested``) what the backtest refitted it to."""
    if f.estimator == "unbiased":
        text = f"unbiased; problems with fewer samples than k: {f.policy}"
    else:
        of = "each checkpoint" if f.estimator == "beta_binomial" else "all checkpoints of a task"
        text = (f"{f.estimator}: problems with fewer samples than k get their posterior "
                f"pass@k under one model of {of}")
        if f.estimator == "pooled" and backtested:
            text += ("; the backtest refits it to the checkpoints up to each cap"
                     if f.pooled_refit == "cap" else
                     "; the backtest refits it to the checkpoints cheaper than each target")
    return text + ("; bootstraps also redraw each problem's correct count"
                   if f.hierarchical else "")


def _fits(results: ReportResults) -> dict[str, Any] | None:
    """One table per law from the one table of fits (``fit_parameters.csv``)."""
    if not results.fits:
        return None
    from ..analysis.fits import fit_parameter_table
    from ..fit.laws import get_law

    o = results.options.fit
    uncertainty = (f"{o.ci:.0%} problem-bootstrap CI ({o.bootstrap} refits)" if o.bootstrap
                   else f"{o.ci:.0%} interval from the robust (sandwich) standard error")
    laws = []
    table = fit_parameter_table(results.fits)
    for law, by_law in table.groupby("law", sort=False):
        rows = []
        for k, grp in by_law.sort_values("k", kind="stable").groupby("k", sort=False):
            first = grp.iloc[0]
            row: dict[str, Any] = {"k": "all" if k == -1 else int(k)}
            row.update({r.parameter: _parameter_cell(r) for r in grp.itertuples()})
            row.update({"converged": bool(first["converged"]),
                        "identified": bool(first["identified"]),
                        "points": int(first["n_points"]),
                        "censored": int(first["n_censored"]),
                        "R² (log)": float(first["r_squared"]),
                        "not identified because": ("" if first["identified"]
                                                   else first["identification"])})
            rows.append(row)
        spec = get_law(str(law))
        pivots = [p for p in by_law["parameter"].unique() if p not in spec.param_names]
        laws.append({"name": law, "formula": spec.formula,
                     "table": _table(pd.DataFrame(rows), raw=[*spec.param_names, *pivots],
                                     left=("not identified because",))})
    return {"uncertainty": uncertainty, "laws": laws}


def _parameter_cell(row: Any) -> Markup:
    """A parameter as the one formatter shows it: value (or ``0 (at bound)``) with its
    interval (one-sided at a bound; "interval undefined" where it is)."""
    text = str(row.display)
    value, _, interval = text.partition(" [")
    if not interval:
        return escape(value)
    return escape(value) + Markup(" <span class='ci'>[{}</span>").format(interval)


#: What the report's column names mean (shown at the top of the page).
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("k", "attempts per problem of pass@k; y = -log pass@k is what the laws model"),
    ("E0, xi0", ("irreducible term of y; '0 (at bound)' when the fit drives it to its floor "
                "(its interval is then one-sided)")),
    ("alpha, beta, gamma, kappa", "exponents, bounded below by 0"),
    ("C0, N0, D0, K0, A, B", ("prefactors quoted at C = 1 (or N, D, gold = 1), far below the "
                             "data: nearly collinear with the exponents")),
    ("*_pivot", "the law's term at the median covariate of the data: the prefactor to quote"),
    ("identified", ("the data pin the law down: at least p + 2 points, independent "
                   "covariates, a non-flat profile, no competing optimum within 1% of the "
                   "objective")),
    ("at bound", "parameters that ended on a bound"),
    ("[lo, hi]", ("95% interval: bootstrap percentiles where bootstrapped, else from the "
                 "robust (sandwich) standard error")),
    ("R² (log)", "share of the variance of log y the fit explains"),
    ("horizon_oom", "orders of magnitude of compute between a backtest cap and its target"),
    ("error_horizon_oom", ("farthest cap from which every closer forecast is within 10 points "
                          "of the error plateau")),
    ("stable_horizon_oom", ("farthest cap from which the exponents and pivot prefactors stay "
                           "within 10% of their full-fit values")),
    ("plateau_error", ("median relative forecast error of the caps within 0.5 orders of "
                      "magnitude of the closest cap")),
    ("persistence, trend", ("naive forecasts: the most expensive checkpoint under the cap; a "
                           "log-log line through the last decade under the cap")),
    ("beats_persistence, beats_trend", ("the law's plateau error is below the baseline's on "
                                       "the same caps")),
    ("ratio (r)", "misallocation N / N*(C) of a checkpoint against the envelope's ridge"),
)


def _gold_description(results: ReportResults) -> str:
    """What the gold law's covariate is and over how many problems (or that there is none)."""
    o = results.options.fit
    pts = results.points
    if pts is None or not np.isfinite(pts["gold"].to_numpy(np.float64)).any():
        return "none (no gold table)"
    per = pts.drop_duplicates("checkpoint")
    used = per.loc[per["gold"].notna(), "gold_num_problems"]
    where = ("the problems each checkpoint was sampled on" if o.gold_problems == "same"
             else "every problem of the gold table")
    counts = f"{int(used.min())}" if used.min() == used.max() else f"{int(used.min())}–{int(used.max())}"
    return (f"{o.gold_covariate} over {where} ({counts} problems, {len(used)} checkpoints "
            "with gold)")


def _verdicts(results: ReportResults) -> list[Markup]:
    """One plain sentence per law: its best backtest error against the baselines, its
    horizons, and what it leaves unidentified."""
    if not results.fits:
        return []
    summary = None
    target = None
    if results.backtest is not None:
        summary = results.backtest.summary()
        target = results.backtest.target
        summary = summary[summary["target"] == target]
    out = []
    for law in dict.fromkeys(f.law for f in results.fits):
        fits = [f for f in results.fits if f.law == law]
        parts = [f"<b>{escape(law)} law</b>:"]
        if summary is not None and (summary["law"] == law).any():
            rows = summary[summary["law"] == law].sort_values("k")
            rows = rows[np.isfinite(rows["plateau_error"].to_numpy(np.float64))]
            if len(rows):
                best = rows.loc[rows["plateau_error"].idxmin()]
                ks = [int(k) for k in rows["k"]]
                beats_p = [int(k) for k, b in zip(rows["k"], rows["beats_persistence"]) if b is True]
                beats_t = [int(k) for k, b in zip(rows["k"], rows["beats_trend"]) if b is True]
                parts.append(
                    f"forecasting {escape(str(target))}, its best error (plateau) is "
                    f"{format_number(100 * best['plateau_error'], 2)}% at k = {int(best['k'])} "
                    f"(persistence {format_number(100 * best['persistence_plateau_error'], 2)}%, "
                    f"trend {format_number(100 * best['trend_plateau_error'], 2)}%); it beats "
                    f"persistence {_at_ks(beats_p, ks)} and the trend {_at_ks(beats_t, ks)}; "
                    f"error horizon {_span(rows['error_horizon_oom'])} orders of magnitude, "
                    f"stable horizon {_span(rows['stable_horizon_oom'])}.")
        not_id = [f for f in fits if not f.identified]
        if not_id:
            parts.append("Not identified at " + "; ".join(
                f"k = {'all' if f.k is None else f.k} ({escape(f.identification)})"
                for f in not_id[:4]) + ("; ..." if len(not_id) > 4 else "") + ".")
        else:
            parts.append("Identified at every k.")
        bounds: dict[str, list[str]] = {}
        for f in fits:
            for p in f.at_bound:
                bounds.setdefault(p, []).append("all" if f.k is None else str(f.k))
        for p, where in bounds.items():
            parts.append(f"{escape(p)} is at its bound (0) at k = {', '.join(where)}.")
        out.append(Markup(" ".join(str(x) for x in parts)))
    return out


def _at_ks(hits: list[int], ks: list[int]) -> str:
    """``at every k (1, 10)``, ``at no k (1, 10)`` or ``at k = 10 (of 1, 10)``."""
    every = ", ".join(map(str, ks))
    if not hits:
        return f"at no k ({every})"
    if len(hits) == len(ks):
        return f"at every k ({every})"
    return f"at k = {', '.join(map(str, hits))} (of {every})"


def _span(values: pd.Series) -> str:
    """``0.5`` when every value is the same (to the digits shown), else ``0.15–0.6``."""
    lo, hi = (format_number(v, 2) for v in (values.min(), values.max()))
    return lo if lo == hi else f"{lo}–{hi}"


def _sensitivity(results: ReportResults) -> dict[str, Any] | None:
    t = results.sensitivity
    if t is None or t.empty:
        return None
    shown = t.copy()
    shown["value"] = ["0 (at bound)" if b else format_number(v)
                      for v, b in zip(shown["value"], shown["at_bound"])]
    cols = ["variant", "law", "k", "parameter", "value", "identified", "change",
            "relative_change", "n_points", "note"]
    return {"table": _table(shown[cols], left=("variant", "law", "parameter", "value", "note"))}


def _backtest(results: ReportResults) -> dict[str, Any] | None:
    bt = results.backtest
    if bt is None:
        return None
    s = bt.summary()
    cols = ["target", "law", "k", "n_caps", "max_horizon_oom", "error_horizon_oom",
            "stable_horizon_oom", "plateau_error", "closest_relative_error",
            "persistence_plateau_error", "beats_persistence", "trend_plateau_error",
            "beats_trend"]
    targets = ", ".join(name for name, _ in bt.targets) or bt.target
    return {"target": targets,
            "table": _table(s[[c for c in cols if c in s.columns]], left=("target", "law"))}


def _envelope(results: ReportResults) -> dict[str, Any] | None:
    tables = results.envelope_tables
    if tables is None:
        return None
    from ..analysis.envelope_tables import ENVELOPE_CAVEAT

    summary = tables["summary"]
    cols = ["k", "envelope_alpha", "compute_alpha", "alpha_comparable", "ratio_min",
            "ratio_max", "median_abs_log10_ratio", "params_tokens_identified",
            "compute_identified", "n_points"]
    return {"summary": _table(summary[[c for c in cols if c in summary.columns]]),
            "budgets": _table(tables["budgets"]), "caveat": ENVELOPE_CAVEAT}


def _passk(results: ReportResults) -> dict[str, Any]:
    t = results.passk
    order = None
    if results.points is not None:
        comp = results.points.drop_duplicates("checkpoint").set_index("checkpoint")["compute"]
        order = comp.sort_values(kind="stable").index.tolist()
    cells = []
    for (ckpt, task), grp in t.groupby(["checkpoint", "task"], sort=False):
        row: dict[str, Any] = {"checkpoint": ckpt}
        if (t["task"] != "").any():
            row["task"] = task
        for r in grp.itertuples():
            row[f"pass@{int(r.k)}"] = _with_interval(r.pass_at_k, r.ci_low, r.ci_high)
        cells.append(row)
    df = pd.DataFrame(cells)
    if order is not None:
        rank = {c: i for i, c in enumerate(order)}
        df = df.sort_values("checkpoint", key=lambda s: s.map(rank), kind="stable")
    raw = [c for c in df.columns if c.startswith("pass@")]
    return {"table": _table(df, left=("checkpoint", "task"), raw=raw),
            "what": "bootstrap CI" if results.options.n_boot else "value",
            "ordered": order is not None, "folded": len(df) > _FOLD_ROWS}

"""The report's figures: which to draw from the results, their captions, their files.

A figure whose inputs are absent (no ladder, no gold table, no backtest, no converged
params+tokens fit) is listed with the reason it was skipped; it is never drawn empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..fit.numbers import format_number

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .compute import ReportResults

__all__ = ["ReportFigure", "build_figures", "render_figures"]

log = logging.getLogger(__name__)

_MAX_ENVELOPE_ROWS = 4


@dataclass(frozen=True)
class ReportFigure:
    """One figure of the report: rendered (``png`` bytes and ``files``) or ``skipped``."""

    number: int
    name: str
    title: str
    caption: str = ""
    png: bytes | None = None
    files: tuple[Path, ...] = field(default=())
    skipped: str | None = None


@dataclass(frozen=True)
class _Spec:
    number: int
    name: str
    title: str
    build: Callable[[ReportResults], tuple[Figure, str] | str]


def build_figures(results: ReportResults, *, progress: bool = False,
                  ) -> Iterator[tuple[int, str, str, tuple[Figure, str] | str]]:
    """``(number, name, title, (figure, caption) or the reason it is skipped)`` in order;
    nothing is written."""
    from tqdm import tqdm

    for spec in tqdm(_SPECS, desc="figures", unit="fig", disable=not progress, leave=False):
        try:
            built = spec.build(results)
        except InputError as exc:  # nothing to draw: say why instead of an empty panel
            built = str(exc)
        yield spec.number, spec.name, spec.title, built


def render_figures(results: ReportResults, directory: Path, *,
                   progress: bool = False) -> list[ReportFigure]:
    """Draw every figure the results allow, write them under ``directory``
    (``NN_name.png`` plus the other requested formats) and return them in order."""
    from ..plots._style import figure_bytes, figure_png_bytes
    from ..tables.files import write_bytes

    out: list[ReportFigure] = []
    for number, name, title, built in build_figures(results, progress=progress):
        if isinstance(built, str):
            log.info("figure %d (%s) skipped: %s", number, name, built)
            out.append(ReportFigure(number, name, title, skipped=built))
            continue
        fig, caption = built
        directory.mkdir(parents=True, exist_ok=True)
        stem = f"{number:02d}_{name}"
        try:
            png = figure_png_bytes(fig, dpi=results.options.dpi)
        except ValueError as exc:  # e.g. a log axis with no positive value to show
            reason = f"nothing drawable ({exc})"
            log.info("figure %d (%s) skipped: %s", number, name, reason)
            out.append(ReportFigure(number, name, title, skipped=reason))
            continue
        files = [write_bytes(directory / f"{stem}.png", png)]
        for fmt in results.options.figure_formats:
            if fmt != "png":
                files.append(write_bytes(directory / f"{stem}.{fmt}",
                                         figure_bytes(fig, fmt, dpi=results.options.dpi)))
        out.append(ReportFigure(number, name, title, caption, png, tuple(files)))
    return out


# --------------------------------------------------------------------------- builders


def _formula(law: str) -> str:
    from ..fit.laws import get_law

    return get_law(law).formula


def _param_range(results: ReportResults, law: str, key: str, shown: str) -> str:
    """``the exponent α goes from 0.15 (k = 1) to 0.38 (k = 1000)`` over converged fits."""
    fits = sorted((f for f in results.fits if f.law == law and f.k is not None and f.converged),
                  key=lambda f: int(f.k))  # type: ignore[arg-type]
    if not fits:
        return ""
    first, last = fits[0], fits[-1]
    if first is last:
        return f"{shown} = {first.format_parameter(key, digits=3)} at k = {first.k}"
    text = (f"{shown} goes from {first.format_parameter(key, digits=3)} (k = {first.k}) to "
            f"{last.format_parameter(key, digits=3)} (k = {last.k})")
    at = [str(f.k) for f in fits if key in f.at_bound]
    if at:
        text += f"; {shown} is 0 (at bound) at k = {', '.join(at)}"
    return text


def _span_text(values: np.ndarray) -> str:
    """``0.24–1.1`` over the finite values, or one number when they agree."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return "n/a"
    lo, hi = float(v.min()), float(v.max())
    a, b = format_number(lo, 2), format_number(hi, 2)
    return a if a == b else f"{a}–{b}"


def _excluded_note(results: ReportResults) -> str:
    if results.options.exclude:
        return (" Hollow markers: checkpoints excluded from the fits by "
                + ", ".join(f"'{p}'" for p in results.options.exclude) + ".")
    return ""


def _fig_passk_vs_compute(results: ReportResults) -> tuple[Figure, str] | str:
    from ..plots.passk import plot_passk_vs_compute

    if results.points is None:
        return "needs a ladder table (--ladder) for the compute of each checkpoint"
    fig = plot_passk_vs_compute(results.points, results.fits, ks=results.ks)
    caption = ("−log pass@k against pretraining compute C = 6ND, one panel per k. Error bars: "
               f"{_ci_text(results)} over problems. Triangles at the top: pass@k = 0 "
               "(censored: below the resolution of the samples; never fitted).")
    if any(f.law == "compute" for f in results.fits):
        caption += (f" Lines: the compute law {_formula('compute')} fitted at each k "
                    f"({results.options.fit.loss} loss on log residuals); dashed where the fit did not converge. "
                    + _param_range(results, "compute", "alpha", "The exponent α").strip() + ".")
    return fig, caption + _excluded_note(results)


def _ci_text(results: ReportResults) -> str:
    o = results.options
    if not o.n_boot:
        return "none (no bootstrap)"
    return f"{o.fit.ci:.0%} percentile bootstrap CI ({o.n_boot} resamples)"


def _fig_parameters_vs_k(results: ReportResults) -> tuple[Figure, str] | str:
    from ..plots.laws import plot_parameters_vs_k

    if not results.fits:
        return "no fit (needs a ladder table and at least one law)"
    fig = plot_parameters_vs_k(results.fits, laws=results.laws)
    boot = results.options.fit.bootstrap
    caption = ("Fitted parameters of each law against k (colour = k, as in every figure). "
               + (f"Error bars: {results.options.fit.ci:.0%} CI from {boot} problem-bootstrap "
                  "refits." if boot else
                  f"Error bars: {results.options.fit.ci:.0%} interval from the robust "
                  "(sandwich) standard error; use --fit-bootstrap B for bootstrap CIs.")
               + " Downward triangles: 0 (at bound), with a one-sided interval."
               + " Hollow markers: fits that did not converge.")
    parts = [p for p in (_param_range(results, "compute", "E0", "E0"),
                         _param_range(results, "compute", "alpha", "α")) if p]
    if parts:
        caption += " Compute law: " + "; ".join(parts) + "."
    return fig, caption


def _fig_params_tokens(results: ReportResults) -> tuple[Figure, str] | str:
    from ..plots.laws import plot_params_tokens

    if results.points is None:
        return "needs a ladder table (--ladder)"
    if "params_tokens" not in results.laws:
        return "the params_tokens law was not requested (--law)"
    pts = results.points[~results.points["user_excluded"]]
    if pts["parameters"].nunique() < 2 or pts["tokens"].nunique() < 2:
        return "the ladder has a single model size or a single token count"
    fig = plot_params_tokens(results.points, results.fits, ks=results.ks)
    caption = (f"The params+tokens law {_formula('params_tokens')}. Left: −log pass@k "
               "against pretraining tokens D, one line per model size N; right: against N, "
               "one line per token count D (5 log-spaced representative values where the "
               "ladder has more than 12). Markers: measured, coloured by N (left) or D "
               "(right); lines: the law fitted at each k, evaluated at that N or D.")
    return fig, caption


def _fig_gold(results: ReportResults) -> tuple[Figure, str] | str:
    from ..plots.laws import plot_gold_law

    if results.inputs.gold is None:
        return "needs a gold table (--gold): log-probabilities of the reference solutions"
    if results.points is None:
        return "needs a ladder table (--ladder)"
    fig = plot_gold_law(results.points, results.fits, ks=results.ks)
    n = int(np.isfinite(results.points.drop_duplicates("checkpoint")["neg_log_gold_prob"]).sum())
    caption = (f"The gold law {_formula('gold')}: −log pass@k against −log of the "
               "benchmark-mean probability of the gold solutions (logsumexp over problems), "
               f"for the {n} checkpoint(s) with gold log-probabilities. Lines: the law fitted "
               "at each k.")
    if "gold" in results.laws:
        text = _param_range(results, "gold", "kappa", "The exponent κ")
        caption += f" {text}." if text else ""
    return fig, caption


def _fig_backtest_errors(results: ReportResults) -> tuple[Figure, str] | str:
    from ..plots.backtest import plot_backtest_errors

    bt = results.backtest
    if bt is None:
        return _no_backtest_reason(results)
    fig = plot_backtest_errors(bt.rows, target=bt.target)
    summary = bt.summary()
    best = []
    for law, grp in summary.groupby("law", sort=False):
        best.append(f"{law}: {_span_text(grp['error_horizon_oom'].to_numpy(np.float64))}")
    caption = (f"Backtest: every law is fitted on the checkpoints with compute ≤ C_max and "
               f"extrapolated to the target {bt.target} (C = {format_number(bt.target_compute, 3)} FLOP); "
               "relative error |ŷ − y| / y of −log pass@k at the target. Hollow: the fit did "
               "not converge. The gold law predicts from the target's own −log GoldProb. "
               "Orders of magnitude of compute below the target from which every forecast "
               "stays within 10% (range over k) — " + "; ".join(best) + ".")
    if "gold" in set(bt.rows["law"]):
        caption += (" The gold law's caps are limited to the checkpoints that have gold "
                    "log-probabilities.")
    err = bt.rows.groupby("k")["relative_error"].apply(lambda s: np.isfinite(s).any())
    undefined = [str(int(k)) for k, ok in err.items() if not ok]
    if undefined:
        caption += (f" No relative error at k = {', '.join(undefined)}: the target's "
                    "−log pass@k is 0 or undefined there.")
    return fig, caption


def _no_backtest_reason(results: ReportResults) -> str:
    if results.points is None:
        return "needs a ladder table (--ladder)"
    if not results.options.backtest:
        return "the backtest was not run (--no-backtest)"
    return "no backtest (see the notes)"


def _fig_trajectories(results: ReportResults) -> tuple[Figure, str] | str:
    from ..plots.backtest import plot_parameter_trajectories

    bt = results.backtest
    if bt is None:
        return _no_backtest_reason(results)
    fig = plot_parameter_trajectories(bt.rows, bt.full_fits)
    summary = bt.summary()
    parts = []
    for law, grp in summary.groupby("law", sort=False):
        h = grp["stable_horizon_oom"].to_numpy(np.float64)
        if np.isfinite(h).any():
            parts.append(f"{law}: {_span_text(h)}")
    caption = ("Stability: each law's parameters fitted on checkpoints with compute ≤ C_max, "
               "against C_max / C_target; dashed: the fit on every checkpoint. Far-off "
               "estimates are clipped to 3 decades around the full-fit values. Downward "
               "triangles on the bottom edge: fits that left the parameter at its bound "
               "(0 for an irreducible term), never drawn at the value the optimiser stopped at.")
    if parts:
        caption += (" Orders of magnitude below the target from which every parameter stays "
                    "within 10% of its full-fit value (range over k) — " + "; ".join(parts) + ".")
    return fig, caption


def _fig_envelope(results: ReportResults) -> tuple[Figure, str] | str:
    from ..plots.envelope import plot_envelope

    if results.points is None:
        return "needs a ladder table (--ladder)"
    if "params_tokens" not in results.laws:
        return "the params_tokens law was not requested (--law)"
    if not results.envelopes:
        return "needs a converged params+tokens fit"
    ks = sorted(results.envelopes)
    if len(ks) > _MAX_ENVELOPE_ROWS:
        idx = np.unique(np.round(np.linspace(0, len(ks) - 1, _MAX_ENVELOPE_ROWS)).astype(int))
        ks = [ks[i] for i in idx]
    fig = plot_envelope({k: results.envelopes[k] for k in ks}, results.points)
    caption = ("The compute-optimal envelope of the params+tokens law. Left: iso-compute "
               "curves y(N, C/6N) (colour = budget C), their minima N*(C) (stars) on the ridge "
               "(dashed), and the checkpoints at their measured −log pass@k (colour = their "
               "compute). Right: the misallocation penalty Φ(r) = (γ r^(−β) + β r^γ)/(β+γ) on "
               "the reducible term, r = N / N*(C), with every checkpoint at its own r; a "
               "checkpoint reaches the loss of a compute-optimal run with C_eff = C·Φ^(−1/α).")
    bits = []
    for k in ks:
        env = results.envelopes[k]
        text = f"k = {k}: α_envelope = βγ/(β+γ) = {format_number(env.alpha, 3)}"
        compute = [f for f in results.fits if f.law == "compute" and f.k == k and f.converged]
        if compute:
            text += f" vs the fitted compute law's α = {format_number(compute[0].params['alpha'], 3)}"
        bits.append(text)
    caption += (" " + "; ".join(bits) + ". envelope.csv lists r, Φ(r) and C_eff per "
                "checkpoint; envelope_budgets.csv the optimal split at larger budgets.")
    return fig, caption


def _fig_passk_vs_k(results: ReportResults) -> tuple[Figure, str] | str:
    from ..plots.passk import plot_passk_vs_k

    dense = results.passk_dense
    if not np.isfinite(dense["neg_log_pass_at_k"].to_numpy(np.float64)).any():
        return "every checkpoint has pass@k = 0 at every k"
    points = None
    if results.points is not None:
        points = results.points.drop_duplicates("checkpoint")
    fig = plot_passk_vs_k(dense, points=points, marks=results.ks)
    caption = ("Inference scaling: −log pass@k against the number of attempts k, one line per "
               "checkpoint" + (", one panel per model size, colour = pretraining tokens"
                              if points is not None else "")
               + ". Each line stops at the largest k at which every problem has at least k "
               "samples (pass@k is undefined beyond; never extrapolated here). Dotted: the "
               "report's k values.")
    return fig, caption


_SPECS: tuple[_Spec, ...] = (
    _Spec(1, "passk_vs_compute", "−log pass@k against compute, with the compute law",
          _fig_passk_vs_compute),
    _Spec(2, "parameters_vs_k", "Fitted parameters against k", _fig_parameters_vs_k),
    _Spec(3, "params_tokens", "The params+tokens law against N and D", _fig_params_tokens),
    _Spec(4, "gold_law", "The gold law: −log pass@k against −log GoldProb", _fig_gold),
    _Spec(5, "backtest_errors", "Backtest: forecast error against compute cap",
          _fig_backtest_errors),
    _Spec(6, "parameter_trajectories", "Backtest: parameter stability across caps",
          _fig_trajectories),
    _Spec(7, "envelope", "Compute-optimal envelope and misallocation penalty", _fig_envelope),
    _Spec(8, "passk_vs_k", "Inference scaling: −log pass@k against k", _fig_passk_vs_k),
)

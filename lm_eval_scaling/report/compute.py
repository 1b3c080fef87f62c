"""What the report computes, with no file written: its inputs (:func:`load_report_inputs`,
the built-in default), its options (:class:`ReportOptions`, holding one ``FitOptions``) and
:func:`compute_report`, which runs pass@k, the points, one fit per (law, k), the backtest,
the envelope and the sensitivity table once each into a :class:`ReportResults`."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import pandas as pd

from ..analysis.options import FitOptions
from ..errors import FitError, InputError
from ..fit.numbers import format_number
from ..passk.benchmark import passk_table
from ..passk.problems import ProblemMode, align_problems

if TYPE_CHECKING:
    from ..analysis.backtest import BacktestResult
    from ..analysis.envelope import Envelope
    from ..fit import FitResult

__all__ = [
    "DEFAULT_LAWS",
    "REPORT_GENERATOR",
    "DefaultInput",
    "ReportInputs",
    "ReportOptions",
    "ReportResults",
    "auto_ks",
    "compute_report",
    "default_input",
    "dense_ks",
    "load_report_inputs",
]

log = logging.getLogger(__name__)

#: Written into ``DIR/report.json``; a directory holding it may be overwritten.
REPORT_GENERATOR: Final = "lm-eval-scaling report"
DEFAULT_LAWS: Final = ("compute", "params_tokens", "gold")
_AUTO_KS: Final = (1, 10, 100, 1000)
_DENSE_K_POINTS: Final = 25

FigureFormat = Literal["png", "pdf", "svg"]


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class DefaultInput:
    """Paths of the built-in default tables (``gold`` may be None)."""

    name: str
    counts: Path
    ladder: Path
    gold: Path | None


def _default_candidates() -> list[tuple[str, Path]]:
    # package data (pyproject's package-data), so it is there after a non-editable install
    return [("tiny_ladder", Path(str(resources.files("lm_eval_scaling"))) / "data" / "tiny_ladder")]


def default_input() -> DefaultInput:
    """The built-in default input: the tiny trained ladder shipped as package data in
    ``lm_eval_scaling/data/tiny_ladder/`` (built by ``examples/tiny_ladder/build.py``).

    A candidate counts when its directory holds ``counts.csv`` and ``ladder.csv``
    (``gold.csv`` optional).  Raises InputError naming every place looked at.
    """
    tried = []
    for name, directory in _default_candidates():
        counts, ladder, gold = (directory / f"{t}.csv" for t in ("counts", "ladder", "gold"))
        if counts.is_file() and ladder.is_file():
            return DefaultInput(name=name, counts=counts, ladder=ladder,
                                gold=gold if gold.is_file() else None)
        tried.append(str(directory))
    raise InputError("no INPUT given and no built-in default input found (looked in "
                     + ", ".join(tried) + "); pass a counts table and --ladder")


@dataclass(frozen=True)
class ReportInputs:
    """Validated tables the report runs on, and where they came from (for the page)."""

    counts: pd.DataFrame
    ladder: pd.DataFrame | None = None
    gold: pd.DataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)


def load_report_inputs(
    inputs: Sequence[str | os.PathLike[str]] = (),
    *,
    ladder: str | os.PathLike[str] | pd.DataFrame | None = None,
    gold: str | os.PathLike[str] | pd.DataFrame | None = None,
    parameters: Literal["total", "non_embedding"] = "total",
) -> ReportInputs:
    """Read and validate the report's tables.

    ``inputs``: counts tables or harness output directories (as for every CLI command);
    empty: the built-in default (:func:`default_input`; ``ladder``/``gold`` must then be
    None).  Without ``gold``, the gold log-probabilities found in harness output
    directories (the gold log-likelihood task) are used.  ``ladder``: a ladder table, a DataFrame or the preset ``"pythia"``; None gives a
    pass@k-only report.  ``gold``: a gold table (enables the gold law).
    """
    from ..collect.load import load_tables
    from ..tables.ladder import load_ladder
    from ..tables.schema import read_gold

    sources: dict[str, str] = {}
    if not inputs:
        if ladder is not None or gold is not None:
            raise InputError("--ladder/--gold were given without INPUT: name the counts "
                             "table(s) too, or give none of them to use the built-in default")
        default = default_input()
        log.info("no INPUT given: using the built-in default input %r (%s)", default.name,
                 default.counts.parent)
        inputs = [default.counts]
        ladder, gold = default.ladder, default.gold
        sources["input"] = f"built-in default ({default.name})"
    counts, collected_gold = load_tables(list(inputs))
    sources["counts"] = ", ".join(str(p) for p in inputs)
    ladder_table = None
    if ladder is not None:
        ladder_table = load_ladder(ladder, parameters=parameters)
        sources["ladder"] = "<DataFrame>" if isinstance(ladder, pd.DataFrame) else str(ladder)
        if parameters != "total":
            sources["ladder"] += f" ({parameters} parameters)"
    gold_table = None
    if gold is not None:
        gold_table = read_gold(gold)
        sources["gold"] = "<DataFrame>" if isinstance(gold, pd.DataFrame) else str(gold)
    elif collected_gold is not None:
        gold_table = collected_gold
        sources["gold"] = "the gold log-likelihood task of the harness output"
        log.info("using the gold log-probabilities found in the harness output directories")
    return ReportInputs(counts=counts, ladder=ladder_table, gold=gold_table, sources=sources)


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """What the report computes.  Defaults match the CLI commands' defaults.

    ``ks``: None picks powers of ten up to 1000 that do not exceed the median number of
    samples per problem (so that most problems define pass@k).  ``laws``: laws to fit
    (a law using the gold covariate is skipped with a note when there is no gold table,
    unless asked for explicitly).  ``fit``: how every fit is made (:class:`FitOptions`:
    loss, grid, short-problem policy, problem-bootstrap refits, CI level, seed, worker
    processes), the same value for the fits, the backtest and the envelope.  ``n_boot``:
    the pass@k bootstrap resamples (as ``passk``; 0 = no pass@k CIs), at level
    ``fit.ci`` seeded by ``fit.seed``.  ``sensitivity``: also refit under the analysis
    choices that move the numbers (:func:`lm_eval_scaling.analysis.sensitivity.sensitivity_table`).
    """

    ks: tuple[int, ...] | None = None
    laws: tuple[str, ...] | None = None
    target: str | None = None
    exclude: tuple[str, ...] = ()
    fit: FitOptions = field(default_factory=FitOptions)
    n_boot: int = 1000
    backtest: bool = True
    sensitivity: bool = True
    figure_formats: tuple[FigureFormat, ...] = ("png",)
    dpi: int = 200
    problems: ProblemMode = "intersect"

    def __post_init__(self) -> None:
        if self.ks is not None and (not self.ks or min(self.ks) < 1):
            raise InputError(f"ReportOptions field 'ks': integers >= 1, got {self.ks}")
        if not isinstance(self.fit, FitOptions):
            raise InputError(f"ReportOptions field 'fit': a FitOptions, got "
                             f"{type(self.fit).__name__}")
        if self.n_boot < 0:
            raise InputError(f"ReportOptions field 'n_boot': bootstrap resamples >= 0, got "
                             f"{self.n_boot}")
        bad = [f for f in self.figure_formats if f not in ("png", "pdf", "svg")]
        if bad:
            raise InputError(f"ReportOptions field 'figure_formats': png, pdf or svg, got {bad}")
        if not 50 <= self.dpi <= 1200:
            raise InputError(f"ReportOptions field 'dpi': in [50, 1200], got {self.dpi}")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ReportResults:
    """Everything the report shows.  ``notes`` explain what was skipped and why."""

    inputs: ReportInputs
    options: ReportOptions
    ks: tuple[int, ...]
    laws: tuple[str, ...]
    passk: pd.DataFrame
    passk_dense: pd.DataFrame
    points: pd.DataFrame | None
    fits: tuple[FitResult, ...]
    backtest: BacktestResult | None
    envelopes: dict[int, Envelope]
    envelope_tables: dict[str, pd.DataFrame] | None
    gold_summary: pd.DataFrame | None
    notes: tuple[str, ...]
    sensitivity: pd.DataFrame | None = None


def auto_ks(counts: pd.DataFrame) -> tuple[int, ...]:
    """Powers of ten up to 1000 that do not exceed the median samples per problem."""
    median = float(np.median(counts["num_samples"].to_numpy(np.float64))) if len(counts) else 1.0
    ks = tuple(k for k in _AUTO_KS if k <= median)
    return ks or (1,)


def dense_ks(counts: pd.DataFrame, n: int = _DENSE_K_POINTS) -> list[int]:
    """A log grid of k for the pass@k-vs-k figure, up to the largest k that some
    checkpoint defines for every problem."""
    per_ckpt = counts.groupby(["model", "revision", "task"])["num_samples"].min()
    top = int(per_ckpt.max()) if len(per_ckpt) else 1
    return sorted({int(v) for v in np.round(np.geomspace(1, max(top, 1), n))})


def compute_report(
    inputs: ReportInputs,
    options: ReportOptions | None = None,
    *,
    progress: bool = False,
) -> ReportResults:
    """Run the analyses the report shows (no file is written).

    pass@k with bootstrap CIs (as ``lm-eval-scaling passk``), the points and fits of every
    law and k (as ``lm-eval-scaling fit``), the backtest (as ``lm-eval-scaling
    backtest``), and the compute-optimal envelope of every converged params+tokens fit.
    Steps whose inputs are missing are skipped with a note.
    """
    from tqdm import tqdm

    opts = options or ReportOptions()
    fit_opts = opts.fit
    counts = align_problems(inputs.counts, opts.problems, exclude=opts.exclude)
    gold = (None if inputs.gold is None else
            align_problems(inputs.gold, opts.problems, exclude=opts.exclude, what="gold"))
    inputs = replace(inputs, counts=counts, gold=gold)
    ladder = inputs.ladder
    notes: list[str] = []
    ks = tuple(sorted(set(opts.ks))) if opts.ks is not None else auto_ks(counts)
    if opts.ks is None:
        log.info("k values chosen from the samples per problem: %s", ", ".join(map(str, ks)))
    laws = _laws(opts, ladder is not None, gold is not None, notes)
    steps = tqdm(total=4, desc="report", unit="step", disable=not progress, leave=False)
    try:
        steps.set_postfix_str("pass@k")
        passk = passk_table(counts, list(ks), ci=fit_opts.ci if opts.n_boot else None,
                            n_boot=opts.n_boot, seed=fit_opts.seed, policy=fit_opts.policy,
                            estimator=fit_opts.estimator, hierarchical=fit_opts.hierarchical)
        with _quiet("lm_eval_scaling.passk.benchmark"):  # NaN beyond each checkpoint's samples: by design
            passk_dense = passk_table(counts, dense_ks(counts), ci=None, policy="drop_k")
        _note_short_problems(passk, fit_opts.policy, notes)
        if not (passk["pass_at_k"] > 0).any():
            raise InputError(
                f"no checkpoint has a positive pass@k at k = {', '.join(map(str, ks))} (every "
                "value is 0 or undefined because problems have fewer samples than k): nothing "
                "to report; choose smaller --k")
        steps.update()

        points = None
        sensitivity = None
        fits: tuple[FitResult, ...] = ()
        gold_summary = None
        if gold is not None:
            from ..passk.gold import gold_summary as summarise

            gold_summary = summarise(gold)
        if ladder is None:
            notes.append("No ladder table (--ladder): pass@k only; the fits, backtest and "
                         "envelope need parameters and tokens per checkpoint.")
        else:
            from ..analysis.fits import fit_table
            from ..analysis.points import passk_points

            steps.set_postfix_str("fits")
            points = passk_points(counts, ladder, ks=list(ks), gold=gold, exclude=opts.exclude,
                                  passk=passk, **fit_opts.points_kwargs())
            if laws:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # non-convergence is reported in notes
                    fits = tuple(fit_table(points, laws=laws, options=fit_opts, counts=counts,
                                           gold=gold, warn=False))
                _note_fits(fits, laws, ks, notes)
                if opts.sensitivity:
                    from ..analysis.sensitivity import sensitivity_table
                    from ..fit.laws import get_law

                    with warnings.catch_warnings(), _quiet("lm_eval_scaling.passk.benchmark"):
                        warnings.simplefilter("ignore")
                        sensitivity = sensitivity_table(
                            counts, ladder, laws=[law for law in laws if get_law(law).per_k],
                            ks=list(ks), gold=gold, exclude=opts.exclude, options=fit_opts)
        steps.update()

        steps.set_postfix_str("backtest")
        backtest_result = _run_backtest(opts, laws, points, fits, counts, notes, progress)
        steps.update()

        steps.set_postfix_str("envelope")
        envelopes, envelope_tables = _envelopes(opts, fits, points, notes)
        steps.update()
    finally:
        steps.close()
    return ReportResults(
        inputs=inputs, options=opts, ks=ks, laws=laws, passk=passk, passk_dense=passk_dense,
        points=points, fits=fits, backtest=backtest_result, envelopes=envelopes,
        envelope_tables=envelope_tables, gold_summary=gold_summary,
        notes=tuple(notes), sensitivity=sensitivity,
    )


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Hold back warnings of logger ``name`` (repeats of a warning already given)."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


def _laws(opts: ReportOptions, has_ladder: bool, has_gold: bool, notes: list[str]) -> tuple[str, ...]:
    if not has_ladder:
        if opts.laws:
            raise InputError(f"fitting {', '.join(opts.laws)} needs a ladder table (--ladder)")
        return ()
    from ..fit.laws import get_law

    laws = tuple(dict.fromkeys(opts.laws or DEFAULT_LAWS))
    gold_laws = [law for law in laws if get_law(law).needs_gold]  # unknown: InputError
    if gold_laws and not has_gold:
        if opts.laws:
            raise InputError(f"the {gold_laws[0]} law needs gold log-probabilities (--gold FILE)")
        notes.append("No gold table (--gold): the gold law (figure 4) is skipped.")
        laws = tuple(law for law in laws if law not in gold_laws)
    return laws


def _note_short_problems(passk: pd.DataFrame, policy: str, notes: list[str]) -> None:
    short = passk[passk["num_problems_excluded"] > 0]
    if short.empty:
        return
    ks = ", ".join(str(int(k)) for k in sorted(short["k"].unique()))
    notes.append(
        f"{len(short)} of {len(passk)} (checkpoint, k) rows (k = {ks}) involve problems with "
        f"fewer samples than k; policy {policy!r} "
        + ("leaves those problems out of the mean, which can bias pass@k when the number of "
           "samples depended on the problem (adaptive sampling)." if policy == "drop_problems"
           else "reports no value for those rows.")
    )


def _note_fits(fits: Sequence[FitResult], laws: Sequence[str], ks: Sequence[int],
               notes: list[str]) -> None:
    from ..fit.laws import get_law

    have = {(f.law, int(f.k)) for f in fits if f.k is not None}
    missing = [f"{law} at k={k}" for law in laws for k in ks
               if get_law(law).per_k and (law, k) not in have]
    if missing:
        notes.append("No fit (fewer usable points than parameters): " + "; ".join(missing) + ".")
    failed = [f"{f.law} at k={f.k}" for f in fits if not f.converged]
    if failed:
        notes.append("Fits that did not converge (drawn dashed/hollow; their parameters are "
                     "not trustworthy): " + "; ".join(failed) + ".")


def _run_backtest(opts: ReportOptions, laws: Sequence[str], points: pd.DataFrame | None,
                  fits: Sequence[FitResult], counts: pd.DataFrame, notes: list[str],
                  progress: bool) -> BacktestResult | None:
    if points is None:
        return None
    if not opts.backtest:
        notes.append("Backtest not run (--no-backtest): figures 5 and 6 are skipped.")
        return None
    from ..fit.laws import get_law

    bt_laws = [law for law in laws if get_law(law).backtestable]
    if not bt_laws:
        notes.append("No backtestable law requested: figures 5 and 6 are skipped.")
        return None
    from ..analysis.backtest import backtest

    def run(run_laws: Sequence[str]) -> BacktestResult:
        return backtest(points, laws=list(run_laws), target=opts.target,
                        options=opts.fit.with_(bootstrap=0),
                        fits=[f for f in fits if f.law in run_laws], counts=counts,
                        progress=progress)

    try:
        try:
            result = run(bt_laws)
        except InputError as exc:
            # e.g. the gold table lacks the target: backtest the other laws, say why
            gold_laws = [law for law in bt_laws if get_law(law).needs_gold]
            if not gold_laws or "gold" not in str(exc) or len(gold_laws) == len(bt_laws):
                raise
            notes.append(f"The gold law is not backtested: {exc}")
            result = run([law for law in bt_laws if law not in gold_laws])
    except (InputError, FitError) as exc:
        if opts.target is not None:
            raise
        notes.append(f"Backtest skipped: {exc}")
        return None
    if result.rows.empty:
        notes.append("Backtest skipped: no checkpoint is cheaper than the target "
                     f"{result.target!r}.")
        return None
    return result


def _envelopes(opts: ReportOptions, fits: Sequence[FitResult], points: pd.DataFrame | None,
               notes: list[str],
               ) -> tuple[dict[int, Envelope], dict[str, pd.DataFrame] | None]:
    """Envelopes of the converged params+tokens fits (for figure 7) and the tables of
    ``lm-eval-scaling envelope`` (summary, budgets, checkpoints) from the same fits."""
    from ..analysis.envelope import envelope_from_fit

    pt_fits = sorted((f for f in fits if f.law == "params_tokens" and f.k is not None),
                     key=lambda f: f.k or 0)
    if points is None or not pt_fits:
        if points is not None and "params_tokens" in {f.law for f in fits} | set(opts.laws or ()):
            notes.append("No params+tokens fit: the compute-optimal envelope (figure 7) is "
                         "skipped.")
        return {}, None
    envs: dict[int, Envelope] = {}
    for fit in pt_fits:
        k = int(fit.k or 0)
        if not fit.converged:
            notes.append(f"The params+tokens fit at k={k} did not converge: no envelope at k={k}.")
            continue
        try:
            envs[k] = envelope_from_fit(fit)
        except InputError as exc:
            notes.append(f"No envelope at k={k}: {exc}")
            continue
        _note_far_ridge(envs[k], k, points, notes)
    from ..analysis.envelope_tables import envelope_tables

    tables = envelope_tables(points, fits)
    if tables["summary"].empty:
        return envs, None
    return envs, tables


def _note_far_ridge(env: Envelope, k: int, points: pd.DataFrame, notes: list[str]) -> None:
    """Say so when the ridge N*(C) at the ladder's largest compute lies more than a decade
    outside the ladder's model sizes: the fit then does not pin down the N-D trade-off."""
    used = points[~points["user_excluded"].to_numpy(bool)]
    n = used["parameters"].to_numpy(np.float64)
    c_max = float(used["compute"].max())
    n_star = float(env.n_opt(c_max))
    if n.min() / 10.0 <= n_star <= n.max() * 10.0:
        return
    notes.append(
        f"At k={k} the envelope puts the compute-optimal size at the ladder's largest compute "
        f"at N* = {format_number(n_star, 3)} parameters, more than 10x outside the ladder's "
        f"sizes ({format_number(n.min(), 3)}–{format_number(n.max(), 3)}): the params+tokens fit does not constrain the "
        "trade-off between N and D here; read figure 7 as an extrapolation.")

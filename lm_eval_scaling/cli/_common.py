"""Helpers shared by the CLI subcommands: option parsing and table output."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from ..errors import InputError
from ..fit.numbers import format_number
from ..tables.files import check_output_file, sidecar_path, write_table_file

__all__ = [
    "EXIT_CODES_HELP",
    "EXIT_EMPTY",
    "EXIT_ERROR",
    "EXIT_OK",
    "add_estimator_arguments",
    "add_fit_arguments",
    "add_law_argument",
    "add_output_argument",
    "add_pooled_refit_argument",
    "add_problems_argument",
    "add_table_arguments",
    "check_bootstrap",
    "check_output",
    "emit_table",
    "fit_options",
    "parse_int_list",
    "positive_int",
    "read_points",
    "seed_int",
]

if TYPE_CHECKING:
    from ..analysis.options import FitOptions

log = logging.getLogger("lm_eval_scaling")

#: Exit codes of every subcommand.
EXIT_OK = 0
#: The command ran but produced nothing (no fit possible, every point censored or excluded).
EXIT_EMPTY = 1
#: Bad input, bad option, or an output that cannot be written; one line on stderr.
EXIT_ERROR = 2
EXIT_CODES_HELP = ("exit codes: 0 success; 1 nothing produced (no fit, no usable point, "
                   "nothing left after --exclude); 2 bad input, bad option or unwritable output")


def check_output(
    output: str | None,
    inputs: Sequence[object],
    sidecars: Sequence[str] = (),
    *,
    table: bool = True,
) -> list[Path]:
    """Check ``-o`` (and the sidecar files written beside it) before any computation;
    returns the sidecar paths (empty without ``-o``)."""
    if not output:
        return []
    side = [sidecar_path(output, name) for name in sidecars]
    check_output_file(output, inputs=inputs, sidecars=side, table=table)
    return side


#: Largest k (and range end) accepted on the command line: pass@k is exact up to n = 1e12.
MAX_K: Final = 10**12
#: Most k values one option may produce (each costs a pass over every problem).
MAX_K_VALUES: Final = 10_000
#: Largest seed: numpy seeds are non-negative, and 2**63 - 1 fits every integer column.
MAX_SEED: Final = 2**63 - 1


def _whole(text: str, part: str) -> int:
    """``"1e4"`` -> 10000; refuses fractions, non-numbers and values above :data:`MAX_K`."""
    try:
        value = int(text)
    except ValueError:
        try:
            f = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers like 1,10,100 (or 1-8, or 1:1e4:24), "
                f"got {part!r}") from None
        if not (math.isfinite(f) and f.is_integer()):
            raise argparse.ArgumentTypeError(f"expected whole numbers, got {part!r}") from None
        value = int(f)
    if value > MAX_K:
        raise argparse.ArgumentTypeError(f"k values must be <= {MAX_K:.0e}, got {text} in {part!r}")
    return value


def parse_int_list(text: str) -> list[int]:
    """``"1,10,100"`` -> ``[1, 10, 100]``; also ``"1-8"`` ranges and ``"1:1e4:24"``
    (24 log-spaced integers from 1 to 10,000, duplicates removed).  Values are bounded by
    :data:`MAX_K` and their number by :data:`MAX_K_VALUES`."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if part.count(":") == 2:
            lo_s, hi_s, num_s = part.split(":")
            lo, hi, num = _whole(lo_s, part), _whole(hi_s, part), _whole(num_s, part)
            if lo < 1 or hi < lo or not 1 <= num <= MAX_K_VALUES:
                raise argparse.ArgumentTypeError(
                    f"log grid LO:HI:NUM needs 1 <= LO <= HI and 1 <= NUM <= {MAX_K_VALUES}, "
                    f"got {part!r}")
            import numpy as np

            vals = np.unique(np.round(np.geomspace(lo, hi, num)).astype(np.int64))
            out.extend(int(v) for v in vals)
        elif "-" in part[1:]:
            lo_s, hi_s = part.split("-", 1)
            lo, hi = _whole(lo_s, part), _whole(hi_s, part)
            if hi - lo + 1 > MAX_K_VALUES:
                raise argparse.ArgumentTypeError(
                    f"range {part!r} has {hi - lo + 1} values; at most {MAX_K_VALUES} "
                    "(use a log grid LO:HI:NUM)")
            out.extend(range(lo, hi + 1))
        else:
            out.append(_whole(part, part))
        if len(out) > MAX_K_VALUES:
            raise argparse.ArgumentTypeError(f"more than {MAX_K_VALUES} k values in {text!r}")
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"k values must be integers >= 1, got {text!r}")
    return sorted(set(out))


def seed_int(text: str) -> int:
    """A bootstrap seed: an integer in [0, 2**63 - 1]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"seeds must be in [0, 2**63 - 1], got {text}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (worker counts, grids)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


#: Fewest bootstrap draws accepted for a percentile interval.
MIN_BOOTSTRAP: Final = 20


def check_bootstrap(n_boot: int, ci: float | None, option: str = "--bootstrap",
                    *, zero_means_off: bool = False) -> None:
    """Refuse a bootstrap too small for a percentile interval (fewer than
    :data:`MIN_BOOTSTRAP` draws, or negative); warn when the interval's tails hold less
    than one draw each (``B < 2 / (1 - ci)``, 40 at 95%).  ``0`` is allowed where it
    switches the bootstrap off."""
    if n_boot == 0 and (zero_means_off or not ci):
        return
    level = ci if ci else 0.95
    if not 0 < level < 1:
        raise InputError(f"--ci must be in (0, 1) (or 0 for none), got {ci}")
    if n_boot < MIN_BOOTSTRAP:
        hint = "; 0 for no bootstrap" if zero_means_off else "; --ci 0 for no intervals"
        raise InputError(f"{option} {n_boot} is too few draws for a {level:.0%} percentile "
                         f"interval: need at least {MIN_BOOTSTRAP}{hint}")
    tails = math.ceil(2.0 / (1.0 - level) - 1e-9)
    if n_boot < tails:
        log.warning("%s %d: a %.0f%% percentile interval from fewer than %d draws has less "
                    "than one draw in each tail; its ends are the extreme draws", option,
                    n_boot, 100 * level, tails)


def add_problems_argument(parser: argparse.ArgumentParser) -> None:
    """``--problems intersect|all``: what to do when checkpoints were scored on different
    problem sets (:func:`lm_eval_scaling.passk.problems.align_problems`)."""
    parser.add_argument(
        "--problems", choices=["intersect", "all"], default="intersect",
        help="checkpoints scored on different problem sets: compare them on the problems "
             "they share (intersect, default; --exclude'd checkpoints do not shrink the "
             "set) or keep every problem (all); either way a warning names them")


def add_output_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=None,
        help=f"write the {what} to FILE (.csv, .tsv or .parquet); default: a readable table on stdout",
    )


def emit_table(
    df: pd.DataFrame,
    output: str | None,
    *,
    display_columns: Sequence[str] | None = None,
    digits: int = 6,
) -> None:
    """Write ``df`` to ``output`` (by extension), or print a readable table to stdout.

    On stdout only ``display_columns`` are shown (all when None); empty ``revision`` /
    ``task`` columns and all-zero count columns are left out to keep it readable.
    """
    if output:
        path = Path(output)
        if path.exists() and path.is_dir():
            raise InputError(f"{path}: is a directory; -o takes a file name")
        write_table_file(df, path)
        return
    shown = df[[c for c in display_columns if c in df.columns]] if display_columns else df.copy()
    for col in ("revision", "task"):
        if col in shown.columns and (shown[col] == "").all():
            shown = shown.drop(columns=col)
    for col in ("num_problems_excluded",):
        if col in shown.columns and (shown[col] == 0).all():
            shown = shown.drop(columns=col)
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
        text = shown.to_string(index=False, float_format=lambda v: format_number(v, digits))
    sys.stdout.write(text + "\n")


# ------------------------------------------------------------------ shared arguments


def add_table_arguments(p: argparse.ArgumentParser, *, ladder_required: bool = True) -> None:
    """INPUT tables, ladder, gold, parameter count and exclusions (every fitting command)."""
    if ladder_required:
        p.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="counts table (.csv/.parquet) or lm_eval output directory")
        p.add_argument("--ladder", required=True, metavar="FILE|pythia",
                       help="ladder table (model, revision, parameters, tokens) or the preset "
                            "'pythia'")
    else:
        p.add_argument("inputs", nargs="*", metavar="INPUT",
                       help="counts table (.csv/.parquet) or lm_eval output directory; "
                            "none: the built-in default input")
        p.add_argument("--ladder", metavar="FILE|pythia", default=None,
                       help="ladder table (model, revision, parameters, tokens) or the preset "
                            "'pythia'; without it the report shows pass@k only")
    p.add_argument("--gold", metavar="FILE", default=None,
                   help="gold table (model, revision, task, problem_id, gold_logprob); needed "
                        "by the gold law (default: the gold task found in INPUT directories)")
    p.add_argument("--parameters", choices=["total", "non_embedding"], default="total",
                   help="parameter count used for N and C = 6ND (default total, as in the paper)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out checkpoints whose name matches GLOB (repeatable), "
                        "e.g. '*_2M' for the untrained step-1 Pythia checkpoints")
    add_problems_argument(p)


def add_law_argument(p: argparse.ArgumentParser, *, default: Sequence[str] | None,
                     default_text: str) -> None:
    """``--law LAW,LAW``, its help listing the registered laws."""
    from ..fit.laws import law_names

    p.add_argument("--law", type=parse_law_list, default=default, metavar="LAW,LAW",
                   help=f"{', '.join(law_names())} ({default_text})")


def parse_law_list(text: str) -> list[str]:
    """``"compute,gold"`` -> ``["compute", "gold"]``, checked against the registered laws."""
    from ..fit.laws import law_names

    laws = [p.strip() for p in text.split(",") if p.strip()]
    bad = [law for law in laws if law not in law_names()]
    if not laws or bad:
        raise argparse.ArgumentTypeError(
            f"unknown law(s) {bad or [text]}; choose from {', '.join(law_names())}")
    return list(dict.fromkeys(laws))


def add_fit_arguments(p: argparse.ArgumentParser, *, bootstrap: str | None = None,
                      bootstrap_help: str = "bootstrap over problems with B refits for "
                                            "parameter CIs (default 0: standard errors only)",
                      ) -> None:
    """The fields of :class:`~lm_eval_scaling.analysis.options.FitOptions`, with its defaults;
    ``bootstrap`` names the flag of the problem-bootstrap refits (None: not offered)."""
    d = _fit_defaults()
    p.add_argument("--loss", choices=["huber", "squared"], default=d["loss"],
                   help=f"loss on log residuals (default {d['loss']})")
    p.add_argument("--delta", type=float, default=d["delta"],
                   help=f"Huber threshold (default {d['delta']:g})")
    p.add_argument("--grid", type=_grid, default=d["grid"],
                   help="starting points: auto (default), full, or a number of starts")
    p.add_argument("--bound", action="append", default=[], type=_bound, metavar="PARAM=LO:HI",
                   help="bound a parameter in natural units, e.g. E0=0:2 or alpha=:1 "
                        "(repeatable; applies to every law with that parameter)")
    p.add_argument("--policy", choices=["drop_problems", "drop_k", "error"],
                   default=d["policy"],
                   help="problems with fewer samples than k: leave them out of that k "
                        "(default), drop the (checkpoint, k) point, or fail")
    add_estimator_arguments(p, default=d["estimator"])
    if bootstrap is not None:
        p.add_argument(bootstrap, dest="fit_bootstrap", type=int, default=d["bootstrap"],
                       metavar="B", help=bootstrap_help)
    p.add_argument("--gold-problems", choices=["same", "all"], default=d["gold_problems"],
                   help="problems the gold covariate averages over: those each checkpoint was "
                        "sampled on, as pass@k (default), or every problem of the gold table")
    p.add_argument("--gold-covariate", default=d["gold_covariate"],
                   choices=["neg_log_gold_prob", "nll_per_token", "nll_per_byte"],
                   help="the gold law's covariate: -log of the mean gold probability "
                        "(default), or the gold references' NLL per token / per byte (need "
                        "gold_tokens / gold_bytes columns)")
    p.add_argument("--chance-level", type=float, default=d["chance_level"], metavar="Q",
                   help="the task's chance level; the direct laws fit -log of pass@k "
                        "normalised against it, without points within 5%% of it (default "
                        f"{d['chance_level']:g}: generative tasks such as GSM8K)")
    p.add_argument("--ci", type=float, default=d["ci"],
                   help=f"confidence level (default {d['ci']})")
    p.add_argument("--seed", type=seed_int, default=d["seed"],
                   help=f"bootstrap seed (default {d['seed']})")
    add_jobs_argument(p)


def add_jobs_argument(p: argparse.ArgumentParser, what: str = "worker processes") -> None:
    """``--jobs``, with :class:`~lm_eval_scaling.analysis.options.FitOptions`' default."""
    p.add_argument("--jobs", type=positive_int, default=_fit_defaults()["n_jobs"],
                   help=f"{what} (default: up to 2)")


def add_estimator_arguments(p: argparse.ArgumentParser, *, default: str = "unbiased") -> None:
    """``--estimator`` and ``--hierarchical`` (pass@k beyond the samples drawn; bootstrap kind)."""
    p.add_argument("--estimator", choices=["unbiased", "beta_binomial", "pooled"],
                   default=default,
                   help="pass@k estimator: unbiased (default; problems with fewer samples than "
                        "k follow --policy), beta_binomial (such problems get their pass@k "
                        "from a success-probability model fitted to all problems of the "
                        "checkpoint, so every problem counts at every k) or pooled (the same "
                        "with one model fitted to all checkpoints of a task, sharing each "
                        "problem's ease, and the extrapolation beyond each checkpoint's own "
                        "pass@n smoothed across checkpoints; every bootstrap resample refits "
                        "it, seconds each)")
    p.add_argument("--hierarchical", action="store_true",
                   help="bootstrap over problems and then each problem's correct count given "
                        "its samples (adds sampling noise; default: problems only)")


def add_pooled_refit_argument(p: argparse.ArgumentParser) -> None:
    """``--pooled-refit`` (commands that backtest)."""
    from ..analysis.options import POOLED_REFITS

    p.add_argument("--pooled-refit", choices=POOLED_REFITS,
                   default=_fit_defaults()["pooled_refit"],
                   help="with --estimator pooled, what the backtest refits the pooled model "
                        "to: the checkpoints up to each cap (cap, default: one fit per "
                        "distinct cap, a forecast sees nothing above its cap) or those "
                        "cheaper than each target (target: one fit per target, faster, but "
                        "the checkpoints between a cap and the target still inform the "
                        "problems' eases)")


def fit_options(args: argparse.Namespace, **overrides: Any) -> FitOptions:
    """The one :class:`FitOptions` of a command, from :func:`add_fit_arguments`'s flags."""
    from ..analysis.options import FitOptions

    fields: dict[str, Any] = {
        "loss": args.loss, "delta": args.delta, "grid": args.grid, "policy": args.policy,
        "bounds": dict(args.bound), "bootstrap": getattr(args, "fit_bootstrap", 0),
        "ci": args.ci, "seed": args.seed, "n_jobs": args.jobs,
        "gold_problems": args.gold_problems, "gold_covariate": args.gold_covariate,
        "chance_level": args.chance_level, "estimator": args.estimator,
        "hierarchical": args.hierarchical,
        "pooled_refit": getattr(args, "pooled_refit", _fit_defaults()["pooled_refit"]),
    }
    fields.update(overrides)
    return FitOptions(**fields)


def read_points(args: argparse.Namespace, options: FitOptions,
                ) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """``(counts, gold, points)`` from :func:`add_table_arguments`'s flags and ``--k``: the
    counts (tables or harness output directories), the gold table (``--gold``, or else
    the gold task found in INPUT directories; None without), and the points table of
    counts, ladder and gold, joined once (the problem bootstraps resample counts and gold)."""
    from ..analysis.points import passk_points
    from ..collect.load import load_tables
    from ..passk.problems import align_problems
    from ..tables.ladder import load_ladder
    from ..tables.schema import read_gold

    ladder = load_ladder(args.ladder, parameters=args.parameters)
    counts, collected_gold = load_tables(args.inputs)
    counts = align_problems(counts, args.problems, exclude=args.exclude)
    gold = read_gold(args.gold) if args.gold else collected_gold
    if gold is not None:
        gold = align_problems(gold, args.problems, exclude=args.exclude, what="gold")
    points = passk_points(counts, ladder, ks=args.k, gold=gold, exclude=args.exclude,
                          **options.points_kwargs())
    return counts, gold, points


def _fit_defaults() -> dict[str, Any]:
    from dataclasses import fields

    from ..analysis.options import FitOptions

    return {f.name: f.default for f in fields(FitOptions)}


#: Most starting points ``--grid N`` may ask for (each is a full optimisation).
MAX_GRID: Final = 100_000


def _grid(text: str) -> str | int:
    if text in ("auto", "full"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected auto, full or a number of starts, got {text!r}") from None
    if not 1 <= value <= MAX_GRID:
        raise argparse.ArgumentTypeError(f"a number of starts in [1, {MAX_GRID}], got {text}")
    return value


def _bound(text: str) -> tuple[str, tuple[float | None, float | None]]:
    name, sep, rng = text.partition("=")
    lo, sep2, hi = rng.partition(":")
    try:
        if not (name.strip() and sep and sep2):
            raise ValueError
        return name.strip(), (float(lo) if lo.strip() else None,
                              float(hi) if hi.strip() else None)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected PARAM=LO:HI (either side may be empty), got {text!r}") from None

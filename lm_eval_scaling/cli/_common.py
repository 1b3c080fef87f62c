"""Helpers shared by the CLI subcommands: option parsing and table output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import InputError
from ..fit.numbers import format_number
from ..tables.files import write_table_file

__all__ = ["add_estimator_arguments", "add_fit_arguments", "add_law_argument", "add_output_argument", "add_table_arguments",
           "emit_table", "fit_options", "parse_int_list", "read_points"]

if TYPE_CHECKING:
    from ..analysis.options import FitOptions


def parse_int_list(text: str) -> list[int]:
    """``"1,10,100"`` -> ``[1, 10, 100]``; also ``"1-8"`` ranges and ``"1:1e4:24"``
    (24 log-spaced integers from 1 to 10,000, duplicates removed)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if part.count(":") == 2:
                lo, hi, num = (float(x) for x in part.split(":"))
                import numpy as np

                vals = np.unique(np.round(np.geomspace(lo, hi, int(num))).astype(int))
                out.extend(int(v) for v in vals)
            elif "-" in part[1:]:
                lo_s, hi_s = part.split("-", 1)
                out.extend(range(int(lo_s), int(hi_s) + 1))
            else:
                out.append(int(float(part)) if float(part).is_integer() else int(part))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers like 1,10,100 (or 1-8, or 1:1e4:24), got {part!r}"
            ) from exc
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"k values must be integers >= 1, got {text!r}")
    return sorted(set(out))


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
    p.add_argument("--seed", type=int, default=d["seed"],
                   help=f"bootstrap seed (default {d['seed']})")
    p.add_argument("--jobs", type=int, default=d["n_jobs"],
                   help="worker processes (default: up to 2)")


def add_estimator_arguments(p: argparse.ArgumentParser, *, default: str = "unbiased") -> None:
    """``--estimator`` and ``--hierarchical`` (pass@k beyond the samples drawn; bootstrap kind)."""
    p.add_argument("--estimator", choices=["unbiased", "beta_binomial"], default=default,
                   help="pass@k estimator: unbiased (default; problems with fewer samples than "
                        "k follow --policy) or beta_binomial (such problems get their pass@k "
                        "from a success-probability model fitted to all problems, so every "
                        "problem counts at every k)")
    p.add_argument("--hierarchical", action="store_true",
                   help="bootstrap over problems and then each problem's correct count given "
                        "its samples (adds sampling noise; default: problems only)")


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
    from ..tables.ladder import load_ladder
    from ..tables.schema import read_gold

    counts, collected_gold = load_tables(args.inputs)
    ladder = load_ladder(args.ladder, parameters=args.parameters)
    gold = read_gold(args.gold) if args.gold else collected_gold
    points = passk_points(counts, ladder, ks=args.k, gold=gold, exclude=args.exclude,
                          **options.points_kwargs())
    return counts, gold, points


def _fit_defaults() -> dict[str, Any]:
    from dataclasses import fields

    from ..analysis.options import FitOptions

    return {f.name: f.default for f in fields(FitOptions)}


def _grid(text: str) -> str | int:
    if text in ("auto", "full"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected auto, full or a number of starts, got {text!r}") from None


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

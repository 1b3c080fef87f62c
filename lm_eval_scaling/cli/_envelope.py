"""``lm-eval-scaling envelope``: the compute-optimal envelope of the params_tokens fits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._common import (
    EXIT_EMPTY,
    add_fit_arguments,
    add_table_arguments,
    check_output,
    fit_options,
    parse_int_list,
    read_points,
)

__all__ = ["register"]


def _float_list(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers like 1e21,1e22, got {text!r}") from exc
    if not vals or min(vals) <= 0:
        raise argparse.ArgumentTypeError(f"budgets must be > 0, got {text!r}")
    return vals


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "envelope",
        help="compute-optimal envelope of the params_tokens law, per k",
        description=(
            "Per k: fit the params_tokens and compute laws; report the envelope's alpha "
            "(beta gamma / (beta + gamma)) next to the compute law's fitted alpha, the "
            "optimal N*/D* split at chosen budgets, and for every checkpoint its "
            "misallocation ratio r = N / N*(C), penalty Phi(r) and effective compute."
        ),
    )
    add_table_arguments(p)
    p.add_argument("--k", type=parse_int_list, default=[1, 10, 100], metavar="K,K,...",
                   help="k values: 1,10,100 (default), ranges 1-8, or log grids 1:1e4:24")
    p.add_argument("--budgets", type=_float_list, default=None, metavar="C,C,...",
                   help="compute budgets in FLOP for N*/D* (default: the largest checkpoint "
                        "compute times 1, 10 and 100)")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the per-checkpoint table to FILE (.csv/.tsv/.parquet) and the "
                        "per-k summary and budgets tables beside it (stem + '_summary', "
                        "'_budgets'); default: print all three")
    add_fit_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.envelope_tables import envelope_tables
    from ..analysis.fits import fit_table
    from ..tables.files import output_lock, write_table_file

    options = fit_options(args)
    names = ("summary", "budgets")
    sidecars = check_output(args.output, [*args.inputs, args.ladder, args.gold], names)
    _, _, points = read_points(args, options)
    fits = fit_table(points, laws=["params_tokens", "compute"], options=options, warn=False)
    tables = envelope_tables(points, fits, budgets=args.budgets)
    if args.output:
        with output_lock(Path(args.output).parent):  # the three, never mixed with another run's
            write_table_file(tables["checkpoints"], args.output)
            for name, path in zip(names, sidecars):
                write_table_file(tables[name], path)
    _print(tables, full=not args.output)
    return EXIT_EMPTY if tables["summary"].empty else 0


def _print(tables: dict[str, Any], *, full: bool) -> None:
    import pandas as pd

    from ..analysis.envelope_tables import ENVELOPE_CAVEAT
    from ..fit.numbers import format_number

    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200):
        fmt = {"float_format": format_number, "index": False}
        sys.stdout.write("per k: envelope of params_tokens vs fitted compute law\n")
        sys.stdout.write(tables["summary"].to_string(**fmt) + "\n")
        summary = tables["summary"]
        sys.stdout.write(f"caveat: {ENVELOPE_CAVEAT}")
        if len(summary) and summary["far_from_ridge"].any():
            sys.stdout.write(f"; here the checkpoints are misallocated by r = "
                             f"{format_number(summary['ratio_min'].min(), 2)} to "
                             f"{format_number(summary['ratio_max'].max(), 2)} (far from the ridge)")
        sys.stdout.write("\n\noptimal split\n")
        sys.stdout.write(tables["budgets"].to_string(**fmt) + "\n")
        budgets = tables["budgets"]
        if len(budgets) and ((budgets["n_outside_data"] > 0) | (budgets["d_outside_data"] > 0)).any():
            sys.stdout.write("warning: N* or D* lies outside the fitted checkpoints' range "
                             "(n_outside_data / d_outside_data, orders of magnitude)\n")
        if len(budgets) and budgets["worse_than_measured"].any():
            sys.stdout.write("warning: the 'optimal' y at some budget is worse than a measured "
                             "checkpoint that cost no more (worse_than_measured)\n")
        if full:
            sys.stdout.write("\ncheckpoints: misallocation ratio, penalty, effective compute\n")
            sys.stdout.write(tables["checkpoints"].to_string(**fmt) + "\n")

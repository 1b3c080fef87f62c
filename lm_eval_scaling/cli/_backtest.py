"""``lm-eval-scaling backtest``: forecast the most expensive checkpoint from cheaper ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import (
    add_fit_arguments,
    add_law_argument,
    add_table_arguments,
    fit_options,
    parse_int_list,
    read_points,
)

__all__ = ["register"]

ROW_COLUMNS = ("law", "k", "c_max", "compute_ratio", "n_points", "predicted", "actual",
               "relative_error", "converged")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "backtest",
        help="backtest the laws: fit below a compute cap, predict the target",
        description=(
            "For every compute cap below the target's compute (one per distinct checkpoint "
            "compute), fit each law on the checkpoints with C <= cap and predict the target's "
            "-log pass@k.  The gold law predicts from the target's own "
            "-log GoldProb.  Writes one row per (law, k, cap) with every fitted parameter; "
            "prints a summary of error and stability horizons per (law, k)."
        ),
    )
    add_table_arguments(p)
    p.add_argument("--target", default=None, metavar="CKPT",
                   help="checkpoint to forecast, MODEL or MODEL@REVISION (default: the most "
                        "expensive)")
    add_law_argument(p, default=None,
                     default_text="default compute,params_tokens, plus gold with gold tables")
    p.add_argument("--k", type=parse_int_list, default=[1, 10, 100], metavar="K,K,...",
                   help="k values: 1,10,100 (default), ranges 1-8, or log grids 1:1e4:24")
    p.add_argument("--threshold", type=float, default=0.1,
                   help="relative error under which a forecast counts as reliable (default 0.1)")
    p.add_argument("--stability", type=float, default=0.1,
                   help="relative distance to the full-fit parameters counted as stable "
                        "(default 0.1)")
    add_fit_arguments(p)
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write every row (.csv/.tsv/.parquet) to FILE and the summary beside it "
                        "(FILE stem + '_summary'); default: print rows and summary")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..analysis.backtest import backtest
    from ..fit.numbers import format_number
    from ..tables.files import write_table_file

    options = fit_options(args)
    _, points = read_points(args, options)
    has_gold = bool(points["neg_log_gold_prob"].notna().any())
    laws = args.law or (["compute", "params_tokens"] + (["gold"] if has_gold else []))
    result = backtest(points, laws=laws, target=args.target, options=options,
                      progress=sys.stderr.isatty())
    summary = result.summary(threshold=args.threshold, stability=args.stability)
    if args.output:
        path = Path(args.output)
        write_table_file(result.rows, path)
        suffix = "".join(path.suffixes) or ".csv"
        stem = path.name[: len(path.name) - len("".join(path.suffixes))] if path.suffixes else path.name
        write_table_file(summary, path.with_name(f"{stem}_summary{suffix}"))
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200):
        out = sys.stdout
        out.write(f"target {result.target} (C = {format_number(result.target_compute)} FLOP)\n")
        if not args.output:
            rows = result.rows[list(ROW_COLUMNS)]
            out.write(rows.to_string(index=False, float_format=format_number) + "\n\n")
        shown = summary.drop(columns=[c for c in ("task",) if (summary.get(c, "") == "").all()])
        out.write(shown.to_string(index=False, float_format=format_number) + "\n")
    return 0

"""``lm-eval-scaling backtest``: forecast the largest checkpoints from cheaper ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import (
    EXIT_EMPTY,
    add_fit_arguments,
    add_law_argument,
    add_pooled_refit_argument,
    add_table_arguments,
    check_output,
    fit_options,
    parse_int_list,
    read_points,
)

__all__ = ["register"]

ROW_COLUMNS = ("target", "law", "k", "c_max", "compute_ratio", "n_points", "predicted",
               "actual", "relative_error", "error_ci_low", "error_ci_high", "converged")
SUMMARY_HIDDEN = ("task", "threshold", "stability", "horizon_rule", "stable_on")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "backtest",
        help="backtest the laws: fit below a compute cap, predict the targets",
        description=(
            "For every target and every compute cap below its compute (one per distinct "
            "checkpoint compute), fit each law on the checkpoints with C <= cap and predict "
            "the target's -log pass@k.  The gold law predicts from the target's own gold "
            "covariate.  The naive forecasters 'persistence' (the most expensive checkpoint "
            "under the cap) and 'trend' (log-log line over the last decade under the cap) "
            "are backtested beside the laws.  Writes one row per (target, law, k, cap) with "
            "every fitted parameter; prints a summary of error and stability horizons per "
            "(target, law, k) and whether each law beats the baselines.  With --estimator "
            "pooled the points below each cap get their pass@k from a pooled model refitted "
            "to the checkpoints up to that cap (one fit per distinct cap; --pooled-refit "
            "target: one per target)."
        ),
    )
    add_table_arguments(p)
    p.add_argument("--targets", "--target", dest="targets", default=None, metavar="CKPT,CKPT",
                   help="checkpoints to forecast, MODEL or MODEL@REVISION, comma-separated "
                        "(default: the largest checkpoint of each of the 3 biggest sizes)")
    add_law_argument(p, default=None,
                     default_text="default compute,params_tokens, plus gold with gold tables")
    p.add_argument("--k", type=parse_int_list, default=[1, 10, 100], metavar="K,K,...",
                   help="k values: 1,10,100 (default), ranges 1-8, or log grids 1:1e4:24")
    p.add_argument("--horizon", choices=["plateau", "threshold"], default="plateau",
                   help="error horizon: farthest cap from which every closer forecast is "
                        "within THRESHOLD of the error plateau (median error of the caps within "
                        "--plateau-oom of the closest cap; default), or below THRESHOLD")
    p.add_argument("--threshold", type=float, default=0.1,
                   help="error tolerance of the horizon (default 0.1)")
    p.add_argument("--plateau-oom", type=float, default=0.5,
                   help="orders of magnitude beyond the closest cap whose caps define the plateau "
                        "(default 0.5)")
    p.add_argument("--stable-on", choices=["exponents_pivot", "all"], default="exponents_pivot",
                   help="parameters the stability horizon checks: exponents and pivot "
                        "prefactors (default) or every raw parameter")
    p.add_argument("--stability", type=float, default=0.1,
                   help="relative distance to the full-fit parameters counted as stable "
                        "(default 0.1)")
    p.add_argument("--no-baselines", dest="baselines", action="store_false",
                   help="do not backtest the persistence and trend baselines")
    add_fit_arguments(p, bootstrap="--bootstrap",
                      bootstrap_help="percentile intervals on every forecast error from B refits "
                                     "on resampled problems (default 0: none)")
    add_pooled_refit_argument(p)
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write every row (.csv/.tsv/.parquet) to FILE and the summary beside it "
                        "(FILE stem + '_summary'); default: print rows and summary")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..analysis.backtest import backtest
    from ..errors import InputError
    from ..fit.numbers import format_number
    from ..tables.files import output_lock, write_table_file

    if not (args.threshold > 0 and args.stability > 0):
        raise InputError(f"--threshold and --stability must be > 0, got {args.threshold}, "
                         f"{args.stability}")
    options = fit_options(args)
    sidecars = check_output(args.output, [*args.inputs, args.ladder, args.gold], ["summary"])
    counts, gold, points = read_points(args, options)
    has_gold = bool(points["gold"].notna().any())
    laws = args.law or (["compute", "params_tokens"] + (["gold"] if has_gold else []))
    targets = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None
    result = backtest(points, laws=laws, targets=targets, options=options,
                      baselines=args.baselines, counts=counts, gold=gold,
                      progress=sys.stderr.isatty())
    if result.rows.empty:
        names = ", ".join(name for name, _ in result.targets) or "(none)"
        raise InputError(
            f"nothing to backtest: no checkpoint left below the target(s) {names} (after "
            "--exclude); choose more expensive --targets or exclude less")
    summary = result.summary(threshold=args.threshold, stability=args.stability,
                             horizon=args.horizon, plateau_oom=args.plateau_oom,
                             stable_on=args.stable_on)
    if args.output:
        with output_lock(Path(args.output).parent):  # the pair, never mixed with another run's
            write_table_file(result.rows, args.output)
            write_table_file(summary, sidecars[0])
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200):
        out = sys.stdout
        for name, compute in result.targets:
            out.write(f"target {name} (C = {format_number(compute)} FLOP)\n")
        if not args.output:
            rows = result.rows[list(ROW_COLUMNS)]
            out.write(rows.to_string(index=False, float_format=format_number) + "\n\n")
        shown = summary.drop(columns=[c for c in SUMMARY_HIDDEN if c in summary.columns
                                      and (c != "task" or (summary[c] == "").all())])
        out.write(shown.to_string(index=False, float_format=format_number) + "\n")
    return EXIT_EMPTY if not result.rows["converged"].astype(bool).any() else 0

"""``lm-eval-scaling report``: pass@k, fits, backtests and the envelope as one HTML report."""

from __future__ import annotations

import argparse
import sys

from ._common import parse_int_list

__all__ = ["register"]


def _law_list(text: str) -> list[str]:
    from ._fit import parse_law_list

    return parse_law_list(text)


def _formats(text: str) -> list[str]:
    fmts = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in fmts if f not in ("png", "pdf", "svg")]
    if not fmts or bad:
        raise argparse.ArgumentTypeError(f"figure formats are png, pdf, svg; got {text!r}")
    return list(dict.fromkeys(["png", *fmts]))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="one-command HTML report: pass@k, fits, backtests, envelope, figures",
        description=(
            "Run pass@k, the scaling-law fits, the backtest and the compute-optimal envelope "
            "and write DIR/index.html (self-contained, figures embedded) plus the CSV/JSON "
            "tables it shows and the figures as files.  With no INPUT, runs on the built-in "
            "default ladder.  Refuses to write into a non-empty directory that is not a "
            "previous report unless --force."
        ),
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="counts table (.csv/.parquet) or lm_eval output directory; "
                        "none: the built-in default input")
    p.add_argument("--ladder", metavar="FILE|pythia", default=None,
                   help="ladder table (model, revision, parameters, tokens) or the preset "
                        "'pythia'; without it the report shows pass@k only")
    p.add_argument("--gold", metavar="FILE", default=None,
                   help="gold table (gold_logprob per problem): enables the gold law")
    p.add_argument("--parameters", choices=["total", "non_embedding"], default="total",
                   help="parameter count used for N and C = 6ND (default total)")
    p.add_argument("--target", metavar="CKPT", default=None,
                   help="checkpoint the backtest forecasts (default: the most expensive)")
    p.add_argument("--k", type=parse_int_list, default=None, metavar="K,K,...",
                   help="k values (default: powers of ten up to 1000 not above the median "
                        "samples per problem); ranges 1-8, log grids 1:1e4:24")
    p.add_argument("--law", type=_law_list, default=None, metavar="LAW,LAW",
                   help="laws to fit (default compute,params_tokens,gold; gold only with --gold)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave checkpoints matching GLOB out of fits and backtests (repeatable)")
    p.add_argument("--policy", choices=["drop_problems", "drop_k", "error"],
                   default="drop_problems",
                   help="problems with fewer samples than k (as in passk; default drop_problems)")
    p.add_argument("--ci", type=float, default=0.95,
                   help="confidence level; 0 disables the pass@k bootstrap (default 0.95)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="B",
                   help="pass@k bootstrap resamples over problems (default 1000)")
    p.add_argument("--fit-bootstrap", type=int, default=0, metavar="B",
                   help="problem-bootstrap refits for parameter CIs (default 0: standard errors)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-backtest", dest="backtest", action="store_false",
                   help="skip the backtest (figures 5 and 6)")
    p.add_argument("--format", type=_formats, default=["png"], metavar="FMT,FMT",
                   help="figure files to write besides PNG: pdf, svg (default png only)")
    p.add_argument("--dpi", type=int, default=200, help="PNG resolution (default 200)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: up to 2)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty directory that is not a previous report "
                        "(its other files are left alone)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="report directory")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..report import ReportOptions, build_report

    options = ReportOptions(
        ks=tuple(args.k) if args.k else None,
        laws=tuple(args.law) if args.law else None,
        target=args.target,
        exclude=tuple(args.exclude),
        policy=args.policy,
        ci=args.ci or None,
        n_boot=args.bootstrap,
        seed=args.seed,
        fit_bootstrap=args.fit_bootstrap,
        backtest=args.backtest,
        n_jobs=args.jobs,
        figure_formats=tuple(args.format),
        dpi=args.dpi,
    )
    index = build_report(args.inputs, args.output, ladder=args.ladder, gold=args.gold,
                         parameters=args.parameters, options=options, force=args.force,
                         progress=args.progress and sys.stderr.isatty())
    sys.stdout.write(f"{index}\n")
    return 0

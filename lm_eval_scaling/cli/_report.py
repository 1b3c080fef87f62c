"""``lm-eval-scaling report``: pass@k, fits, backtests and the envelope as one HTML report."""

from __future__ import annotations

import argparse
import sys

from ._common import (
    add_fit_arguments,
    add_law_argument,
    add_pooled_refit_argument,
    add_table_arguments,
    check_bootstrap,
    fit_options,
    parse_int_list,
)

__all__ = ["register"]


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
    add_table_arguments(p, ladder_required=False)
    p.add_argument("--target", metavar="CKPT", default=None,
                   help="checkpoint the backtest forecasts (default: the most expensive)")
    p.add_argument("--k", type=parse_int_list, default=None, metavar="K,K,...",
                   help="k values (default: powers of ten up to 1000 not above the median "
                        "samples per problem); ranges 1-8, log grids 1:1e4:24")
    add_law_argument(p, default=None,
                     default_text="default compute,params_tokens,gold; gold only with gold tables")
    add_fit_arguments(p, bootstrap="--fit-bootstrap")
    add_pooled_refit_argument(p)
    p.add_argument("--bootstrap", type=int, default=1000, metavar="B",
                   help="pass@k bootstrap resamples over problems at level --ci; 0 or --ci 0 "
                        "disables it (default 1000)")
    p.add_argument("--no-backtest", dest="backtest", action="store_false",
                   help="skip the backtest (figures 5 and 6)")
    p.add_argument("--no-sensitivity", dest="sensitivity", action="store_false",
                   help="skip the sensitivity table (refits under other analysis choices)")
    p.add_argument("--format", type=_formats, default=["png"], metavar="FMT,FMT",
                   help="figure files to write besides PNG: pdf, svg (default png only)")
    p.add_argument("--dpi", type=int, default=200, help="PNG resolution (default 200)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty directory that is not a previous report "
                        "(its other files are left alone)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="report directory")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.options import FitOptions
    from ..report import ReportOptions, build_report

    check_bootstrap(args.bootstrap, args.ci)
    check_bootstrap(args.fit_bootstrap, args.ci, "--fit-bootstrap", zero_means_off=True)
    options = ReportOptions(
        ks=tuple(args.k) if args.k else None,
        laws=tuple(args.law) if args.law else None,
        target=args.target,
        exclude=tuple(args.exclude),
        # --ci 0: no pass@k bootstrap (the fits' CI level keeps its default)
        fit=fit_options(args, **({} if args.ci else {"ci": FitOptions().ci})),
        n_boot=args.bootstrap if args.ci else 0,
        backtest=args.backtest,
        sensitivity=args.sensitivity,
        figure_formats=tuple(args.format),
        dpi=args.dpi,
        problems=args.problems,
    )
    index = build_report(args.inputs, args.output, ladder=args.ladder, gold=args.gold,
                         parameters=args.parameters, options=options, force=args.force,
                         progress=args.progress and sys.stderr.isatty())
    sys.stdout.write(f"{index}\n")
    return 0

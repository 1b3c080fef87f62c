"""``lm-eval-scaling predict``: forecasts with intervals from a fits.json."""

from __future__ import annotations

import argparse
import sys

from ._common import check_output, parse_int_list

__all__ = ["PREDICT_COLUMNS", "predict_table", "register"]

PREDICT_COLUMNS = ("law", "k", "C", "N", "D", "gold", "neg_log_pass_at_k", "low", "high",
                   "pass_at_k", "pass_low", "pass_high", "level", "method", "n_draws",
                   "oom_outside_data", "identified")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "predict",
        help="forecast pass@k with an interval from fitted laws (fit -o fits.json)",
        description=(
            "Evaluate the fits of a fits.json (written by `fit -o`; with `fit --bootstrap B` "
            "it stores the B bootstrap draws) at a compute, a parameter/token count or a "
            "gold covariate, and print -log pass@k and pass@k with a percentile interval over "
            "the draws (without draws: a delta-method interval from the sandwich covariance), "
            "and how many orders of magnitude the point lies outside the fitted data."
        ),
    )
    p.add_argument("fits", metavar="FITS.json", help="fits written by `lm-eval-scaling fit -o`")
    p.add_argument("--law", default=None, metavar="LAW,LAW",
                   help="laws to use (default: every fit in the file whose covariates are given)")
    p.add_argument("--k", type=parse_int_list, default=None, metavar="K,K,...",
                   help="k values to use (default: every k in the file)")
    p.add_argument("--compute", type=float, default=None, metavar="C",
                   help="pretraining compute in FLOP (default 6 N D with --params/--tokens)")
    p.add_argument("--params", type=float, default=None, metavar="N", help="parameter count")
    p.add_argument("--tokens", type=float, default=None, metavar="D", help="pretraining tokens")
    p.add_argument("--gold-nll", type=float, default=None, metavar="G",
                   help="the gold law's covariate (the one it was fitted on, e.g. -log GoldProb)")
    p.add_argument("--interval", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the table (.csv/.tsv/.parquet) instead of printing it")
    p.set_defaults(handler=run)


def predict_table(fits: list, *, covariates: dict[str, float], interval: float = 0.95):  # type: ignore[no-untyped-def]
    """One row per fit that has every covariate it needs in ``covariates``."""
    import pandas as pd

    rows = []
    for f in fits:
        spec = f.spec
        if not all(c in covariates for c in spec.covariates if c != "k"):
            continue
        given = {c: covariates[c] for c in spec.covariates if c != "k"}
        if "k" in spec.covariates:
            given["k"] = covariates["k"]
        pred = f.predict(interval=interval, **given)
        v, lo, hi = pred.pass_at_k
        outside = "; ".join(f"{c} {float(d[0]):.2g}" for c, d in pred.oom_outside_data.items())
        rows.append({
            "law": f.law, "k": "all" if f.k is None else int(f.k),
            **{c: covariates.get(c, float("nan")) for c in ("C", "N", "D", "gold")},
            "neg_log_pass_at_k": float(pred.value[0]), "low": float(pred.low[0]),
            "high": float(pred.high[0]), "pass_at_k": float(v[0]), "pass_low": float(lo[0]),
            "pass_high": float(hi[0]), "level": pred.level, "method": pred.method,
            "n_draws": pred.n_draws, "oom_outside_data": outside, "identified": f.identified,
        })
    return pd.DataFrame(rows, columns=list(PREDICT_COLUMNS))


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import pandas as pd

    from ..errors import InputError
    from ..fit.numbers import format_number
    from ..fit.result import FitResult
    from ._common import emit_table

    path = Path(args.fits)
    check_output(args.output, [args.fits])
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read a fits.json ({exc})") from exc
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of fits (lm-eval-scaling fit -o)")
    fits = [FitResult.from_dict(d) for d in data]
    if args.law:
        laws = {x.strip() for x in args.law.split(",") if x.strip()}
        fits = [f for f in fits if f.law in laws]
    if args.k:
        fits = [f for f in fits if f.k is None or int(f.k) in set(args.k)]
    covariates: dict[str, float] = {}
    if args.params is not None:
        covariates["N"] = args.params
    if args.tokens is not None:
        covariates["D"] = args.tokens
    if args.compute is not None:
        covariates["C"] = args.compute
    elif args.params is not None and args.tokens is not None:
        covariates["C"] = 6.0 * args.params * args.tokens
    if args.gold_nll is not None:
        covariates["gold"] = args.gold_nll
    if not covariates:
        raise InputError("give --compute, --params and --tokens, or --gold-nll")
    bad = {c: v for c, v in covariates.items() if not v > 0}
    if bad:
        raise InputError(f"covariates must be > 0, got {bad}")
    if not 0 < args.interval < 1:
        raise InputError(f"--interval must be a level in (0, 1), got {args.interval}")
    table = predict_table(fits, covariates=covariates, interval=args.interval)
    if table.empty:
        raise InputError(f"{path}: no fit (law {args.law or 'any'}, k {args.k or 'any'}) "
                         f"predicts from the covariates given ({', '.join(covariates)})")
    if args.output:
        emit_table(table, args.output)
        return 0
    shown = table.drop(columns=[c for c in ("C", "N", "D", "gold") if table[c].isna().all()])
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 250):
        sys.stdout.write(shown.to_string(index=False, float_format=format_number) + "\n")
    if (table["method"] == "delta").any():
        sys.stdout.write("note: fits without bootstrap draws use a delta-method interval "
                         "(write fits.json with `fit --bootstrap B` for percentile intervals)\n")
    return 0

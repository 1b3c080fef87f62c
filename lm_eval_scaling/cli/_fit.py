"""``lm-eval-scaling fit``: one scaling-law fit per (law, k)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from ..tables.files import sidecar_path
from ._common import (
    EXIT_EMPTY,
    add_fit_arguments,
    add_law_argument,
    add_table_arguments,
    check_bootstrap,
    fit_options,
    parse_int_list,
    read_points,
)

__all__ = ["FITS_FRAME_COLUMNS", "fits_frame", "register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "fit",
        help="fit scaling laws of -log pass@k, one per (law, k)",
        description=(
            "Fit scaling laws to -log pass@k at every k: Huber loss on log residuals, grid of "
            "starts, L-BFGS-B.  Censored points (pass@k = 0) are left out and counted.  Writes a "
            "JSON list of fits with -o; prints a table."
        ),
    )
    add_table_arguments(p)
    add_law_argument(p, default=["compute"], default_text="default compute")
    p.add_argument("--k", type=parse_int_list, default=[1, 10, 100, 1000], metavar="K,K,...",
                   help="k values: 1,10,100,1000 (default), ranges 1-8, or log grids 1:1e4:24")
    add_fit_arguments(p, bootstrap="--bootstrap")
    p.add_argument("--sensitivity", action="store_true",
                   help="also refit under the analysis choices that move the numbers (loss, "
                        "delta, smallest/largest size left out, total vs non-embedding N, "
                        "short-problem policy) and print each law's exponents and irreducible "
                        "term per variant (with -o: also FILE stem + '_sensitivity.csv')")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the fits as a JSON list (FitResult.to_dict) to FILE; with "
                        "--bootstrap B the draws are stored too (for `predict`)")
    p.set_defaults(handler=run)


FITS_FRAME_COLUMNS = ("law", "k", "task", "params", "pivot", "converged", "identified",
                      "at_bound", "n_points", "n_censored", "n_excluded", "r_squared",
                      "identification")


def fits_frame(fits: list[Any]) -> pd.DataFrame:
    """Readable summary of :func:`~lm_eval_scaling.analysis.fits.fit_parameter_table`, one
    row per fit: every parameter with its interval (``0 (at bound)`` with a one-sided
    interval at a bound), the pivot prefactors, convergence, identification and size."""
    import pandas as pd

    from ..analysis.fits import fit_parameter_table

    table = fit_parameter_table(fits)
    rows = []
    for (law, k, task), grp in table.groupby(["law", "k", "task"], sort=False):
        raw = grp[grp["role"] != "pivot"]
        piv = grp[grp["role"] == "pivot"]
        first = grp.iloc[0]
        rows.append({"law": law, "k": "all" if k == -1 else str(k), "task": task,
                     "params": "  ".join(f"{r.parameter}={r.display}" for r in raw.itertuples()),
                     "pivot": "  ".join(f"{r.parameter}={r.display}" for r in piv.itertuples()),
                     "converged": bool(first["converged"]), "identified": bool(first["identified"]),
                     "at_bound": ",".join(raw.loc[raw["at_bound"], "parameter"]),
                     "n_points": first["n_points"], "n_censored": first["n_censored"],
                     "n_excluded": first["n_excluded"], "r_squared": first["r_squared"],
                     "identification": first["identification"]})
    return pd.DataFrame(rows, columns=list(FITS_FRAME_COLUMNS))


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..analysis.fits import fit_table
    from ..fit.numbers import format_number
    from ..tables.files import check_output_file, write_text

    options = fit_options(args)
    check_bootstrap(options.bootstrap, options.ci, zero_means_off=True)
    if args.output:
        check_output_file(args.output, inputs=[*args.inputs, args.ladder, args.gold], table=False,
                          sidecars=[_sensitivity_path(args.output)] if args.sensitivity else [])
    counts, gold, points = read_points(args, options)
    fits = fit_table(points, laws=args.law, options=options, counts=counts, gold=gold)
    if args.output:
        write_text(args.output, json.dumps([f.to_dict() for f in fits], indent=1) + "\n")
    table = fits_frame(fits)
    if "task" in table.columns and (table["task"] == "").all():
        table = table.drop(columns="task")
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 250):
        widths = {c: int(table[c].str.len().max()) if len(table) else 6
                  for c in ("params", "pivot", "identification")}
        sys.stdout.write(table.to_string(
            index=False, justify="left", float_format=format_number,
            formatters={c: (lambda s, w=w: f"{s:<{w}}") for c, w in widths.items()}) + "\n")
    if args.sensitivity:
        _sensitivity(args, options, counts, gold)
    if not fits:
        sys.stderr.write("lm-eval-scaling fit: no fit was possible (too few usable points at "
                         "every law and k)\n")
        return EXIT_EMPTY
    return 0


def _sensitivity_path(output: str) -> Path:
    """``fits.json`` -> ``fits_sensitivity.csv``."""
    return sidecar_path(Path(output).with_suffix(".csv"), "sensitivity")


def _sensitivity(args: argparse.Namespace, options: Any, counts: Any, gold: Any) -> None:
    import pandas as pd

    from ..analysis.sensitivity import sensitivity_table
    from ..fit.numbers import format_number
    from ..tables.files import write_table_file
    from ..tables.ladder import load_ladder

    ladder = load_ladder(args.ladder, parameters=args.parameters)
    table = sensitivity_table(counts, ladder, laws=args.law, ks=args.k, gold=gold,
                              exclude=args.exclude, options=options)
    if args.output:
        write_table_file(table, _sensitivity_path(args.output))
    shown = table.copy()
    shown["value"] = [("0 (at bound)" if b else format_number(v))
                      for v, b in zip(shown["value"], shown["at_bound"])]
    shown = shown.drop(columns=["at_bound", "baseline"])
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 250):
        sys.stdout.write("\nsensitivity: each variant changes one analysis choice\n")
        sys.stdout.write(shown.to_string(index=False, float_format=format_number) + "\n")

"""``lm-eval-scaling fit``: one scaling-law fit per (law, k)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from ._common import (
    add_fit_arguments,
    add_law_argument,
    add_table_arguments,
    fit_options,
    parse_int_list,
    read_tables,
)

__all__ = ["fits_frame", "register"]


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
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the fits as a JSON list (FitResult.to_dict) to FILE")
    p.set_defaults(handler=run)


def fits_frame(fits: list[Any]) -> pd.DataFrame:
    """Readable summary, one row per fit: law, k, task, params (with CIs), converged,
    n_points, n_censored, n_excluded, r_squared."""
    import pandas as pd

    rows = []
    for f in fits:
        parts = []
        for name, value in f.params.items():
            text = f"{name}={value:.4g}"
            if f.ci is not None and name in f.ci:
                text += f" [{f.ci[name][0]:.3g}, {f.ci[name][1]:.3g}]"
            parts.append(text)
        rows.append({"law": f.law, "k": "all" if f.k is None else str(f.k), "task": f.task or "",
                     "params": "  ".join(parts), "converged": f.converged,
                     "n_points": f.n_points, "n_censored": f.n_censored,
                     "n_excluded": len(f.excluded_labels), "r_squared": f.r_squared})
    return pd.DataFrame(rows, columns=["law", "k", "task", "params", "converged", "n_points",
                                       "n_censored", "n_excluded", "r_squared"])


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..analysis.fits import fit_table
    from ..analysis.points import passk_points

    options = fit_options(args)
    counts, ladder, gold = read_tables(args)
    points = passk_points(counts, ladder, ks=args.k, gold=gold, exclude=args.exclude,
                          policy=options.policy)
    fits = fit_table(points, laws=args.law, options=options, counts=counts)
    if args.output:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps([f.to_dict() for f in fits], indent=1) + "\n")
        tmp.replace(path)
    table = fits_frame(fits)
    if "task" in table.columns and (table["task"] == "").all():
        table = table.drop(columns="task")
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 250):
        width = int(table["params"].str.len().max()) if len(table) else 6
        sys.stdout.write(table.to_string(
            index=False, justify="left", float_format=lambda v: f"{v:.4f}",
            formatters={"params": lambda s: f"{s:<{width}}"}) + "\n")
    return 0

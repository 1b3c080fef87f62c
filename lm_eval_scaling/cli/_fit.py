"""``lm-eval-scaling fit``: one scaling-law fit per (law, k)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from ._common import parse_int_list

__all__ = ["add_ladder_arguments", "fits_frame", "register"]


def parse_law_list(text: str) -> list[str]:
    """``"compute,gold"`` -> ``["compute", "gold"]``, checked against the known laws."""
    from ..fit.laws import LAW_NAMES

    laws = [p.strip() for p in text.split(",") if p.strip()]
    bad = [law for law in laws if law not in LAW_NAMES]
    if not laws or bad:
        raise argparse.ArgumentTypeError(
            f"unknown law(s) {bad or [text]}; choose from {', '.join(LAW_NAMES)}")
    return list(dict.fromkeys(laws))


def add_ladder_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by fit, backtest and envelope: ladder, gold, exclusions, policy."""
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="counts table (.csv/.parquet) or lm_eval output directory")
    p.add_argument("--ladder", required=True, metavar="FILE|pythia",
                   help="ladder table (model, revision, parameters, tokens) or the preset 'pythia'")
    p.add_argument("--gold", metavar="FILE", default=None,
                   help="gold table (model, revision, task, problem_id, gold_logprob); "
                        "needed by the gold law")
    p.add_argument("--parameters", choices=["total", "non_embedding"], default="total",
                   help="parameter count used for N and C = 6ND (default total, as in the paper)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out checkpoints whose name matches GLOB (repeatable), "
                        "e.g. '*_2M' for the untrained step-1 Pythia checkpoints")
    p.add_argument("--policy", choices=["drop_problems", "drop_k", "error"],
                   default="drop_problems",
                   help="problems with fewer samples than k: leave them out of that k "
                        "(default), drop the (checkpoint, k) point, or fail")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "fit",
        help="fit scaling laws of -log pass@k, one per (law, k)",
        description=(
            "Fit the scaling laws of SPEC.md (compute, params_tokens, gold and the direct "
            "laws) to -log pass@k at every k: Huber loss on log residuals, grid of starts, "
            "L-BFGS-B.  Censored points (pass@k = 0) are left out and counted.  Writes a "
            "JSON list of fits with -o; prints a table."
        ),
    )
    add_ladder_arguments(p)
    p.add_argument("--law", type=parse_law_list, default=["compute"], metavar="LAW,LAW",
                   help="compute, params_tokens, gold, direct_compute, direct_params_tokens, "
                        "direct_joint (default compute)")
    p.add_argument("--k", type=parse_int_list, default=[1, 10, 100, 1000], metavar="K,K,...",
                   help="k values: 1,10,100,1000 (default), ranges 1-8, or log grids 1:1e4:24")
    p.add_argument("--loss", choices=["huber", "squared"], default="huber")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber threshold (default 1e-3)")
    p.add_argument("--grid", default="auto",
                   help="starting points: auto (default), full, or a number of starts")
    p.add_argument("--bootstrap", type=int, default=0, metavar="B",
                   help="bootstrap over problems with B refits for CIs (default 0: none)")
    p.add_argument("--ci", type=float, default=0.95, help="CI level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: up to 2)")
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


def _grid(text: str) -> str | int:
    if text in ("auto", "full"):
        return text
    try:
        return int(text)
    except ValueError:
        from ..errors import InputError

        raise InputError(f"--grid must be auto, full or a number of starts, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..analysis.fits import fit_table
    from ..collect.load import load_counts
    from ..tables.ladder import load_ladder
    from ..tables.schema import read_gold

    counts = load_counts(args.inputs)
    ladder = load_ladder(args.ladder, parameters=args.parameters)
    gold = read_gold(args.gold) if args.gold else None
    fits = fit_table(counts, ladder, laws=args.law, ks=args.k, gold=gold, exclude=args.exclude,
                     policy=args.policy, loss=args.loss, delta=args.delta, grid=_grid(args.grid),
                     bootstrap=args.bootstrap, ci=args.ci, seed=args.seed, n_jobs=args.jobs)
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

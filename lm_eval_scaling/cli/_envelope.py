"""``lm-eval-scaling envelope``: the compute-optimal envelope of the params_tokens fits."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import parse_int_list
from ._fit import add_ladder_arguments

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["envelope_tables", "register"]


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
            "misallocation ratio r = N / N*(C), penalty Phi(r) and effective compute "
            "(SPEC.md section 5)."
        ),
    )
    add_ladder_arguments(p)
    p.add_argument("--k", type=parse_int_list, default=[1, 10, 100], metavar="K,K,...",
                   help="k values: 1,10,100 (default), ranges 1-8, or log grids 1:1e4:24")
    p.add_argument("--budgets", type=_float_list, default=None, metavar="C,C,...",
                   help="compute budgets in FLOP for N*/D* (default: the largest checkpoint "
                        "compute times 1, 10 and 100)")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the per-checkpoint table to FILE (.csv/.tsv/.parquet) and the "
                        "per-k summary and budgets tables beside it (stem + '_summary', "
                        "'_budgets'); default: print all three")
    p.set_defaults(handler=run)


def envelope_tables(counts: pd.DataFrame, ladder: pd.DataFrame, *, ks: Sequence[int],
                    budgets: Sequence[float] | None = None, exclude: Sequence[str] = (),
                    policy: str = "drop_problems") -> dict[str, pd.DataFrame]:
    """``{"summary", "budgets", "checkpoints"}`` tables of the envelope per k.

    summary: k, envelope_alpha, compute_alpha, envelope_C0, compute_C0, the params_tokens
    parameters, both fits' convergence.  budgets: k, budget, n_opt, d_opt,
    tokens_per_param, y_opt.  checkpoints: k, checkpoint, compute, parameters, tokens,
    ratio (r), penalty (Phi), effective_compute, for checkpoints that entered the fit.
    """
    import numpy as np
    import pandas as pd

    from ..compute_optimal import envelope_from_fit
    from ..errors import FitError, ParameterError
    from ..fit.table import fit_points, passk_points, usable_mask

    points = passk_points(counts, ladder, ks=ks, exclude=exclude, policy=policy)  # type: ignore[arg-type]
    used = points[usable_mask(points, "compute")]
    c_top = float(used["compute"].max()) if len(used) else float("nan")
    budget_list = list(budgets) if budgets else [c_top, 10 * c_top, 100 * c_top]
    summary, budget_rows, ckpt_rows = [], [], []
    for k in sorted(int(v) for v in np.unique(points["k"])):
        try:
            pt = fit_points(points, "params_tokens", k=k, warn=False)
            cl = fit_points(points, "compute", k=k, warn=False)
        except FitError:
            continue
        try:
            env = envelope_from_fit(pt)
        except ParameterError:
            continue
        summary.append({"k": k, "envelope_alpha": env.alpha, "compute_alpha": cl.params["alpha"],
                        "envelope_C0": env.C0, "compute_C0": cl.params["C0"],
                        **{f"pt_{n}": v for n, v in pt.params.items()},
                        "params_tokens_converged": pt.converged,
                        "compute_converged": cl.converged, "n_points": pt.n_points})
        for b in budget_list:
            budget_rows.append({"k": k, "budget": b, "n_opt": float(env.n_opt(b)),
                                "d_opt": float(env.d_opt(b)),
                                "tokens_per_param": float(env.tokens_per_param_opt(b)),
                                "y_opt": float(env.loss_opt(b))})
        sub = points[(points["k"] == k) & points["checkpoint"].isin(pt.labels)]
        N = sub["parameters"].to_numpy(np.float64)
        C = sub["compute"].to_numpy(np.float64)
        r = np.asarray(env.ratio(N, C), dtype=np.float64)
        ckpt_rows.append(pd.DataFrame({
            "k": k, "checkpoint": sub["checkpoint"].to_numpy(), "compute": C, "parameters": N,
            "tokens": sub["tokens"].to_numpy(np.float64), "ratio": r,
            "penalty": np.asarray(env.penalty(r), dtype=np.float64),
            "effective_compute": np.asarray(env.effective_compute(C, r), dtype=np.float64)}))
    checkpoints = (pd.concat(ckpt_rows, ignore_index=True) if ckpt_rows else pd.DataFrame(
        columns=["k", "checkpoint", "compute", "parameters", "tokens", "ratio", "penalty",
                 "effective_compute"]))
    return {"summary": pd.DataFrame(summary), "budgets": pd.DataFrame(budget_rows),
            "checkpoints": checkpoints}


def run(args: argparse.Namespace) -> int:

    from .._io import write_table_file
    from ..inputs import load_counts
    from ..ladder import load_ladder

    counts = load_counts(args.inputs)
    ladder = load_ladder(args.ladder, parameters=args.parameters)
    tables = envelope_tables(counts, ladder, ks=args.k, budgets=args.budgets,
                             exclude=args.exclude, policy=args.policy)
    if args.output:
        path = Path(args.output)
        suffix = "".join(path.suffixes) or ".csv"
        stem = path.name[: len(path.name) - len("".join(path.suffixes))] if path.suffixes else path.name
        write_table_file(tables["checkpoints"], path)
        for name in ("summary", "budgets"):
            write_table_file(tables[name], path.with_name(f"{stem}_{name}{suffix}"))
    _print(tables, full=not args.output)
    return 0


def _print(tables: dict[str, Any], *, full: bool) -> None:
    import pandas as pd

    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200):
        fmt = {"float_format": lambda v: f"{v:.4g}", "index": False}
        sys.stdout.write("per k: envelope of params_tokens vs fitted compute law\n")
        sys.stdout.write(tables["summary"].to_string(**fmt) + "\n\noptimal split\n")
        sys.stdout.write(tables["budgets"].to_string(**fmt) + "\n")
        if full:
            sys.stdout.write("\ncheckpoints: misallocation ratio, penalty, effective compute\n")
            sys.stdout.write(tables["checkpoints"].to_string(**fmt) + "\n")

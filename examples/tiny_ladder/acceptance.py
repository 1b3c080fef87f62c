"""Acceptance check of the committed tiny ladder (issue 7): law fit quality and a backtest.

    python examples/tiny_ladder/acceptance.py [--ks 1,4,16,64] [-o acceptance.json]
    python examples/tiny_ladder/acceptance.py --pool DIR DIR ...   # replicates (seeds) pooled

1. Fits the compute law ``-log pass@k = E0 + C0 * C^-alpha`` on every checkpoint
   (``lm_eval_scaling.analysis.fits.fit_table``) and reports parameters, R^2 (log space) and residuals.
2. Backtests every law to the most expensive checkpoint (``lm_eval_scaling.backtest``):
   fitted on all cheaper checkpoints (C <= C_max for each cap), extrapolated to the
   target; reports the relative error of ``-log pass@k`` at the closest cap (all other
   checkpoints) and at every cap.

The issue's bar: compute law fits, and relative error at k = 1 from the others < 35%.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TABLES = HERE.parents[1] / "lm_eval_scaling" / "data" / "tiny_ladder"
log = logging.getLogger("tiny_ladder.acceptance")

THRESHOLD = 0.35


def load(tables: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """counts, gold and ladder of one tables directory (validated by the package readers)."""
    from lm_eval_scaling.tables.ladder import load_ladder
    from lm_eval_scaling.tables.schema import read_counts, read_gold

    return (read_counts(tables / "counts.csv"), read_gold(tables / "gold.csv"),
            load_ladder(str(tables / "ladder.csv")))


def pool(dirs: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Replicates of one ladder (e.g. ``full`` and ``full-seed1``) pooled per checkpoint.

    Counts are summed per (model, revision, task, problem): with equal samples per replicate,
    pass@1 of the pool is exactly the mean of the replicates' pass@1 (for k > 1 it is pass@k
    of their mixture, not the mean of their pass@k).  gold_logprob is averaged.  The
    replicates must have the same checkpoints (with the same parameters and tokens) and
    the same problems; anything else is refused.
    """
    loaded = [load(d) for d in dirs]
    key = ["model", "revision"]
    first_ladder = loaded[0][2].sort_values(key).reset_index(drop=True)
    for d, (_, _, ladder) in zip(dirs[1:], loaded[1:]):
        lad = ladder.sort_values(key).reset_index(drop=True)
        cols = ["model", "revision", "parameters", "tokens"]
        if not lad[cols].equals(first_ladder[cols]):
            raise SystemExit(f"{d / 'ladder.csv'}: checkpoints differ from {dirs[0] / 'ladder.csv'}")
    pkey = ["model", "revision", "task", "problem_id"]
    for name, idx in (("counts.csv", 0), ("gold.csv", 1)):
        ref = set(map(tuple, loaded[0][idx][pkey].to_numpy()))
        for d, tables in zip(dirs[1:], loaded[1:]):
            if set(map(tuple, tables[idx][pkey].to_numpy())) != ref:
                raise SystemExit(f"{d / name}: (checkpoint, task, problem) rows differ from "
                                 f"{dirs[0] / name}")
    counts = (pd.concat([c for c, _, _ in loaded])
              .groupby(pkey, as_index=False)[["num_samples", "num_correct"]].sum())
    gold = (pd.concat([g for _, g, _ in loaded])
            .groupby(pkey, as_index=False)
            .agg(gold_logprob=("gold_logprob", "mean"), gold_bytes=("gold_bytes", "first")))
    return counts, gold, loaded[0][2]


def run(tables: Path | tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], ks: Sequence[int],
        laws: Sequence[str]) -> dict[str, object]:
    from lm_eval_scaling.analysis.backtest import backtest
    from lm_eval_scaling.analysis.fits import fit_table
    from lm_eval_scaling.analysis.points import passk_points

    counts, gold, ladder = load(tables) if isinstance(tables, Path) else tables
    points = passk_points(counts, ladder, ks=list(ks), gold=gold)
    fits = fit_table(points, laws=list(laws))
    fit_rows = []
    for f in fits:
        fit_rows.append({
            "law": f.law, "k": int(f.k), "params": f.params, "converged": f.converged,
            "r_squared": f.r_squared, "n_points": f.n_points,
            "rms_residual": float(np.sqrt(np.mean(np.square(f.residuals)))),
            "max_abs_residual": float(np.max(np.abs(f.residuals))),
            "residuals": dict(zip(f.labels, (float(r) for r in f.residuals))),
        })
    # the most expensive checkpoint, the laws only (the backtest's default adds more
    # targets and the persistence / trend baselines)
    top = points.drop_duplicates("checkpoint").sort_values("compute")["checkpoint"].iloc[-1]
    bt = backtest(points, laws=list(laws), fits=fits, target=str(top), baselines=False)
    rows = bt.rows.sort_values(["law", "k", "c_max"])
    closest = rows.groupby(["law", "k"]).tail(1)
    back = [{
        "law": r.law, "k": int(r.k), "c_max": float(r.c_max), "n_points": int(r.n_points),
        "predicted": float(r.predicted), "actual": float(r.actual),
        "relative_error": float(r.relative_error),
        "predicted_pass_at_k": float(r.predicted_pass_at_k),
        "actual_pass_at_k": float(r.actual_pass_at_k), "converged": bool(r.converged),
    } for r in closest.itertuples()]
    per_cap = [{
        "law": r.law, "k": int(r.k), "horizon_oom": float(r.horizon_oom),
        "n_points": int(r.n_points), "relative_error": float(r.relative_error),
    } for r in rows.itertuples()]
    k1 = [b for b in back if b["law"] == "compute" and b["k"] == 1]
    passed = bool(k1) and k1[0]["converged"] and k1[0]["relative_error"] < THRESHOLD
    return {"target": bt.target, "target_compute": bt.target_compute, "fits": fit_rows,
            "backtest_closest": back, "backtest_all_caps": per_cap,
            "acceptance": {"criterion": f"compute law, k=1, relative error < {THRESHOLD}",
                           "passed": passed}}


def _finite(obj: object) -> object:
    """NaN/inf -> None, recursively (strict JSON; e.g. -log pass@k of a pass@k of 1)."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", type=Path, default=TABLES)
    ap.add_argument("--pool", type=Path, nargs="+", default=None, metavar="DIR",
                    help="tables directories of replicates of one ladder (e.g. seeds), pooled "
                         "per checkpoint (see pool()); replaces --tables")
    ap.add_argument("--ks", default="1,4,16,64")
    ap.add_argument("--laws", default="compute,params_tokens,gold")
    ap.add_argument("-o", "--output", type=Path, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ks = [int(k) for k in args.ks.split(",")]
    res = run(pool(args.pool) if args.pool else args.tables, ks, args.laws.split(","))
    for f in res["fits"]:
        log.info("fit %-14s k=%-3d R2=%.3f rms_resid=%.3f converged=%s %s", f["law"], f["k"],
                 f["r_squared"], f["rms_residual"], f["converged"],
                 {k: float(f"{v:.4g}") for k, v in f["params"].items()})
    for b in res["backtest_closest"]:
        log.info("backtest %-14s k=%-3d from %d points: predicted pass@k %.4f, actual %.4f, "
                 "relative error of -log pass@k %.1f%%", b["law"], b["k"], b["n_points"],
                 b["predicted_pass_at_k"], b["actual_pass_at_k"], 100 * b["relative_error"])
    log.info("target %s; acceptance (%s): %s", res["target"], res["acceptance"]["criterion"],
             "PASSED" if res["acceptance"]["passed"] else "FAILED")
    if args.output:
        args.output.write_text(json.dumps(_finite(res), indent=1, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

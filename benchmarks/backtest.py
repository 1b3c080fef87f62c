"""Benchmark: the full backtest grid on the Pythia/GSM8K counts.

3 laws (compute, params_tokens, gold) x 24 log-spaced k in [1, 10^4] x every compute cap
below the target (Pythia-12B at 300B tokens; step-1 checkpoints excluded), no bootstrap.
Runs, in the same process: the default (warm starts along the caps, 2 worker processes),
the same serially, and (unless --skip-cold) serially without warm starts; prints the
times and the ratios, then the summary (error and stability horizons per law and k).

    python benchmarks/backtest.py --data PATH/TO/pythia_gsm8k [--skip-cold]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lm_eval_scaling.analysis.backtest import backtest
from lm_eval_scaling.analysis.fits import fit_table
from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.analysis.points import passk_points
from lm_eval_scaling.fit.laws import get_law
from lm_eval_scaling.tables.ladder import load_ladder
from lm_eval_scaling.tables.schema import read_counts, read_gold

KS = sorted({int(v) for v in np.round(np.geomspace(1, 10_000, 25))})  # 24 values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True,
                    help="folder with the Pythia GSM8K counts.csv and ladder.csv")
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--summary", type=Path, default=None, help="write the summary CSV here")
    args = ap.parse_args()
    counts = read_counts(args.data / "counts.csv")
    ladder = load_ladder(args.data / "ladder.csv")
    gold = read_gold(args.data / "gold.csv")
    points = passk_points(counts, ladder, ks=KS, gold=gold, exclude=("*_2M",))
    laws = ("compute", "params_tokens", "gold")
    fits = fit_table(points, laws=laws, warn=False)  # the full fits, shared by every run

    runs = [("parallel (2 processes), warm starts", FitOptions(n_jobs=2)),
            ("serial, warm starts", FitOptions(n_jobs=1))]
    if not args.skip_cold:
        runs.append(("serial, cold starts (grid only)", FitOptions(n_jobs=1, warm_start=False)))
    times, results = {}, {}
    for name, options in runs:
        t0 = time.perf_counter()
        results[name] = backtest(points, laws=laws, target="Pythia_12B_300B", options=options,
                                 baselines=False,
                                 fits=fits)
        times[name] = time.perf_counter() - t0
    res = results[runs[0][0]]
    rows = res.rows
    n_fits = int((rows["n_points"] >= rows["law"].map(
        lambda law: get_law(law).n_params)).sum())
    print(f"grid: 3 laws x {len(KS)} k x {rows['c_max'].nunique()} caps = {len(rows)} rows "
          f"({n_fits} with enough points to fit), target {res.target}")
    base = times[runs[0][0]]
    for name, _ in runs:
        print(f"{name:40s} {times[name]:7.1f} s   ratio to default {times[name] / base:5.2f}x")
    if not args.skip_cold:
        warm, cold = results[runs[1][0]].rows, results[runs[2][0]].rows
        both = warm["converged"] & cold["converged"]
        diff = np.abs(warm.loc[both, "predicted"] - cold.loc[both, "predicted"]) / cold.loc[both, "predicted"]
        ow, oc = warm.loc[both, "objective"], cold.loc[both, "objective"]
        print(f"warm vs cold: predictions differ by > 1e-3 (relative) in "
              f"{int((diff > 1e-3).sum())} of {int(both.sum())} fits (max {diff.max():.2g}); "
              f"objective lower (by > 1e-6 relative) with warm starts in "
              f"{int((ow < oc * (1 - 1e-6)).sum())}, with cold starts in "
              f"{int((oc < ow * (1 - 1e-6)).sum())}")
    summary = res.summary(threshold=0.1, stability=0.1)
    if args.summary:
        summary.to_csv(args.summary, index=False)
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(summary.drop(columns=["task", "threshold", "stability"]).to_string(
            index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()

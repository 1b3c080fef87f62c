"""Fit the three laws of 2509.24012 to the Pythia/GSM8K counts at 24 values of k.

Writes examples/pythia_fits.csv: one row per (law, k) with every fitted parameter, whether
it is at its bound, its display form (``0 (at bound) [0, x]``), its standard error and its
bootstrap CI (problems resampled with replacement, refit), the number of points used,
censored and excluded, the convergence and identification flags and R^2 (log space).

The untrained step-1 checkpoints (2M tokens, ``*_2M``) are left out: the paper used 8
checkpoints per size and the data has 9; the step-1 ones reflect the random
initialisation, not training compute (see docs/fitting.md).

    python examples/pythia_fits.py --data PATH/TO/pythia_gsm8k [--bootstrap 100]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from lm_eval_scaling.analysis.fits import fit_parameter_table, fit_table
from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.analysis.points import passk_points
from lm_eval_scaling.tables.ladder import load_ladder
from lm_eval_scaling.tables.schema import read_counts, read_gold

HERE = Path(__file__).resolve().parent
KS = sorted({int(v) for v in np.round(np.geomspace(1, 10_000, 25))})  # 24 values
LAWS = ("compute", "params_tokens", "gold")


def fits_table(data: Path, *, bootstrap: int, seed: int, exclude: tuple[str, ...]) -> pd.DataFrame:
    counts = read_counts(data / "counts.csv")
    ladder = load_ladder(data / "ladder.csv")
    gold = read_gold(data / "gold.csv")
    points = passk_points(counts, ladder, ks=KS, gold=gold, exclude=exclude)
    fits = fit_table(points, laws=LAWS, options=FitOptions(bootstrap=bootstrap, seed=seed),
                     counts=counts, gold=gold, warn=False)
    table = fit_parameter_table(fits)
    per_fit = table.groupby(["law", "k"], sort=False)
    per_fit_columns = ["n_points", "n_censored", "n_excluded", "converged", "identified",
                       "identification", "r_squared", "objective", "n_boot"]
    wide = per_fit[per_fit_columns].first()
    for column in ("value", "at_bound", "display", "stderr", "ci_low", "ci_high"):
        values = table.pivot(index=["law", "k"], columns="parameter", values=column)
        suffix = "" if column == "value" else f"_{column}"
        wide = wide.join(values.rename(columns=lambda p, s=suffix: f"{p}{s}"))
    params = dict.fromkeys(table["parameter"])  # each law's order, laws in turn
    order = [f"{p}{s}" for p in params
             for s in ("", "_at_bound", "_display", "_stderr", "_ci_low", "_ci_high")]
    return wide[[*per_fit_columns, *order]].reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True,
                    help="folder with the Pythia GSM8K counts.csv, ladder.csv and gold.csv")
    ap.add_argument("--bootstrap", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, default=HERE / "pythia_fits.csv")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    table = fits_table(args.data, bootstrap=args.bootstrap, seed=args.seed, exclude=("*_2M",))
    table.to_csv(args.output, index=False, float_format="%.6g")
    logging.getLogger(__name__).warning("wrote %d fits to %s", len(table), args.output)


if __name__ == "__main__":
    main()

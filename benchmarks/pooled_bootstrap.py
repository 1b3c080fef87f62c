"""Benchmark: the pooled model's bootstrap on 1 worker process against ``--jobs`` workers.

Setting: counts simulated from the pooled model itself (``--checkpoints`` x ``--problems``,
128 samples per cell), or ``--counts`` (e.g. the Pythia GSM8K counts, every problem thinned
to 128 samples).  Fits the pooled model once, then times ``resampled_pooled_pass_at_k`` for
``--bootstrap`` resamples with ``n_jobs=1`` and with ``n_jobs=--jobs`` in the same run,
checks that both give the same numbers (the resamples are seeded per resample, not per
worker), and prints the ratio.  Each resample refits the pooled model, so the ratio is
bounded by the number of free cores.

    python benchmarks/pooled_bootstrap.py [--jobs 2] [--bootstrap 8] [--hierarchical]
    python benchmarks/pooled_bootstrap.py --counts PATH/TO/pythia_gsm8k/counts.csv
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy import special

from lm_eval_scaling.passk.benchmark import bootstrap_weights, count_matrices
from lm_eval_scaling.passk.model import thin_counts
from lm_eval_scaling.passk.pooled import fit_pooled_model, resampled_pooled_pass_at_k
from lm_eval_scaling.tables.schema import read_counts


def simulated(checkpoints: int, problems: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    eta = (np.linspace(-9.0, -3.0, checkpoints)[:, None] + 1.5 * rng.normal(size=problems)[None, :]
           + 0.8 * rng.normal(size=(checkpoints, problems)))
    n = np.full((checkpoints, problems), 128)
    return n, rng.binomial(n, special.expit(eta))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", help="a counts table; every problem is thinned to 128 samples")
    ap.add_argument("--checkpoints", type=int, default=40)
    ap.add_argument("--problems", type=int, default=130)
    ap.add_argument("--bootstrap", type=int, default=8, metavar="B")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--hierarchical", action="store_true")
    args = ap.parse_args()

    if args.counts:
        _, _, n_all, c_all, observed = count_matrices(read_counts(args.counts))
        rng = np.random.default_rng(0)
        n, c = np.zeros_like(n_all), np.zeros_like(c_all)
        for j in range(n.shape[0]):
            o = observed[j]
            n[j][o], c[j][o] = thin_counts(n_all[j][o], c_all[j][o], 128, rng)
        setting = f"{args.counts} thinned to 128 samples per problem"
    else:
        n, c = simulated(args.checkpoints, args.problems)
        observed = np.ones(n.shape, bool)
        setting = "simulated from the pooled model, 128 samples per problem"
    J, problems = n.shape
    print(f"{J} checkpoints x {problems} problems ({setting}); {os.cpu_count()} CPUs; "
          f"B = {args.bootstrap}{', hierarchical' if args.hierarchical else ''}")
    t0 = time.perf_counter()
    model = fit_pooled_model(n, c, observed=observed)
    print(f"  pooled fit: {time.perf_counter() - t0:.1f} s (converged: {model.converged})")
    weights = bootstrap_weights(problems, args.bootstrap, 0)
    times, results = {}, {}
    for jobs in (1, args.jobs):
        t0 = time.perf_counter()
        results[jobs] = resampled_pooled_pass_at_k(model, n, c, observed, [1000], weights,
                                                   hierarchical=args.hierarchical, seed=0,
                                                   n_jobs=jobs)
        times[jobs] = time.perf_counter() - t0
        print(f"  n_jobs={jobs}: {times[jobs]:.1f} s ({times[jobs] / args.bootstrap:.2f} s per resample)")
    same = np.array_equal(results[1], results[args.jobs], equal_nan=True)
    print(f"  same resamples on 1 and {args.jobs} workers: {same}")
    print(f"  speed-up with {args.jobs} workers: {times[1] / times[args.jobs]:.2f}x")


if __name__ == "__main__":
    main()

"""Benchmark: pass@k table with the default bootstrap vs without bootstrap, in the same run.

Setting: synthetic counts for 1000 checkpoints x 5000 problems (n = 10,000 samples per
problem, pass rates from a Beta(0.3, 3) scaled per checkpoint), k on the 24-point log grid
1:1e4:24 (as ``passk --k 1:1e4:24``).  Times ``passk_table`` with ``n_boot=0`` and with the
default 1000 resamples, and prints their ratio (goal <= 2.5).  It also times the previous
bootstrap (a fresh ``multinomial`` draw per checkpoint, one matrix product and a
``nanquantile`` per checkpoint) on ``--old-checkpoints`` checkpoints and scales that time
to the whole table.

    python benchmarks/passk_bootstrap.py [--checkpoints 1000] [--problems 5000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from lm_eval_scaling.cli._common import parse_int_list
from lm_eval_scaling.passk.benchmark import passk_table
from lm_eval_scaling.passk.estimator import pass_at_k
from lm_eval_scaling.tables.schema import read_counts


def synthetic_counts(checkpoints: int, problems: int, samples: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.beta(0.3, 3.0, problems)
    scale = np.geomspace(1e-3, 1.0, checkpoints)
    rate = np.clip(base[None, :] * scale[:, None], 0.0, 1.0)
    correct = rng.binomial(samples, rate)
    df = pd.DataFrame({
        "model": np.repeat([f"m{i:04d}" for i in range(checkpoints)], problems),
        "problem_id": np.tile(np.arange(problems).astype(str), checkpoints),
        "num_samples": samples,
        "num_correct": correct.reshape(-1),
    })
    return read_counts(df)


def old_bootstrap(counts: pd.DataFrame, ks: np.ndarray, n_boot: int, seed: int = 0) -> float:
    """The previous per-checkpoint bootstrap (fresh multinomial per checkpoint); returns CPU seconds."""
    t0 = time.process_time()
    for i, (_, grp) in enumerate(counts.groupby(["model", "revision", "task"], sort=True)):
        n = grp["num_samples"].to_numpy()
        per = pass_at_k(n, grp["num_correct"].to_numpy(), ks)
        valid = ~np.isnan(per)
        filled = np.where(valid, per, 0.0)
        rng = np.random.default_rng([seed, i])
        weights = rng.multinomial(n.size, np.full(n.size, 1.0 / n.size), size=n_boot).astype(np.float64)
        boot = (weights @ filled) / (weights @ valid.astype(np.float64))
        np.nanquantile(boot, [0.025, 0.975], axis=0)
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoints", type=int, default=1000)
    ap.add_argument("--problems", type=int, default=5000)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--k", type=parse_int_list, default=parse_int_list("1:1e4:24"))
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--old-checkpoints", type=int, default=20,
                    help="checkpoints on which the previous bootstrap is timed (then scaled)")
    args = ap.parse_args()

    counts = synthetic_counts(args.checkpoints, args.problems, args.samples)
    ks = np.asarray(args.k)
    print(f"{args.checkpoints} checkpoints x {args.problems} problems x {ks.size} k values, "
          f"{args.bootstrap} resamples")

    t0, c0 = time.perf_counter(), time.process_time()
    plain = passk_table(counts, ks, ci=None)
    t_plain, c_plain = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    boot = passk_table(counts, ks, n_boot=args.bootstrap)
    t_boot, c_boot = time.perf_counter() - t0, time.process_time() - c0
    assert np.array_equal(plain["pass_at_k"].to_numpy(), boot["pass_at_k"].to_numpy())
    ok = boot["ci_low"].le(boot["pass_at_k"]) & boot["pass_at_k"].le(boot["ci_high"])
    print(f"  --bootstrap 0      : {t_plain:8.1f} s wall  {c_plain:8.1f} s CPU")
    print(f"  --bootstrap {args.bootstrap:<6d} : {t_boot:8.1f} s wall  {c_boot:8.1f} s CPU")
    print(f"  ratio              : {t_boot / t_plain:8.2f} wall  {c_boot / c_plain:8.2f} CPU   (goal <= 2.5)")
    print(f"  intervals bracket the estimate: {ok.mean():.1%} of rows")

    sub = counts[counts["model"].isin(sorted(counts["model"].unique())[:args.old_checkpoints])]
    t_old = old_bootstrap(sub, ks, args.bootstrap) * args.checkpoints / args.old_checkpoints
    print(f"  previous bootstrap : {t_old:8.1f} s CPU  (timed on {args.old_checkpoints} checkpoints, "
          f"scaled, estimator included; CPU ratio {t_old / c_plain:.1f} against --bootstrap 0)")


if __name__ == "__main__":
    main()

"""Generate a small simulated model ladder: per-problem sample counts + ladder metadata.

A small simulated counts table for tests and examples (the built-in default input is the
tiny trained ladder in lm_eval_scaling/data/tiny_ladder).
Every number is simulated, not measured: 4 model sizes x 4 token budgets, 100 problems,
256 samples per problem at each checkpoint.  Problem i's per-sample success probability
at compute C is ``sigmoid(theta_i + slope * log10(C / 1e18))`` with difficulties
``theta_i ~ Normal(-4, 1.5)``: pass@k grows smoothly with compute and with k.

    python examples/simulate_counts.py [-o examples/simulated]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SIZES = {"sim-1m": 1e6, "sim-4m": 4e6, "sim-16m": 16e6, "sim-64m": 64e6}
TOKENS_PER_PARAM = (2.5, 10.0, 40.0, 160.0)
PROBLEMS = 100
SAMPLES = 256
SLOPE = 1.2
SEED = 20260101


def simulate(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    theta = rng.normal(-4.0, 1.5, PROBLEMS)
    counts, ladder = [], []
    for model, params in SIZES.items():
        for tpp in TOKENS_PER_PARAM:
            tokens = params * tpp
            revision = f"tokens{int(tokens):d}"
            compute = 6.0 * params * tokens
            p = 1.0 / (1.0 + np.exp(-(theta + SLOPE * np.log10(compute / 1e18))))
            c = rng.binomial(SAMPLES, p)
            counts.append(pd.DataFrame({
                "model": model, "revision": revision, "task": "simulated",
                "problem_id": np.arange(PROBLEMS), "num_samples": SAMPLES, "num_correct": c,
            }))
            ladder.append({"model": model, "revision": revision,
                           "parameters": int(params), "tokens": int(tokens)})
    return pd.concat(counts, ignore_index=True), pd.DataFrame(ladder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default=str(Path(__file__).parent / "simulated"))
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    counts, ladder = simulate(args.seed)
    counts.to_csv(out / "counts.csv", index=False)
    ladder.to_csv(out / "ladder.csv", index=False)
    print(f"wrote {len(counts)} count rows and {len(ladder)} checkpoints to {out}")


if __name__ == "__main__":
    main()

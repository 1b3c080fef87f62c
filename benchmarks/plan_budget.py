"""Benchmark: samples the planner saves at equal error against uniform sampling.

On the Pythia GSM8K counts (``--counts``), for every checkpoint whose every problem has
``n >= --min-n`` samples: start from 128 samples per problem (drawn without replacement
from the real samples: hypergeometric thinning), then spend an extra budget of ``u``
samples per problem on average

* uniformly: ``u`` more samples for every problem, or
* with the planner: ``lm_eval_scaling.analysis.plan.allocate_samples`` in ``--rounds``
  rounds, re-planned from the counts after each round (PassUntil-style),

each extra sample again drawn without replacement from the problem's remaining real
samples.  pass@k at ``--k`` is then estimated with ``estimator="beta_binomial"`` (unbiased
where a problem has ``n >= k``) and compared with the full-data unbiased value: relative
error in ``-log pass@k``, median over checkpoints and ``--draws`` draws.  The uniform
budget that gives the planner's error is interpolated (log-log) from the uniform curve;
the saving is ``1 - planner budget / that uniform budget``.

    python benchmarks/plan_budget.py --counts PATH/TO/pythia_gsm8k/counts.csv
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lm_eval_scaling.analysis.plan import allocate_samples, samples_needed
from lm_eval_scaling.passk.benchmark import benchmark_pass_at_k
from lm_eval_scaling.passk.estimator import pass_at_k
from lm_eval_scaling.passk.model import thin_counts
from lm_eval_scaling.tables.schema import read_counts


def more_samples(n, c, m, x, extra, rng):
    """Counts after drawing ``extra`` more of the samples not drawn yet (without replacement)."""
    take = np.minimum(extra, n - m)
    return m + take, x + rng.hypergeometric(c - x, (n - c) - (m - x), take)


def rel_err(est: float, truth: float) -> float:
    return float("inf") if not est > 0 else abs(np.log(est) - np.log(truth)) / -np.log(truth)


def estimate(m, x, k) -> float:
    res = benchmark_pass_at_k(m, x, [k], ci=None, estimator="beta_binomial", model="beta_binomial")
    return float(res.pass_at_k[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", required=True)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--start", type=int, default=128, help="samples per problem to start from")
    ap.add_argument("--min-n", type=int, default=4096)
    ap.add_argument("--budgets", default="384,896,1920,3968",
                    help="extra samples per problem on average")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--priority", default="fewest", choices=["fewest", "width"])
    ap.add_argument("--width", type=float, default=0.05,
                    help="target interval width of pass@k for the projected comparison")
    args = ap.parse_args()
    K, budgets = args.k, [int(b) for b in args.budgets.split(",")]

    counts = read_counts(args.counts)
    ckpts = {}
    for name, g in counts.sort_values(["model", "problem_id"]).groupby("model"):
        n, c = g["num_samples"].to_numpy(), g["num_correct"].to_numpy()
        if n.min() >= args.min_n and c.sum() > 0:
            ckpts[name] = (n, c, float(pass_at_k(n, c, K).mean()))
    print(f"{len(ckpts)} checkpoints with every problem n >= {args.min_n}; start {args.start} "
          f"samples per problem; pass@{K}; {args.draws} draws; planner in {args.rounds} rounds")

    t0 = time.perf_counter()
    errs = {("uniform", u): [] for u in budgets} | {("planner", u): [] for u in budgets}
    abs_errs = {key: [] for key in errs}
    spent = {u: [] for u in budgets}
    for draw in range(args.draws):
        for name, (n, c, truth) in ckpts.items():
            P = n.size
            for u in budgets:
                rng = np.random.default_rng([draw, u, len(name)])
                m0, x0 = thin_counts(n, c, args.start, rng)
                m, x = more_samples(n, c, m0, x0, np.full(P, u), rng)
                est = estimate(m, x, K)
                errs[("uniform", u)].append(rel_err(est, truth))
                abs_errs[("uniform", u)].append(abs(np.nan_to_num(est) - truth))
                m, x = m0, x0
                total = 0
                for r in range(args.rounds):
                    left = u * P - total
                    step = left // (args.rounds - r)
                    alloc = allocate_samples(m, x, K, step, chunk=args.chunk, cap=n,
                                             priority=args.priority)
                    m, x = more_samples(n, c, m, x, alloc.n_more, rng)
                    total += alloc.spent
                spent[u].append(total / P)
                est = estimate(m, x, K)
                errs[("planner", u)].append(rel_err(est, truth))
                abs_errs[("planner", u)].append(abs(np.nan_to_num(est) - truth))
    print(f"({time.perf_counter() - t0:.0f} s)\n")

    unresolved = {key: int(np.isinf(v).sum()) for key, v in errs.items()}
    print(f"no success at all (uniform / planner, of {len(ckpts) * args.draws} checkpoint-draws): "
          + ", ".join(f"{u}: {unresolved[('uniform', u)]} / {unresolved[('planner', u)]}" for u in budgets))
    spent_mean = {u: float(np.mean(spent[u])) for u in budgets}
    projected(counts, K, args.start, args.width, args.chunk)
    table("median relative error in -log pass@k (no success counts as infinite)",
          {key: float(np.median(v)) for key, v in errs.items()}, budgets, spent_mean)
    table(f"root mean square error of pass@{K} (no success counts as pass@k = 0)",
          {key: float(np.sqrt(np.mean(np.square(v)))) for key, v in abs_errs.items()}, budgets, spent_mean)


def projected(counts, K: int, start: int, width: float, chunk: int) -> None:
    """samples_needed on every checkpoint's thinned counts: uniform vs allocated samples."""
    rows = []
    for name, g in counts.sort_values(["model", "problem_id"]).groupby("model"):
        n, c = g["num_samples"].to_numpy(), g["num_correct"].to_numpy()
        m0, x0 = thin_counts(n, c, start, np.random.default_rng(0))
        if x0.sum() == 0:
            continue
        need = samples_needed(m0, x0, K, width, chunk=chunk)
        if need["uniform_more"] and need["allocated_more"] is not None:
            rows.append((name, need["uniform_more"], need["allocated_more"]))
    saving = np.array([1 - a / u for _, u, a in rows])
    print(f"\nprojected (samples_needed on {len(rows)} checkpoints thinned to {start} per problem, "
          f"with a success): samples for an interval of width {width:g} on pass@{K}, allocated "
          f"widest-first vs uniform: saving median {np.median(saving):.0%}, quartiles "
          f"{np.quantile(saving, 0.25):.0%} / {np.quantile(saving, 0.75):.0%}, "
          f"range {saving.min():.0%} to {saving.max():.0%}")


def table(title: str, err: dict, budgets: list[int], spent: dict[int, float]) -> None:
    uni_b = np.array(budgets, dtype=float)
    uni_e = np.array([err[("uniform", u)] for u in budgets])
    finite = np.isfinite(uni_e)
    fin_b, fin_e = uni_b[finite], uni_e[finite]
    print(f"\n{title}")
    print(f"{'extra/problem':>13} {'uniform err':>12} {'planner err':>12} {'planner spent':>14} "
          f"{'uniform for same err':>21} {'saving':>7}")
    for u in budgets:
        e = err[("planner", u)]
        order = np.argsort(fin_e)
        if np.isfinite(e) and fin_e.size > 1 and fin_e.min() <= e <= fin_e.max():
            # uniform error falls with budget: interpolate log budget against log error
            equiv = float(np.exp(np.interp(np.log(e), np.log(fin_e[order]), np.log(fin_b[order]))))
            equiv_s, saving = f"{equiv:21.0f}", f"{1 - spent[u] / equiv:6.0%}"
        else:
            equiv_s, saving = f"{'outside the curve':>21}", "-"
        print(f"{u:13d} {err[('uniform', u)]:12.3g} {e:12.3g} {spent[u]:14.0f} {equiv_s} {saving:>7}")


if __name__ == "__main__":
    main()

"""Benchmark: samples the planner saves at equal error against uniform sampling.

On the Pythia GSM8K counts (``--counts``), at each k of ``--k``, for every checkpoint whose
every problem has ``n >= L = 2 (start + largest uniform budget)`` samples and whose full-data
pass@k is at least ``--min-pass``:

* each problem's real samples are put in a random order (one order per ``--draws`` draw;
  drawing the first ``m`` of them is exactly drawing ``m`` samples without replacement);
* every arm starts from the same first ``--start`` samples per problem and takes its extra
  samples from the same order (common random numbers: the arms differ only in how many
  samples each problem gets);
* uniform: ``u`` more samples for every problem, for each ``u`` of ``--uniform``;
* each planner rule (``--rules``: ``RULE`` or ``variance:PRIOR``): ``allocate_samples(...,
  rule=RULE, prior=PRIOR)`` spends ``b`` more samples per problem on average (``--budgets``)
  in ``--rounds`` rounds, re-planned from the counts after each round, at most ``L`` samples
  per problem in all;
* pass@k is estimated with ``estimator="beta_binomial"`` (the unbiased estimator wherever a
  problem has ``n >= k``) and compared with the full-data unbiased value.

``--simulate A,B`` replaces the counts with ``--sim-checkpoints`` checkpoints of 128 problems
whose success probabilities are drawn from Beta(A, B) (fresh Bernoulli samples, ``L`` per
problem; the truth is the exact mean of ``1 - (1 - p)^k``).

Errors: the relative error in ``-log pass@k`` (an estimate of 0 counts as 100%), and the
error of pass@k; each aggregated as a root mean square over checkpoints and draws.  The
uniform budget that gives a rule's error is interpolated (log-log) on the uniform curve; the
saving is ``1 - spent / that budget`` (``spent``: extra samples per problem the rule spent,
less than ``b`` where problems reach ``L``).  The 95% interval resamples checkpoints (with
all their draws) ``--boot`` times; where a replicate's error lies outside the uniform curve
the saving is clipped to the curve's end (``>=`` or ``<=`` in the table); the last column is
each rule's saving minus the first rule's, with its interval over the same resamples.  The
"bias" line is the mean of ``estimate / truth - 1``.

    python benchmarks/plan_budget.py --counts PATH/TO/pythia_gsm8k/counts.csv
    python benchmarks/plan_budget.py --simulate 1,1 --k 10 --draws 8 --rules passuntil,variance
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lm_eval_scaling.analysis.plan import PRIORS, RULES, allocate_samples
from lm_eval_scaling.passk.benchmark import benchmark_pass_at_k
from lm_eval_scaling.passk.estimator import pass_at_k
from lm_eval_scaling.tables.schema import read_counts


class Streams:
    """Each problem's samples in one random order: successes among the first ``m``.

    From counts (``n``, ``c``): the real samples, shuffled (without replacement); from
    success probabilities ``p`` (``c=None``): fresh Bernoulli(``p``) samples.
    """

    def __init__(self, n, c, longest: int, rng: np.random.Generator) -> None:
        if c is None:  # n holds success probabilities
            self.size = np.full(len(n), longest)
            self.hits = [np.flatnonzero(rng.random(longest) < p) for p in n]
            return
        self.size = np.minimum(n, longest)  # the order is kept up to here
        self.hits = []
        for ni, ci, mi in zip(n, c, self.size):
            x = rng.hypergeometric(ci, ni - ci, mi) if mi < ni else ci
            self.hits.append(np.sort(rng.choice(mi, size=x, replace=False)))

    def correct(self, m) -> np.ndarray:
        return np.array([np.searchsorted(h, mi) for h, mi in zip(self.hits, m)], dtype=np.int64)


def estimate(m, x, k: int) -> float:
    if m.min() >= k:
        return float(pass_at_k(m, x, k).mean())
    res = benchmark_pass_at_k(m, x, [k], ci=None, estimator="beta_binomial", model="beta_binomial")
    return float(np.nan_to_num(res.pass_at_k[0]))  # no success at all: 0


def plan(stream: Streams, start: int, k: int, extra: int, name: str, rounds: int,
         chunk: int) -> np.ndarray:
    """Totals per problem after ``rounds`` re-planned rounds of rule ``name`` (RULE[:PRIOR])."""
    rule, _, prior = name.partition(":")
    P = stream.size.size
    m = np.full(P, start)
    spent = 0
    for r in range(rounds):
        step = (extra * P - spent) // (rounds - r)
        alloc = allocate_samples(m, stream.correct(m), k, step, chunk=chunk, cap=stream.size,
                                 rule=rule, prior=prior or "lower")
        m = m + alloc.n_more
        spent += alloc.spent
    return m


def rel_err(est: float, truth: float) -> float:
    return 1.0 if not est > 0 else min(1.0, abs(np.log(est / truth)) / -np.log(truth))


def saving(err_uniform, uniform, err_plan, budget) -> tuple[float, str]:
    """``1 - budget / u*``, ``u*`` the uniform budget with the planner's error (log-log)."""
    e = np.log(np.maximum(err_uniform, 1e-300))
    order = np.argsort(e)
    target = np.log(max(err_plan, 1e-300))
    if target < e.min():
        return 1 - budget / uniform[np.argmin(e)], ">="
    if target > e.max():
        return 1 - budget / uniform[np.argmax(e)], "<="
    equiv = np.exp(np.interp(target, e[order], np.log(uniform)[order]))
    return 1 - budget / equiv, ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", help="counts table (checkpoints x problems)")
    ap.add_argument("--simulate", default=None, metavar="A,B",
                    help="instead of --counts: --sim-checkpoints checkpoints of 128 problems "
                         "with success probabilities drawn from Beta(A, B)")
    ap.add_argument("--sim-checkpoints", type=int, default=20)
    ap.add_argument("--k", default="10,100,1000")
    ap.add_argument("--start", type=int, default=128, help="samples per problem to start from")
    ap.add_argument("--uniform", default="32,64,128,256,512,1024",
                    help="extra samples per problem, uniform arm")
    ap.add_argument("--budgets", default="64,256", help="extra samples per problem on average, planners")
    ap.add_argument("--rules", default="passuntil,variance,variance:interval,variance:posterior",
                    help=f"rules ({', '.join(RULES)}), variance with a prior as variance:PRIOR "
                         f"({', '.join(PRIORS)}; default lower)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--draws", type=int, default=12)
    ap.add_argument("--min-pass", type=float, default=0.01,
                    help="checkpoints with full-data pass@k below this are left out")
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    uniform = np.array([int(u) for u in args.uniform.split(",")])
    budgets = [int(b) for b in args.budgets.split(",")]
    rules = args.rules.split(",")
    longest = 2 * (args.start + int(uniform.max()))

    if args.simulate is not None:
        a, b = (float(v) for v in args.simulate.split(","))
        rng = np.random.default_rng([args.seed, 1])
        sims = [rng.beta(a, b, 128) for _ in range(args.sim_checkpoints)]
    elif args.counts is not None:
        counts = read_counts(args.counts)
        data = {name: (g["num_samples"].to_numpy(), g["num_correct"].to_numpy())
                for name, g in counts.sort_values(["model", "problem_id"]).groupby("model")}
    else:
        ap.error("need --counts or --simulate")
    t0 = time.perf_counter()
    print(f"start {args.start} samples per problem; {args.draws} draws; planners in {args.rounds} "
          f"rounds of chunks of {args.chunk}; "
          + (f"{len(sims)} simulated checkpoints, p ~ Beta({a:g}, {b:g})" if args.simulate
             else f"checkpoints with every n >= {longest}"))
    for k in ks:
        if args.simulate is not None:
            ckpts = {f"sim{i}": (p, None, float((-np.expm1(k * np.log1p(-p))).mean()))
                     for i, p in enumerate(sims)}
        else:
            ckpts = {name: (n, c, float(pass_at_k(n, c, k).mean())) for name, (n, c) in data.items()
                     if n.min() >= max(k, longest)}
        ckpts = {name: v for name, v in ckpts.items() if v[2] >= args.min_pass}
        C, D = len(ckpts), args.draws
        rel_u = np.empty((C, D, uniform.size))
        abs_u = np.empty_like(rel_u)
        rel_p = {r: np.empty((C, D, len(budgets))) for r in rules}
        abs_p = {r: np.empty((C, D, len(budgets))) for r in rules}
        share = {r: np.empty((C, D, len(budgets))) for r in rules}  # problems that got samples
        spent = {r: np.empty((C, D, len(budgets))) for r in rules}  # extra per problem, spent
        sign_u = np.empty_like(rel_u)  # est / truth - 1
        sign_p = {r: np.empty((C, D, len(budgets))) for r in rules}
        for i, (name, (n, c, truth)) in enumerate(ckpts.items()):
            for d in range(D):
                stream = Streams(n, c, longest, np.random.default_rng([args.seed, d, i, k]))
                for j, u in enumerate(uniform):
                    m = np.minimum(args.start + u, stream.size)
                    est = estimate(m, stream.correct(m), k)
                    rel_u[i, d, j], abs_u[i, d, j] = rel_err(est, truth), abs(est - truth)
                    sign_u[i, d, j] = est / truth - 1
                for r in rules:
                    for j, b in enumerate(budgets):
                        m = plan(stream, args.start, k, b, r, args.rounds, args.chunk)
                        est = estimate(m, stream.correct(m), k)
                        rel_p[r][i, d, j], abs_p[r][i, d, j] = rel_err(est, truth), abs(est - truth)
                        sign_p[r][i, d, j] = est / truth - 1
                        share[r][i, d, j] = np.mean(m > args.start)
                        spent[r][i, d, j] = (m - args.start).mean()
        truths = np.array([v[2] for v in ckpts.values()])
        print(f"\n## k = {k}: {C} checkpoints (full-data pass@{k} {truths.min():.3g} to "
              f"{truths.max():.3g}), {C * D} checkpoint-draws ({time.perf_counter() - t0:.0f} s)")
        print("mean of pass@k / truth - 1 (bias); uniform: "
              + ", ".join(f"+{u}: {v:+.1%}" for u, v in zip(uniform, sign_u.mean(axis=(0, 1))))
              + "; " + "; ".join(f"{r}: " + ", ".join(f"+{b}: {v:+.1%}" for b, v in
                                                      zip(budgets, sign_p[r].mean(axis=(0, 1))))
                                 for r in rules))
        boot = np.random.default_rng([args.seed, k]).integers(0, C, size=(args.boot, C))
        for title, eu, ep in (("relative error in -log pass@k", rel_u, rel_p),
                              (f"error of pass@{k}", abs_u, abs_p)):
            rms_u = np.sqrt((eu ** 2).mean(axis=(0, 1)))
            print(f"\n{title} (root mean square); uniform: "
                  + ", ".join(f"+{u}: {e:.3g}" for u, e in zip(uniform, rms_u)))
            print(f"{'rule':>18} {'extra':>6} {'spent':>6} {'got samples':>11} {'error':>8} {'uniform same budget':>19} "
                  f"{'saving':>8} {'95% interval':>18}  {'minus ' + rules[0] + ' (paired)':>24}")
            per_u = (eu ** 2).mean(axis=1)  # (C, U)
            first: dict[int, tuple[float, np.ndarray]] = {}
            for r in rules:
                per_p = (ep[r] ** 2).mean(axis=1)  # (C, B)
                for j, b in enumerate(budgets):
                    err = float(np.sqrt(per_p[:, j].mean()))
                    same = float(np.exp(np.interp(np.log(b), np.log(uniform), np.log(rms_u))))
                    used = spent[r][:, :, j].mean(axis=1)  # (C,): less than b where problems are capped
                    point, flag = saving(rms_u, uniform, err, float(used.mean()))
                    reps = np.array([saving(np.sqrt(per_u[s].mean(axis=0)), uniform,
                                            float(np.sqrt(per_p[s, j].mean())), float(used[s].mean()))[0]
                                     for s in boot])
                    lo, hi = np.quantile(reps, [0.025, 0.975])
                    if r == rules[0]:
                        first[j] = (point, reps)
                        diff = ""
                    else:  # the same checkpoint resamples: a paired interval of the difference
                        d_lo, d_hi = np.quantile(reps - first[j][1], [0.025, 0.975])
                        diff = f"{100 * (point - first[j][0]):+.0f} [{100 * d_lo:+.0f}, {100 * d_hi:+.0f}] points"
                    print(f"{r:>18} {b:6d} {used.mean():6.0f} {share[r][:, :, j].mean():11.0%} {err:8.3g} {same:19.3g} "
                          f"{flag:>2}{point:6.0%} {lo:8.0%} to {hi:5.0%}  {diff:>24}")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

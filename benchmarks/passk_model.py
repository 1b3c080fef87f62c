"""Benchmark: pass@k beyond the samples drawn, checked by thinning real counts.

Takes the counts of one task (``--counts``: the Pythia GSM8K counts, or a file written by
``lm-eval-scaling import``, e.g. the Large Language Monkeys MATH parquet), keeps the checkpoints whose every problem
has ``n >= K`` (default K = 1000) for scoring, and thins every problem of every checkpoint
to ``m = 128`` samples by drawing without replacement (hypergeometric: exactly what drawing
128 samples would have given).  From the thinned counts alone it estimates pass@K with

* a plain beta-binomial fitted by maximum likelihood (the population pass@K
  ``1 - B(a, b + K) / B(a, b)``),
* ``benchmark_pass_at_k(..., estimator="beta_binomial")``: the model kind chosen by
  held-out likelihood, each problem filled with its posterior pass@K, and
* ``passk_table(..., estimator="pooled")``: one pooled model fitted to the thinned
  counts of all checkpoints together (each problem's ease shared), each problem filled
  with its posterior pass@K and each checkpoint's extrapolation factor smoothed across the
  ladder; the model's own values (``smooth=False``) are printed beside it,

and compares both with the unbiased estimate from the full data: relative error in
``-log pass@K``.  Repeated over ``--draws`` thinning draws; checkpoints whose thinned
counts have no success at all are reported separately (the estimator gives only an upper
bound there, and the script checks it covers the full-data value).  For scale it prints
the same error for the unbiased pass@128 of the thinned counts against the full-data
pass@128 (the sampling noise of 128 samples per problem, no extrapolation).

``--floor`` and ``--simulate`` describe the model itself (its own values).  ``--floor`` adds
what the pooled model reaches when it knows more than the thinned counts:
its every parameter from a pooled fit to the full data (only each cell's own thinned count
left to the posterior), and every parameter but the checkpoint levels from the full data
(the levels refitted to the thinned counts).  The second is the floor that the luck of a
checkpoint's few successes sets for any estimate of its level.

``--simulate`` adds the same measurement in a world where the pooled model is exactly right:
counts drawn from the pooled model fitted to the full data (every cell keeps its real number
of samples; each problem's success probability drawn from the model, then a binomial count),
thinned and estimated as above.  It prints the error against the simulated full-data
estimate (what the real-data benchmark calls the truth) and against the true pass@K of the
drawn probabilities: the error the estimator makes when its model is not to blame.

With ``--simulate`` it also prints oracles on the same simulated counts: every parameter
but the checkpoint levels known (the truth), each level estimated by maximum likelihood from
its thinned counts; the same with the true levels' distribution as a prior (the estimate
that minimises the expected relative error); and every parameter known, the levels too.
They bound what any estimate of a checkpoint's level from its own counts can reach.

``--pooled-only`` runs the pooled arm of the real-data benchmark alone (the same thinning
draws, so ``--draws 20`` repeats its numbers) and puts a 95% interval on the median error by
resampling whole draws: the way to many draws (about 20 s each).  It also prints each
checkpoint's signed error (median and spread over the draws): how much of the error is a
checkpoint's own bias rather than the luck of a draw.

``--expected`` adds the noise-free version: each model fitted to the exact distribution
of the thinned counts (hypergeometric probabilities as weights) instead of one draw.

    python benchmarks/passk_model.py --counts PATH/TO/pythia_gsm8k/counts.csv [--draws 5]
    python benchmarks/passk_model.py --counts PATH/TO/pythia_gsm8k/counts.csv --draws 100 --pooled-only
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from lm_eval_scaling.passk import pooled as pooled_module
from lm_eval_scaling.passk.benchmark import benchmark_pass_at_k, bootstrap_weights, count_matrices
from lm_eval_scaling.passk.estimator import pass_at_k
from lm_eval_scaling.passk.model import MODEL_KINDS, fit_success_model, thin_counts
from lm_eval_scaling.passk.pooled import (
    PooledModel,
    fit_pooled_model,
    pooled_benchmark_pass_at_k,
    resampled_pooled_pass_at_k,
    smooth_extrapolation,
)
from lm_eval_scaling.tables.schema import read_counts


def signed_err(est: float, truth: float) -> float:
    """Signed relative error in -log pass@k: positive where the estimate is too high
    (-inf where it is 0)."""
    return (np.log(est) - np.log(truth)) / -np.log(truth) if est > 0 else float("-inf")


def rel_err(est: float, truth: float) -> float:
    """Relative error in -log pass@k (inf where the estimate is 0)."""
    return abs(signed_err(est, truth))


def summary(errors: list[float]) -> str:
    e = np.asarray(errors)
    zeros = int(np.isinf(e).sum())
    return (f"median {np.median(e):6.1%}   worst {np.max(e):7.1%}   mean {np.mean(e[np.isfinite(e)]):6.1%}"
            f"   zeros {zeros}   ({e.size} estimates)")


def levels_refit(full: PooledModel, n: np.ndarray, c: np.ndarray, observed: np.ndarray) -> PooledModel:
    """``full`` with only the checkpoint levels refitted to ``(n, c)``: a diagnostic that
    reaches into the module's private objective (every other parameter pinned by its box)."""
    J = n.shape[0]
    x0 = full.params
    bounds = pooled_module._bounds(J, n.shape[1])
    bounds[J:] = [(v, v) for v in x0[J:]]
    res = optimize.minimize(pooled_module._objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                            args=(n.astype(float), c.astype(float), observed.astype(float), full.shrinkage))
    e = pooled_module._expand(res.x, J)
    theta, log_g, log_s, _, ease = pooled_module._split(e, J)
    return PooledModel(theta=theta, slope=np.exp(log_g), spread=np.exp(log_s),
                       out_of_reach=full.out_of_reach, ease=ease, shrinkage=full.shrinkage,
                       log_likelihood=float("nan"), converged=bool(res.success),
                       iterations=int(res.nit), params=res.x)


def thin_draw(ckpts: dict[str, tuple[np.ndarray, np.ndarray]], names: list[str], n_all: np.ndarray,
              c_all: np.ndarray, observed: np.ndarray, m: int, draw: int,
              ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Thinning draw ``draw`` (seeded by it, checkpoints in name order): per checkpoint and
    as ``(checkpoints, problems)`` matrices."""
    rng = np.random.default_rng(draw)
    thinned = {name: thin_counts(n, c, m, rng) for name, (n, c) in ckpts.items()}
    n_thin, c_thin = np.zeros_like(n_all), np.zeros_like(c_all)
    for j, name in enumerate(names):
        n_thin[j][observed[j]], c_thin[j][observed[j]] = thinned[name]
    return thinned, n_thin, c_thin


def median_interval(errors: list[float], draws: list[int], level: float = 0.95,
                    resamples: int = 2000, baseline: list[float] | None = None) -> tuple[float, float]:
    """Percentile interval of the median error, resampling whole thinning draws (the
    checkpoints of one draw share its luck).  With ``baseline`` (errors of another estimate
    on the same checkpoint-draws): of ``median(errors) - median(baseline)``, paired."""
    e, d = np.asarray(errors), np.asarray(draws)
    b = None if baseline is None else np.asarray(baseline)
    idx = [np.flatnonzero(d == u) for u in np.unique(d)]
    rng = np.random.default_rng(0)
    stats_ = []
    for _ in range(resamples):
        pick = np.concatenate([idx[i] for i in rng.integers(0, len(idx), len(idx))])
        stats_.append(np.median(e[pick]) - (0.0 if b is None else np.median(b[pick])))
    lo, hi = np.quantile(stats_, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def pooled_only(ckpts: dict[str, tuple[np.ndarray, np.ndarray]], names: list[str],
                n_all: np.ndarray, c_all: np.ndarray, observed: np.ndarray,
                chosen: dict[str, tuple[np.ndarray, np.ndarray]], truth: dict[str, float],
                K: int, m: int, draws: int) -> None:
    """``--pooled-only``: the real-data benchmark's pooled arm alone (the same thinning draws),
    with an interval on the median."""
    errs: list[float] = []
    raw: list[float] = []
    draw_of: list[int] = []
    signed: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for draw in range(draws):
        thinned, n_thin, c_thin = thin_draw(ckpts, names, n_all, c_all, observed, m, draw)
        joint = fit_pooled_model(n_thin, c_thin, observed=observed)
        own = pooled_benchmark_pass_at_k(joint, n_thin, c_thin, observed, [K], smooth=False)
        unsmoothed = dict(zip(names, own[:, 0]))
        est = dict(zip(names, smooth_extrapolation(own, n_thin, c_thin, observed, [K])[:, 0]))
        for name in chosen:
            if truth[name] > 0 and thinned[name][1].sum() > 0:
                err = signed_err(float(est[name]), truth[name])
                errs.append(abs(err))
                raw.append(rel_err(float(unsmoothed[name]), truth[name]))
                draw_of.append(draw)
                signed.setdefault(name, []).append(err)
    per_draw = pd.Series(errs).groupby(draw_of).median()
    lo, hi = median_interval(errs, draw_of)
    print(f"\nthinned to n = {m}, pass@{K}, {draws} thinning draws ({time.perf_counter() - t0:.0f} s)")
    print(f"  estimator='pooled': {summary(errs)}")
    print(f"    95% interval of the median (draws resampled): {lo:.1%} .. {hi:.1%}")
    print(f"    median of one draw: {per_draw.min():.1%} .. {per_draw.max():.1%}")
    lo, hi = median_interval(raw, draw_of)
    dlo, dhi = median_interval(errs, draw_of, baseline=raw)
    print(f"  the pooled model's own values (smooth=False): {summary(raw)}")
    print(f"    95% interval of the median: {lo:.1%} .. {hi:.1%}; the smoothing changes the median "
          f"by {np.median(errs) - np.median(raw):+.2%} [{dlo:+.2%}, {dhi:+.2%}]")
    by_ckpt = pd.DataFrame([(name, np.median(v), np.std(v), len(v)) for name, v in signed.items()],
                           columns=["checkpoint", "median", "sd", "draws"]).sort_values("median")
    print(f"  signed error per checkpoint (+: pass@{K} too high; median and sd over the draws "
          f"where it has a success; median of all: {np.median(np.concatenate(list(signed.values()))):+.1%}):")
    for row in by_ckpt.itertuples():
        print(f"    {row.checkpoint:24s} {row.median:+7.1%}  sd {row.sd:6.1%}  ({row.draws} of {draws} draws)")


def simulate_counts(model: PooledModel, n: np.ndarray, observed: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Correct counts and success probabilities drawn from ``model`` for the cells ``n``:
    out of reach with probability ``pi_j``, else ``logit p = theta_j + g_j d_i + s_j z``."""
    J, I = n.shape
    logit = (model.theta[:, None] + model.slope[:, None] * model.ease[None, :]
             + model.spread[:, None] * rng.standard_normal((J, I)))
    p = special.expit(logit) * (rng.random((J, I)) >= model.out_of_reach[:, None])
    return np.where(observed, rng.binomial(n, p), 0), p


def level_profiles(model: PooledModel, n: np.ndarray, c: np.ndarray, observed: np.ndarray,
                   grid: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Every checkpoint's level set to each value of ``grid``, every other parameter of
    ``model`` kept: the log likelihood of each checkpoint's counts and its benchmark pass@K,
    each ``(grid, checkpoints)`` (reaches into the module's private cells)."""
    J, I = n.shape
    nf, cf = n.astype(float), c.astype(float)
    ll, pk = np.empty((grid.size, J)), np.empty((grid.size, J))
    for q, level in enumerate(grid):
        t = model.params.copy()
        t[:J] = level
        cell = pooled_module._cells(pooled_module._expand(t, J), nf, cf, slice(0, J), I)
        ll[q] = np.where(observed, cell.log_lik, 0.0).sum(axis=1)
        pk[q] = pooled_benchmark_pass_at_k(dataclasses.replace(model, params=t), n, c, observed, [K],
                                           smooth=False)[:, 0]
    return ll, pk


def best_for_relative_error(values: np.ndarray, weights: np.ndarray) -> float:
    """The estimate ``e`` minimising ``sum_q w_q |log e - log v_q| / -log v_q``: a weighted
    median of ``log v``."""
    lv = np.log(values)
    w = weights / -lv
    order = np.argsort(lv)
    cw = np.cumsum(w[order])
    return float(np.exp(lv[order][np.searchsorted(cw, cw[-1] / 2)]))


def simulated(full: PooledModel, n_all: np.ndarray, observed: np.ndarray, chosen: list[int],
              K: int, m: int, draws: int) -> None:
    """``--simulate``: the thinned-counts benchmark on counts drawn from ``full``."""
    errs: dict[str, list[float]] = {"vs the simulated full-data estimate": [],
                                    "vs the true pass@K of the drawn probabilities": [],
                                    "simulated full-data estimate vs true pass@K": []}
    oracle: dict[str, list[float]] = {
        "every parameter but the levels true, level by maximum likelihood": [],
        "  and the true levels' spread (smoothed) as prior, best for the error": [],
        "every parameter true, the levels too": []}
    grid = np.linspace(full.theta.min() - 1.5, full.theta.max() + 1.5, 161)
    prior = np.exp(-0.5 * ((grid[:, None] - full.theta[None, :]) / 0.15) ** 2).sum(axis=1)
    per_draw = []
    draw_of: list[int] = []
    t0 = time.perf_counter()
    for draw in range(draws):
        rng = np.random.default_rng([draw, 1])
        c_sim, p = simulate_counts(full, n_all, observed, rng)
        n_thin, c_thin = np.zeros_like(n_all), np.zeros_like(c_sim)
        for j in range(n_all.shape[0]):
            o = observed[j]
            n_thin[j][o], c_thin[j][o] = thin_counts(n_all[j][o], c_sim[j][o], m, rng)
        fit = fit_pooled_model(n_thin, c_thin, observed=observed)
        est = pooled_benchmark_pass_at_k(fit, n_thin, c_thin, observed, [K], smooth=False)[:, 0]
        ll, pk = level_profiles(full, n_thin, c_thin, observed, grid, K)
        mine = []
        for j in chosen:
            o = observed[j]
            sim_truth = float(pass_at_k(n_all[j][o], c_sim[j][o], K).mean())
            true = float(-np.expm1(K * np.log1p(-p[j][o])).mean())
            if sim_truth == 0 or c_thin[j].sum() == 0:
                continue
            for label, (a, b) in zip(errs, ((est[j], sim_truth), (est[j], true), (sim_truth, true))):
                errs[label].append(rel_err(float(a), b))
            mine.append(errs["vs the simulated full-data estimate"][-1])
            draw_of.append(draw)
            post = prior * np.exp(ll[:, j] - ll[:, j].max())
            for label, value in zip(oracle, (pk[np.argmax(ll[:, j]), j],
                                             best_for_relative_error(pk[:, j], post),
                                             np.interp(full.theta[j], grid, pk[:, j]))):
                oracle[label].append(rel_err(float(value), sim_truth))
        per_draw.append(np.median(mine))
    print(f"\nsimulated from the pooled model fitted to the full data ({draws} draws, "
          f"{time.perf_counter() - t0:.0f} s): estimator='pooled' on the thinned counts")
    for label, e in errs.items():
        print(f"  {label:<47s}: {summary(e)}")
    lo, hi = median_interval(errs["vs the simulated full-data estimate"], draw_of)
    print(f"    95% interval of the median vs the simulated full-data estimate (draws resampled): "
          f"{lo:.1%} .. {hi:.1%}")
    q = np.quantile(per_draw, [0.0, 0.5, 1.0])
    print(f"    median of one draw, vs the simulated full-data estimate: {q[0]:.1%} .. {q[2]:.1%} "
          f"(median {q[1]:.1%})")
    print("  oracles from the same thinned counts, vs the simulated full-data estimate:")
    for label, e in oracle.items():
        lo, hi = median_interval(e, draw_of)
        print(f"    {label:<70s}: {summary(e)}; median's 95% interval {lo:.1%} .. {hi:.1%}")


def expected(chosen: dict[str, tuple[np.ndarray, np.ndarray]], truth: dict[str, float],
             K: int, m: int) -> None:
    """``--expected``: each per-checkpoint model fitted to the exact distribution of the
    thinned counts."""
    print("\nexpected thinning (fit to the exact distribution of the thinned counts, no draw noise):")
    cs = np.arange(m + 1)
    kind_errs: dict[str, list[float]] = {kind: [] for kind in MODEL_KINDS}
    strong: list[bool] = []
    for name, (n, c) in chosen.items():
        if truth[name] == 0:
            continue
        prob = stats.hypergeom.pmf(cs[None, :], n[:, None], c[:, None], m)  # (P, m + 1)
        w = prob.reshape(-1)
        keep = w > 1e-15
        nn = np.full(w.size, m)[keep]
        cc = np.tile(cs, n.size)[keep]
        strong.append(truth[name] >= 0.05)
        for kind in MODEL_KINDS:
            fit = fit_success_model(nn, cc, kind, weights=w[keep])
            kind_errs[kind].append(rel_err(float(fit.pass_at_k(K)), truth[name]))
    mask = np.asarray(strong)
    for label, e in kind_errs.items():
        print(f"  {label:<14s}: all  {summary(e)}")
        print(f"  {'':<14s}  pass@{K} >= 0.05 {summary(list(np.asarray(e)[mask]))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", required=True,
                    help="counts.csv of one task (the Pythia GSM8K counts, or an imported file)")
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--m", type=int, default=128, help="samples per problem after thinning")
    ap.add_argument("--draws", type=int, default=5, help="thinning draws (seeds 0..draws-1)")
    ap.add_argument("--expected", action="store_true", help="also the noise-free (expected-thinning) fit")
    ap.add_argument("--floor", action="store_true",
                    help="also the pooled model with its parameters (all, or all but the levels) "
                         "from a fit to the full data")
    ap.add_argument("--simulate", action="store_true",
                    help="also the pooled estimator on counts simulated from the pooled model "
                         "fitted to the full data (same samples per cell)")
    ap.add_argument("--pooled-only", action="store_true",
                    help="only the pooled estimator on the real thinned counts (the same draws), "
                         "with an interval on its median")
    ap.add_argument("--coverage", type=int, default=0, metavar="B",
                    help="also the coverage of the 95%% intervals (B resamples, problem-only and "
                         "hierarchical bootstrap, and the pooled model's refit bootstrap, "
                         "problem-only and hierarchical) of the full-data value")
    args = ap.parse_args()
    K, m = args.k, args.m

    counts = read_counts(args.counts)
    tasks = sorted(map(str, counts["task"].unique()))
    if len(tasks) > 1:
        shown = ", ".join(tasks[:3]) + (", ..." if len(tasks) > 3 else "")
        ap.error(f"{args.counts}: field 'task' has {len(tasks)} values ({shown}); the benchmark "
                 "thins the counts of one task")
    keys, _, n_all, c_all, observed = count_matrices(counts)
    names = [f"{model}@{revision}" if revision else model for model, revision in keys]
    ckpts = {name: (n_all[j][observed[j]], c_all[j][observed[j]]) for j, name in enumerate(names)}
    chosen = {name: nc for name, nc in ckpts.items() if nc[0].min() >= K}
    truth = {name: float(pass_at_k(n, c, K).mean()) for name, (n, c) in chosen.items()}
    truth_m = {name: float(pass_at_k(n, c, m).mean()) for name, (n, c) in chosen.items()}
    no_success = sorted(nm for nm, t in truth.items() if t == 0)
    print(f"{len(chosen)} checkpoints with every problem n >= {K}; {len(no_success)} without any "
          f"success in the full data (left out: {', '.join(no_success)})")
    if args.pooled_only:
        pooled_only(ckpts, names, n_all, c_all, observed, chosen, truth, K, m, args.draws)
        return

    plain: list[float] = []
    model: list[float] = []
    pooled: list[float] = []
    pooled_raw: list[float] = []
    noise: list[float] = []
    kinds: dict[str, int] = {}
    cover: dict[str, list[bool]] = {"problems": [], "hierarchical": [], "pooled": [],
                                    "pooled hierarchical": []}
    unresolved = covered = 0
    rows = []
    fit_seconds: list[float] = []
    floor: dict[str, list[float]] = {"all parameters from the full data": [],
                                     "all but the levels from the full data": []}
    full_fit = (fit_pooled_model(n_all, c_all, observed=observed)
                if args.floor or args.simulate else None)
    t0 = time.perf_counter()
    for draw in range(args.draws):
        thinned, n_thin, c_thin = thin_draw(ckpts, names, n_all, c_all, observed, m, draw)
        t_fit = time.perf_counter()
        joint = fit_pooled_model(n_thin, c_thin, observed=observed)
        fit_seconds.append(time.perf_counter() - t_fit)
        own = pooled_benchmark_pass_at_k(joint, n_thin, c_thin, observed, [K], smooth=False)
        joint_raw = dict(zip(names, own[:, 0]))
        joint_k = dict(zip(names, smooth_extrapolation(own, n_thin, c_thin, observed, [K])[:, 0]))
        if args.floor:
            assert full_fit is not None
            oracle = {"all parameters from the full data": full_fit,
                      "all but the levels from the full data": levels_refit(full_fit, n_thin, c_thin, observed)}
            oracle_k = {label: dict(zip(names, pooled_benchmark_pass_at_k(
                fit, n_thin, c_thin, observed, [K], smooth=False)[:, 0])) for label, fit in oracle.items()}
        if args.coverage:
            joint_iv = {}
            for label, hier in (("pooled", False), ("pooled hierarchical", True)):
                boot = resampled_pooled_pass_at_k(joint, n_thin, c_thin, observed, [K],
                                                  bootstrap_weights(n_all.shape[1], args.coverage, draw),
                                                  hierarchical=hier, seed=draw)
                joint_iv[label] = [dict(zip(names, q))
                                   for q in np.quantile(boot[:, :, 0], [0.025, 0.975], axis=0)]
        for name in chosen:
            nt, ct = thinned[name]
            if truth[name] == 0:
                continue
            if ct.sum() == 0:
                res = benchmark_pass_at_k(nt, ct, [K], n_boot=0, estimator="beta_binomial")
                unresolved += 1
                bound = benchmark_pass_at_k(nt, ct, [K], ci=0.95, n_boot=1, estimator="beta_binomial")
                covered += int(truth[name] <= bound.ci_high[0])
                assert np.isnan(res.pass_at_k[0]) and res.source[0] == "not_resolved"
                continue
            bb = fit_success_model(nt, ct, "beta_binomial").pass_at_k(K)
            res = benchmark_pass_at_k(nt, ct, [K], ci=None, estimator="beta_binomial")
            kinds[res.source[0]] = kinds.get(res.source[0], 0) + 1
            if args.coverage:
                for label, hier in (("problems", False), ("hierarchical", True)):
                    iv = benchmark_pass_at_k(nt, ct, [K], n_boot=args.coverage, seed=draw,
                                             estimator="beta_binomial", model=res.source[0],
                                             hierarchical=hier)
                    cover[label].append(bool(iv.ci_low[0] <= truth[name] <= iv.ci_high[0]))
                for label, (lo, hi) in joint_iv.items():
                    cover[label].append(bool(lo[name] <= truth[name] <= hi[name]))
            plain.append(rel_err(float(bb), truth[name]))
            model.append(rel_err(float(res.pass_at_k[0]), truth[name]))
            pooled.append(rel_err(float(joint_k[name]), truth[name]))
            pooled_raw.append(rel_err(float(joint_raw[name]), truth[name]))
            if args.floor:
                for label, values in oracle_k.items():
                    floor[label].append(rel_err(float(values[name]), truth[name]))
            noise.append(rel_err(float(pass_at_k(nt, ct, m).mean()), truth_m[name]))
            rows.append((draw, name, int(ct.sum()), truth[name], float(bb), float(res.pass_at_k[0]),
                         res.source[0], float(joint_k[name])))
    elapsed = time.perf_counter() - t0

    print(f"\nthinned to n = {m}, pass@{K}, {args.draws} thinning draws ({elapsed:.0f} s)")
    print(f"  plain beta-binomial (population) : {summary(plain)}")
    print(f"  estimator='beta_binomial'        : {summary(model)}")
    print(f"    model kinds chosen: {', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}")
    print(f"  estimator='pooled' (all {len(names)} checkpoints): {summary(pooled)}")
    print(f"    the pooled model's own values (smooth=False): {summary(pooled_raw)}")
    per_draw = pd.DataFrame({"draw": [r[0] for r in rows], "bb": model, "pooled": pooled,
                             "plain": plain}).groupby("draw").median()
    for col, label in (("plain", "plain beta-binomial"), ("bb", "estimator='beta_binomial'"),
                       ("pooled", "estimator='pooled'")):
        q = per_draw[col].quantile([0.0, 0.5, 1.0]).to_numpy()
        print(f"    median of one draw, {label}: {q[0]:.1%} .. {q[2]:.1%} (median {q[1]:.1%})")
    print(f"    pooled fit: {np.median(fit_seconds):.1f} s per draw (median)")
    for label, errs in floor.items():
        if errs:
            print(f"    pooled, {label}: {summary(errs)}")
    print(f"  noise floor: unbiased pass@{m} of the thinned counts vs full data: {summary(noise)}")
    print(f"  no success after thinning (not resolved: NaN + upper bound): {unresolved} "
          f"checkpoint-draws; 95% upper bound covers the full-data pass@{K} in {covered}")
    if args.coverage:
        for label, hits in cover.items():
            print(f"  95% interval ({label} bootstrap, {args.coverage} resamples) covers the "
                  f"full-data pass@{K}: {np.mean(hits):.0%} of {len(hits)}")
    table = pd.DataFrame(rows, columns=["draw", "checkpoint", "thinned_successes", "full_data",
                                        "plain_bb", "estimator", "kind", "pooled"])
    worst = table.assign(err=model).sort_values("err", ascending=False).head(5)
    print("\n  worst estimates (estimator='beta_binomial'):")
    print(worst.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    bins = pd.cut(table["thinned_successes"], [0, 2, 10, 30, np.inf],
                  labels=["1-2", "3-10", "11-30", ">30"])
    by = pd.DataFrame({"successes after thinning": bins, "beta_binomial": model, "pooled": pooled,
                       "unsmoothed": pooled_raw})
    print("\n  median error by successes left after thinning:")
    print(by.groupby("successes after thinning", observed=True).agg(
        n=("pooled", "size"), beta_binomial=("beta_binomial", "median"),
        pooled=("pooled", "median"),
        unsmoothed=("unsmoothed", "median")).to_string(float_format=lambda v: f"{v:.1%}"))

    if args.simulate:
        assert full_fit is not None
        simulated(full_fit, n_all, observed, [j for j, name in enumerate(names) if name in chosen],
                  K, m, args.draws)

    if args.expected:
        expected(chosen, truth, K, m)

if __name__ == "__main__":
    main()

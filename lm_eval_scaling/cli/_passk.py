"""``lm-eval-scaling passk``: benchmark pass@k per checkpoint and k."""

from __future__ import annotations

import argparse

from ._common import (
    EXIT_EMPTY,
    add_estimator_arguments,
    add_jobs_argument,
    add_output_argument,
    add_problems_argument,
    check_bootstrap,
    check_output,
    emit_table,
    parse_int_list,
    seed_int,
)

__all__ = ["register"]

DISPLAY_COLUMNS = ("checkpoint", "task", "k", "pass_at_k", "ci_low", "ci_high",
                   "neg_log_pass_at_k", "num_problems", "num_problems_excluded", "source")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "passk",
        help="pass@k per checkpoint and k, with bootstrap CIs",
        description=(
            "Benchmark pass@k (mean over problems of the unbiased estimator) for every "
            "checkpoint in the counts tables, with a percentile bootstrap CI over problems. "
            "--estimator beta_binomial gives pass@k beyond the samples drawn: problems with "
            "fewer samples than k get their posterior pass@k under a model of per-problem "
            "success probabilities (column 'source' names it); --estimator pooled fits one "
            "such model to all checkpoints of a task together (each resample of the bootstrap "
            "refits it: use --bootstrap 100 or --ci 0 on large ladders)."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="counts table (.csv/.parquet) or lm_eval output directory")
    p.add_argument("--k", type=parse_int_list, default=[1, 10, 100], metavar="K,K,...",
                   help="k values: 1,10,100 (default), ranges 1-8, or log grids 1:1e4:24")
    p.add_argument("--ci", type=float, default=0.95,
                   help="bootstrap confidence level; 0 disables the bootstrap (default 0.95)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="B",
                   help="bootstrap resamples over problems (default 1000; at least 20)")
    p.add_argument("--seed", type=seed_int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--policy", choices=["drop_problems", "drop_k", "error"], default="drop_problems",
                   help="problems with num_samples < k: leave them out of that k (default), "
                        "report NaN for the k, or fail")
    add_estimator_arguments(p)
    p.add_argument("--model", choices=["auto", "beta_binomial", "zero_inflated", "mixture"],
                   default="auto",
                   help="with --estimator beta_binomial: the success-probability model "
                        "(default auto: chosen per checkpoint by held-out likelihood)")
    p.add_argument("--ladder", metavar="FILE|pythia", default=None,
                   help="ladder table or the preset 'pythia': rows are then ordered by "
                        "compute (default: checkpoint names in natural order, 70m before 1b)")
    add_jobs_argument(p, "worker processes of the pooled bootstrap")
    add_problems_argument(p)
    add_output_argument(p, "pass@k table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..collect.load import load_tables
    from ..passk.benchmark import passk_table
    from ..passk.problems import align_problems

    check_bootstrap(args.bootstrap, args.ci)
    check_output(args.output, [*args.inputs, args.ladder])
    ladder = None
    if args.ladder:
        from ..tables.ladder import load_ladder

        ladder = load_ladder(args.ladder)
    counts, _ = load_tables(args.inputs)
    counts = align_problems(counts, args.problems)
    table = passk_table(counts, args.k, ci=args.ci or None, n_boot=args.bootstrap,
                        seed=args.seed, policy=args.policy, estimator=args.estimator,
                        model=args.model, hierarchical=args.hierarchical, n_jobs=args.jobs)
    if ladder is not None:
        from ..analysis.points import passk_points

        points = passk_points(counts, ladder, ks=args.k, policy=args.policy, passk=table)
        compute = points.drop_duplicates("checkpoint").set_index("checkpoint")["compute"]
        table = (table.assign(compute=table["checkpoint"].map(compute))
                 .sort_values("compute", kind="stable").reset_index(drop=True))
    emit_table(table, args.output, display_columns=DISPLAY_COLUMNS)
    return EXIT_EMPTY if table["pass_at_k"].isna().all() else 0

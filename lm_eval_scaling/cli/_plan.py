"""``lm-eval-scaling plan``: where the next samples go, and how many a target width needs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError
from ._common import add_output_argument, check_output, emit_table

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "plan",
        help="next chunk's samples per problem for a budget, and samples a target width needs",
        description=(
            "From the counts gathered so far for one checkpoint, allocate the next BUDGET "
            "samples to the problems whose pass@k at --k is still unresolved (Wilson interval "
            "of 1 - (1 - p)^k wider than --tol), none to resolved problems.  --rule variance "
            "(default): Neyman allocation, totals in proportion to the standard deviation of "
            "each problem's pass@k estimate at the lower limit of its interval (less to "
            "problems surely solved often, never less to a problem for looking hopeless, "
            "which would bias pass@k low); --rule passuntil: the fewest-sampled first, so "
            "that the unresolved problems advance together.  The saving against uniform "
            "sampling is about the share of problems resolved (printed); where most problems "
            "are unresolved at --k (weak models) both rules amount to uniform sampling.  "
            "Prints the table (problem_id, n_more) and, with --samples-dir, "
            "writes lm_eval --samples JSON files, one per round of --chunk samples per "
            "problem.  --width W also says how many samples per problem (uniform) and in "
            "all (allocated) bring the interval of benchmark pass@k under W."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="counts table (.csv/.parquet) or lm_eval output directory")
    p.add_argument("--k", type=int, required=True, help="the k of interest")
    p.add_argument("--budget", type=int, required=True, help="samples to spend in the next chunk")
    p.add_argument("--chunk", type=int, default=64,
                   help="samples per problem per lm_eval run (n_samples); allocations are "
                        "multiples of it (default 64)")
    p.add_argument("--rule", choices=("variance", "passuntil"), default="variance",
                   help="allocation rule among the unresolved problems (default variance)")
    p.add_argument("--tol", type=float, default=0.05,
                   help="a problem is resolved when its pass@k interval is narrower (default 0.05)")
    p.add_argument("--ci", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--cap", type=int, default=None,
                   help="most samples per problem in all (default: no cap)")
    p.add_argument("--checkpoint", default=None, metavar="NAME",
                   help="the checkpoint (MODEL or MODEL@REVISION) to plan for; required when "
                        "the counts hold several")
    p.add_argument("--task", default=None,
                   help="the task (required when the counts hold several; names the task in "
                        "the --samples files when the counts carry no task name)")
    p.add_argument("--width", type=float, default=None,
                   help="target interval width of benchmark pass@k at --k: print the samples needed")
    p.add_argument("--samples-dir", default=None, metavar="DIR",
                   help="write DIR/round_NN.json, lm_eval --samples selections ({task: [doc "
                        "indices]}); run round j with --metadata '{\"n_samples\": CHUNK}' and "
                        "a seed of its own")
    add_output_argument(p, "allocation table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..analysis.plan import allocate_samples, problem_widths, samples_needed, samples_rounds
    from ..collect.load import load_tables
    from ..tables.checkpoints import checkpoint_name
    from ..tables.files import check_output_dir, output_lock, write_text

    check_output(args.output, args.inputs)
    if args.samples_dir is not None:
        check_output_dir(args.samples_dir, names=(), inputs=args.inputs)
    counts, _ = load_tables(args.inputs)
    names = pd.Series([checkpoint_name(m, r) for m, r in zip(counts["model"], counts["revision"])],
                      index=counts.index)
    if args.checkpoint is not None:
        counts = counts[names == args.checkpoint]
        if counts.empty:
            raise InputError(f"--checkpoint {args.checkpoint!r}: not in the counts "
                             f"({', '.join(sorted(set(names))[:10])})")
    elif names.nunique() > 1:
        raise InputError(f"the counts hold {names.nunique()} checkpoints; choose one with "
                         f"--checkpoint ({', '.join(sorted(set(names))[:10])})")
    if args.task is not None and (counts["task"] != "").any():
        counts = counts[counts["task"] == args.task]
        if counts.empty:
            raise InputError(f"--task {args.task!r}: not in the counts of that checkpoint")
    elif counts["task"].nunique() > 1:
        raise InputError(f"the counts hold several tasks; choose one with --task "
                         f"({', '.join(sorted(counts['task'].unique()))})")
    counts = counts.sort_values("problem_id", kind="stable").reset_index(drop=True)
    n = counts["num_samples"].to_numpy()
    c = counts["num_correct"].to_numpy()
    task = str(counts["task"].iloc[0]) or (args.task or "")
    if args.samples_dir is not None:
        if not task:
            raise InputError("the counts carry no task name: pass --task NAME for the --samples files")
        out_dir = Path(args.samples_dir)
        if out_dir.exists() and any(out_dir.glob("round_*.json")):
            raise InputError(f"{out_dir}: holds round_*.json files already; choose an empty directory")
    alloc = allocate_samples(n, c, args.k, args.budget, chunk=args.chunk, tol=args.tol,
                             ci=args.ci, cap=args.cap, rule=args.rule)
    table = pd.DataFrame({
        "problem_id": counts["problem_id"], "num_samples": n, "num_correct": c,
        "n_more": alloc.n_more, "resolved": alloc.resolved,
    })
    emit_table(table, args.output)
    now = int((problem_widths(n, c, args.k, ci=args.ci) <= args.tol).sum())
    print(f"# spent {alloc.spent} of {alloc.budget} samples on "
          f"{int((alloc.n_more > 0).sum())} of {len(table)} problems; resolved at k={args.k} "
          f"(tol {args.tol:g}): {now} now, {int(alloc.resolved.sum())} projected (this chunk "
          f"saves about the share resolved, {now / len(table):.0%}, against uniform sampling "
          f"at equal error); interval width of pass@{args.k}: {alloc.width_before:.3g} now, "
          f"{alloc.width_after:.3g} projected")
    if args.samples_dir is not None:
        rounds = samples_rounds(list(table["problem_id"]), alloc.n_more, args.chunk, task)
        with output_lock(out_dir):
            for j, sel in enumerate(rounds, 1):
                write_text(out_dir / f"round_{j:02d}.json", json.dumps(sel) + "\n")
        print(f"# wrote {len(rounds)} lm_eval --samples file(s) to {out_dir}/round_NN.json: "
              f"lm_eval ... --samples {out_dir}/round_01.json --metadata "
              f"'{{\"n_samples\": {args.chunk}}}' --seed <a seed per round>")
    if args.width is not None:
        need = samples_needed(n, c, args.k, args.width, ci=args.ci, chunk=args.chunk)
        uni, alc = need["uniform_more"], need["allocated_more"]
        print(f"# interval width {args.width:g} at k={args.k}: uniform "
              f"{need['uniform_per_problem'] or 'out of reach'} samples per problem "
              f"({uni if uni is not None else '-'} more); allocated "
              f"{alc if alc is not None else 'out of reach'} more"
              + (f" ({1 - alc / uni:.0%} fewer)" if uni and alc is not None else ""))
    return 0

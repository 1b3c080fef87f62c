"""``lm-eval-scaling import``: samples of other harnesses and published counts -> tidy tables."""

from __future__ import annotations

import argparse
import sys

from ._rescore import add_force_argument

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from ..harness.extractors import extractor_names

    p = sub.add_parser(
        "import",
        help="bring existing samples in: Large Language Monkeys parquet, lm-eval, lighteval",
        description=(
            "Turn samples or counts written by other tools into the tidy tables every "
            "command reads (counts.csv, plus ladder.csv, answers.csv, majority.csv where the "
            "source allows).  Anything that cannot be read is refused with the file, row, "
            "field and value; counts are never filled in."
        ),
    )
    kinds = p.add_subparsers(dest="source", metavar="SOURCE", required=True)

    m = kinds.add_parser(
        "monkeys",
        help="the public Large Language Monkeys pass@k parquet -> counts.csv + ladder.csv",
        description=(
            "Read a 'Large Language Monkeys' pass@k parquet file (columns Model Nickname, "
            "prompt_idx, Num. Samples, Num. Samples Correct, repeated per k) into counts.csv "
            "(one row per checkpoint and problem) and ladder.csv (Pythia nicknames such as "
            "Pythia_1.4B_200B -> EleutherAI/pythia-1.4b at step100000, with exact and "
            "nominal parameters, non-embedding parameters and tokens)."
        ),
    )
    m.add_argument("file", metavar="FILE.parquet")
    m.add_argument("--task", default=None,
                   help="task name in counts.csv (default: the file name before _pass_at_k)")
    m.add_argument("-o", "--output", required=True, metavar="DIR")
    add_force_argument(m)
    m.set_defaults(handler=_run_monkeys)

    le = kinds.add_parser(
        "lm-eval",
        help="lm-eval sample logs: 0.5 scores_per_repeat, or 0.4 repeats rescored",
        description=(
            "Read lm_eval output directories (results_*.json + samples_*.jsonl) of any "
            "generation task with repeats, with the merge rules of collect.  --metric NAME "
            "counts lm-eval 0.5's per-sample scores (scores_per_repeat.NAME, 0/1 per "
            "repeat); --extractor NAME instead scores every logged response again against "
            "the task's target (lm-eval 0.4 repeats tasks; as `rescore`), which also writes "
            "answers.csv and majority.csv."
        ),
    )
    le.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    how = le.add_mutually_exclusive_group(required=True)
    how.add_argument("--metric", help="count scores_per_repeat of this metric (lm-eval 0.5)")
    how.add_argument("--extractor", choices=extractor_names(),
                     help="score the logged responses with this answer extractor")
    le.add_argument("--filter", dest="filter_name", default=None,
                    help="with --metric: the filter whose scores to count (needed when "
                         "the samples were scored by several)")
    le.add_argument("--strip-prefix", action="append", default=[], metavar="PREFIX")
    le.add_argument("-o", "--output", required=True, metavar="DIR")
    add_force_argument(le)
    le.set_defaults(handler=_run_lm_eval)

    li = kinds.add_parser(
        "lighteval",
        help="lighteval details parquet files -> counts.csv",
        description=(
            "Read lighteval details files (details_<task>_<date>.parquet: doc, "
            "model_response, metric).  --metric NAME (default: the only countable one) "
            "must be the mean correctness of the problem's n samples (avg@n, pass@k with "
            "k=1, or a 0/1 metric of one sample): num_correct = value * n.  --extractor "
            "NAME scores every generation again against doc.choices[doc.gold_index] and "
            "also writes answers.csv and majority.csv."
        ),
    )
    li.add_argument("files", nargs="+", metavar="DETAILS.parquet")
    li.add_argument("--model", required=True, help="model name for counts.csv")
    li.add_argument("--revision", default="", help="model revision for counts.csv")
    li.add_argument("--task", default=None,
                    help="task name (default: the <task> part of the file name)")
    how_li = li.add_mutually_exclusive_group()
    how_li.add_argument("--metric", default=None)
    how_li.add_argument("--extractor", choices=extractor_names(), default=None)
    li.add_argument("--ids-from-rows", action="store_true",
                    help="number problems by row when the docs carry no id")
    li.add_argument("-o", "--output", required=True, metavar="DIR")
    add_force_argument(li)
    li.set_defaults(handler=_run_lighteval)


def _run_monkeys(args: argparse.Namespace) -> int:
    from ..collect.monkeys import import_monkeys
    from ..tables.files import output_lock, write_table_file
    from ._rescore import output_dir

    out = output_dir(args.output, [args.file], force=args.force)
    result = import_monkeys(args.file, task=args.task)
    with output_lock(out):
        for name in ("counts", "ladder"):
            table = getattr(result, name)
            path = write_table_file(table, out / f"{name}.csv")
            sys.stdout.write(f"{name + ':':9s} {path} ({len(table)} rows)\n")
    if result.unmatched:
        sys.stdout.write(f"not Pythia checkpoints (no ladder row): {', '.join(result.unmatched)}\n")
    return 0


def _run_lm_eval(args: argparse.Namespace) -> int:
    from ._rescore import output_dir, write_rescored

    out = output_dir(args.output, args.run_dirs, force=args.force)
    if args.extractor is not None:
        from ..collect.rescore import rescore_runs

        rescored = rescore_runs(args.run_dirs, args.extractor, strip_prefixes=args.strip_prefix)
        write_rescored(out, rescored.counts, rescored.answers, rescored.runs)
        return 0
    from ..collect.rescore import scores_per_repeat_runs

    result = scores_per_repeat_runs(args.run_dirs, metric=args.metric,
                                    filter_name=args.filter_name,
                                    strip_prefixes=args.strip_prefix)
    write_rescored(out, result.counts, None, result.runs)
    return 0


def _run_lighteval(args: argparse.Namespace) -> int:
    from ..collect.lighteval import import_lighteval
    from ._rescore import output_dir, write_rescored

    out = output_dir(args.output, args.files, force=args.force)
    result = import_lighteval(args.files, model=args.model, revision=args.revision,
                              task=args.task, metric=args.metric, extractor=args.extractor,
                              ids_from_rows=args.ids_from_rows)
    write_rescored(out, result.counts, result.answers, None)
    return 0

"""``lm-eval-scaling collect``: lm_eval output directories -> counts.csv, gold.csv, runs.csv."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "collect",
        help="harness output directories -> tidy counts.csv and gold.csv",
        description=(
            "Read lm_eval output (results_*.json + samples_*.jsonl from --log_samples) under "
            "RUN_DIR... and write tidy tables counts.csv (model, revision, task, problem_id, "
            "num_samples, num_correct), gold.csv (..., gold_logprob, gold_bytes) and runs.csv "
            "(provenance) into TABLES_DIR.  Chunks of one checkpoint run with different "
            "--seed merge by summing counts; the same seed twice is refused.  TABLES_DIR's "
            "counts.csv/gold.csv/runs.csv are replaced only when lm-eval-scaling wrote them "
            "(it keeps a manifest there), else --force is needed."
        ),
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="lm_eval --output_path directory (searched recursively) or results file")
    p.add_argument("-o", "--output", required=True, metavar="TABLES_DIR",
                   help="directory to write counts.csv, gold.csv and runs.csv into")
    p.add_argument("--strip-prefix", action="append", default=[], metavar="PREFIX",
                   help="remove PREFIX from the start of model names (e.g. the directory of "
                        "local checkpoints); repeatable")
    p.add_argument("--force", action="store_true",
                   help="replace counts.csv/gold.csv/runs.csv in TABLES_DIR even when they "
                        "were not written by lm-eval-scaling")
    p.add_argument("--gold-rtol", type=float, default=1e-3, metavar="RTOL",
                   help="relative tolerance for the same gold log-probability in two runs "
                        "(default 1e-3)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..collect import TABLE_FILES, collect_tables, write_tables
    from ..errors import InputError
    from ..tables.files import check_output_dir

    if not (args.gold_rtol >= 0 and args.gold_rtol < 1):
        raise InputError(f"--gold-rtol must be in [0, 1), got {args.gold_rtol}")
    check_output_dir(args.output, names=TABLE_FILES, inputs=args.run_dirs, force=args.force)
    result = collect_tables(args.run_dirs, gold_rtol=args.gold_rtol,
                            strip_prefixes=args.strip_prefix)
    paths = write_tables(result, args.output, force=args.force)
    sys.stdout.write(
        f"counts: {paths['counts']} ({len(result.counts)} rows)\n"
        f"gold:   {paths['gold']} ({len(result.gold)} rows)\n"
        f"runs:   {paths['runs']} ({len(result.runs)} samples files)\n"
    )
    if result.warnings:
        sys.stdout.write(f"{len(result.warnings)} warning(s): see the log above\n")
    return 0

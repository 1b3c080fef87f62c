"""``lm-eval-scaling rescore``: recount num_correct from logged responses, without the model."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_force_argument", "output_dir", "register", "write_rescored"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from ..harness.extractors import extractor_names

    p = sub.add_parser(
        "rescore",
        help="recount num_correct from --log_samples responses with another answer extractor",
        description=(
            "Read lm_eval output (results_*.json + samples_*.jsonl from --log_samples) under "
            "RUN_DIR..., extract the final answer of every logged response with --extractor "
            "and count it against the problem's reference, with the merge rules of collect "
            "(chunks with different seeds are summed, the same seeds twice refused).  Writes "
            "counts.csv, runs.csv, answers.csv (each distinct answer of a problem and how "
            "often it was given) and majority.csv (per model, revision, task and k: pass@k, "
            "maj@k, avg@n) into TABLES_DIR."
        ),
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="lm_eval --output_path directory (searched recursively) or results file")
    p.add_argument("--extractor", required=True, choices=extractor_names(),
                   help="answer extractor: strict (number after '####' or 'answer is'), "
                        "flexible (else the last number), math_verify (needs the [math] extra)")
    p.add_argument("-o", "--output", required=True, metavar="TABLES_DIR",
                   help="directory to write the tables into")
    p.add_argument("--strip-prefix", action="append", default=[], metavar="PREFIX",
                   help="remove PREFIX from the start of model names; repeatable")
    add_force_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..collect.rescore import rescore_runs

    out = output_dir(args.output, args.run_dirs, force=args.force)
    result = rescore_runs(args.run_dirs, args.extractor, strip_prefixes=args.strip_prefix)
    write_rescored(out, result.counts, result.answers, result.runs)
    if result.warnings:
        sys.stdout.write(f"{len(result.warnings)} warning(s): see the log above\n")
    return 0


def write_rescored(out: Path, counts: pd.DataFrame, answers: pd.DataFrame | None,
                   runs: pd.DataFrame | None) -> None:
    """Write counts/answers/majority (and runs when given) and say where."""
    from ..passk.majority import majority_table
    from ..tables.files import output_lock, write_table_file

    tables = {"counts": counts}
    if answers is not None:
        tables["answers"] = answers
        tables["majority"] = majority_table(answers)
    if runs is not None:
        tables["runs"] = runs
    with output_lock(out):  # one run's tables, never mixed with another's
        for name, table in tables.items():
            path = write_table_file(table, out / f"{name}.csv")
            sys.stdout.write(f"{name + ':':9s} {path} ({len(table)} rows)\n")


#: The files ``write_rescored`` may write into ``-o DIR``.
RESCORED_FILES = ("counts.csv", "answers.csv", "majority.csv", "runs.csv", "ladder.csv")


def output_dir(value: str, inputs: Sequence[object] = (), *, force: bool = False) -> Path:
    """``-o DIR`` checked before any work starts: a writable directory, not an input, whose
    tables of the same names lm-eval-scaling wrote (else ``--force``)."""
    from ..tables.files import check_output_dir

    return check_output_dir(value, names=RESCORED_FILES, inputs=inputs, force=force)


def add_force_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="replace tables in DIR even when lm-eval-scaling did not write them")

"""Turn INPUT arguments (table files or harness output directories) into tidy tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..tables.schema import COUNTS_KEY, concat_tables, read_counts

__all__ = ["load_tables"]


def load_tables(
    inputs: Sequence[str | os.PathLike[str]],
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``(counts, gold)``: one validated counts table from several inputs, and the gold
    table the harness output directories hold (None when they hold none).

    A file is read as a counts table (CSV/Parquet); the directories are read together as
    lm_eval output (``results_*.json`` + ``samples_*.jsonl``) by
    :func:`lm_eval_scaling.collect.collect_tables`, so its merge rules apply across them.
    The same (model, revision, task, problem_id) in two inputs is an error.
    """
    if not inputs:
        raise InputError("no INPUT given: pass a counts table or a harness output directory")
    for item in inputs:
        if not Path(item).exists():
            raise InputError(f"{item}: no such file or directory")
    dirs = [p for p in inputs if Path(p).is_dir()]
    files = [p for p in inputs if not Path(p).is_dir()]
    frames: list[tuple[str, pd.DataFrame]] = [(str(p), read_counts(p)) for p in files]
    gold = None
    if dirs:
        from . import collect_tables

        collected = collect_tables(dirs)
        frames.insert(0, (", ".join(map(str, dirs)), collected.counts))
        gold = collected.gold if len(collected.gold) else None
    return concat_tables(frames, COUNTS_KEY), gold

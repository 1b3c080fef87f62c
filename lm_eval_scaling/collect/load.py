"""Turn the CLI's INPUT arguments (table files or harness output directories) into tidy tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..tables.schema import COUNTS_KEY, concat_tables, read_counts

__all__ = ["load_counts"]


def load_counts(inputs: Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    """One validated counts table from several inputs.

    A file is read as a counts table (CSV/Parquet); a directory is read as lm_eval
    output (``results_*.json`` + ``samples_*.jsonl``) through :mod:`lm_eval_scaling.collect`.
    The same (model, revision, task, problem_id) in two inputs is an error.
    """
    if not inputs:
        raise InputError("no INPUT given: pass a counts table or a harness output directory")
    frames: list[tuple[str, pd.DataFrame]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            frames.append((str(path), _counts_from_run_dir(path)))
        elif path.exists():
            frames.append((str(path), read_counts(path)))
        else:
            raise InputError(f"{path}: no such file or directory")
    return concat_tables(frames, COUNTS_KEY)


def _counts_from_run_dir(path: Path) -> pd.DataFrame:
    try:
        from . import collect_tables
    except ImportError as exc:  # pragma: no cover - only before the collect module exists
        raise InputError(f"{path}: reading harness output directories needs lm_eval_scaling.collect") from exc
    return collect_tables([path]).counts

"""Which problems enter a comparison between checkpoints.

pass@k is a mean over problems, so two checkpoints scored on different problem sets are
not comparable: a checkpoint evaluated on only its easiest problems looks better than it
is.  :func:`align_problems` detects a task whose checkpoints do not share one problem
set and, per ``mode``:

* ``"intersect"`` (the default): keep, for every checkpoint of the task, only the problems
  that every compared checkpoint has; checkpoints matching an ``exclude`` pattern do not
  shrink the common set (they are cut to it as well);
* ``"all"``: keep every problem (each checkpoint's mean over its own problems).

Either way a warning names the checkpoints whose problem sets differ and their counts.
The same function applies to a gold table (``-log GoldProb`` is also a mean over problems).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Sequence
from typing import Final, Literal

import pandas as pd

from ..errors import InputError
from ..tables.checkpoints import checkpoint_name

__all__ = ["PROBLEM_MODES", "ProblemMode", "align_problems"]

log = logging.getLogger(__name__)

ProblemMode = Literal["intersect", "all"]
PROBLEM_MODES: Final = ("intersect", "all")
_SHOWN: Final = 6


def align_problems(
    table: pd.DataFrame,
    mode: ProblemMode = "intersect",
    *,
    exclude: Sequence[str] = (),
    what: str = "counts",
) -> pd.DataFrame:
    """``table`` (a validated counts or gold table) with every task's checkpoints on one
    problem set (``mode="intersect"``) or unchanged (``"all"``); warns when they differ.

    Raises InputError for an unknown mode, or when the compared checkpoints of a task
    share no problem at all.
    """
    if mode not in PROBLEM_MODES:
        raise InputError(f"--problems must be one of {', '.join(PROBLEM_MODES)}, got {mode!r}")
    if table.empty:
        return table
    keep = pd.Series(True, index=table.index)
    for task, rows in table.groupby("task", sort=True):
        sets = {(m, r): frozenset(g["problem_id"])
                for (m, r), g in rows.groupby(["model", "revision"], sort=True)}
        names = {key: checkpoint_name(*key) for key in sets}
        compared = {key: s for key, s in sets.items()
                    if not any(fnmatch.fnmatchcase(names[key], p) for p in exclude)}
        if not compared:
            compared = sets
        if len({s for s in compared.values()}) <= 1:
            continue
        common = frozenset.intersection(*compared.values())
        by_size: dict[int, list[str]] = {}
        for key, s in sorted(compared.items()):
            by_size.setdefault(len(s), []).append(names[key])
        groups = "; ".join(
            f"{n} problems: {', '.join(ckpts[:_SHOWN])}{' ...' if len(ckpts) > _SHOWN else ''}"
            f"{f' ({len(ckpts)} checkpoints)' if len(ckpts) > 1 else ''}"
            for n, ckpts in sorted(by_size.items()))
        label = f" of task {task!r}" if task else ""
        detail = (f"the {len(compared)} checkpoints{label} were scored on different problem "
                  f"sets ({groups}); {len(common)} problems are common to all")
        if mode == "all":
            log.warning("%s: %s; --problems all keeps every problem, so means over different "
                        "problems are compared", what, detail)
            continue
        if not common:
            raise InputError(f"{what}: {detail}: nothing to compare; use --problems all or "
                             "--exclude the odd checkpoints")
        log.warning("%s: %s; --problems intersect (default) keeps only those %d (use "
                    "--problems all to keep every problem)", what, detail, len(common))
        in_task = table["task"] == task
        keep &= ~in_task | table["problem_id"].isin(common)
    return table[keep.to_numpy()].reset_index(drop=True)

"""A ladder plan as a SLURM array script: one array task per (checkpoint, chunk).

Task ``i`` runs ``lm-eval-scaling ladder run ... --only i --no-collect``: the same plan
(:mod:`.plan`), so a task whose chunk is finished does nothing and an interrupted one
resumes from its ``--use_cache`` database.  When every task is done,
``lm-eval-scaling ladder run ...`` (same arguments) or ``lm-eval-scaling collect
OUT/runs -o OUT/tables`` writes the tables.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from .plan import Job

__all__ = ["slurm_script"]


def slurm_script(jobs: Sequence[Job], ladder_run_argv: Sequence[str], out: str | Path, *,
                 sbatch: Sequence[str] = (), max_parallel: int | None = None,
                 job_name: str = "lm-eval-scaling") -> str:
    """The sbatch script.  ``ladder_run_argv``: the ``ladder run`` arguments that define
    the plan (everything but ``--only``); ``sbatch``: extra ``#SBATCH`` options, e.g.
    ``--gres=gpu:1``; ``max_parallel``: at most that many tasks at once (``%N``)."""
    if not jobs:
        raise ValueError("no jobs: the ladder is empty")
    array = f"0-{len(jobs) - 1}" + (f"%{max_parallel}" if max_parallel else "")
    logs = Path(out) / "slurm"
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={job_name}",
        f"#SBATCH --array={array}",
        f"#SBATCH --output={logs}/%A_%a.log",
        *(f"#SBATCH {option}" for option in sbatch),
        "# One array task per (checkpoint, chunk) of the plan below; a finished task does",
        "# nothing when rerun, an interrupted one resumes.  When all are done, collect:",
        "#   " + shlex.join(["lm-eval-scaling", "collect", str(Path(out) / "runs"),
                              "-o", str(Path(out) / "tables")]),
        "#",
        *(f"# task {job.index}: {job.checkpoint} chunk {job.chunk} (--seed {job.seed})"
          for job in jobs),
        "set -euo pipefail",
        f"mkdir -p {shlex.quote(str(logs))}",
        "exec " + shlex.join(["lm-eval-scaling", "ladder", "run", *ladder_run_argv,
                              "--no-collect", "--only"]) + ' "$SLURM_ARRAY_TASK_ID"',
    ]
    return "\n".join(lines) + "\n"

"""Running a ladder plan on this machine: unfinished jobs one after another, then collect.

Each job runs as its own process (``python -m lm_eval_scaling run ...``), so that a
failed or killed job leaves nothing behind in this one (GPU memory included) and its
output goes to the job's ``lm_eval.log``; a progress bar counts the jobs of the whole
ladder.  Output of an unfinished job from an earlier attempt (a results file whose
samples were never written) is moved to ``OUT/incomplete/`` first, so that ``collect``
never sees it; its ``--use_cache`` database stays, and the rerun resumes from it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from ..collect import CollectResult, collect_tables, write_tables
from ..errors import InputError
from .plan import Job, finished

__all__ = ["collect_ladder", "run_jobs"]

log = logging.getLogger(__name__)


def run_jobs(jobs: Sequence[Job], out: str | Path, *, progress: bool | None = None) -> int:
    """Run every unfinished job of ``jobs``; return how many ran.  A job that fails stops
    the run with an error naming the checkpoint, the chunk and the job's log file."""
    todo = [job for job in jobs if not finished(job)]
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="ladder", unit="job",
               disable=(not sys.stderr.isatty()) if progress is None else not progress)
    for job in todo:
        bar.set_postfix_str(f"{job.checkpoint} chunk {job.chunk}")
        _set_aside_incomplete(job, Path(out))
        job.directory.mkdir(parents=True, exist_ok=True)
        with job.log_file.open("a", encoding="utf-8") as fh:
            fh.write(f"$ {job.command()}\n")
            fh.flush()
            proc = subprocess.run([sys.executable, "-m", "lm_eval_scaling", "run", *job.argv],
                                  stdout=fh, stderr=subprocess.STDOUT, env=os.environ.copy(),
                                  check=False)
        if proc.returncode != 0 or not finished(job):
            bar.close()
            raise InputError(f"{job.checkpoint} chunk {job.chunk}: lm_eval failed "
                             f"(exit code {proc.returncode}); see {job.log_file}")
        bar.update(1)
    bar.close()
    return len(todo)


def collect_ladder(jobs: Sequence[Job], out: str | Path) -> tuple[CollectResult, dict[str, Path]]:
    """``collect`` over the output of every job into ``OUT/tables``."""
    missing = [job for job in jobs if not finished(job)]
    if missing:
        raise InputError(f"{len(missing)} job(s) not finished, e.g. {missing[0].checkpoint} "
                         f"chunk {missing[0].chunk} ({missing[0].output_dir})")
    result = collect_tables([job.output_dir for job in jobs])
    return result, write_tables(result, Path(out) / "tables")


def _set_aside_incomplete(job: Job, out: Path) -> None:
    if not job.output_dir.exists():
        return
    target = out / "incomplete" / job.directory.relative_to(out / "runs") / time.strftime(
        "%Y%m%dT%H%M%S")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(job.output_dir), str(target))
    log.warning("%s chunk %d: output of an unfinished earlier attempt moved to %s",
                job.checkpoint, job.chunk, target)

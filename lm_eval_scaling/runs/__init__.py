"""Whole ladders from one command: plan, run, resume, SLURM arrays, ladder tables.

Modules
    plan         every checkpoint x chunk seed as a job; finished-job detection; plan.json
    execute      run the unfinished jobs here (one process each), then ``collect``
    slurm        the same plan as a SLURM array script (one task per job)
    init         a ladder table from checkpoints' configs (parameters on the meta device)
    lm_eval_cli  lm_eval's ``run`` command with this package's tasks and models
"""

from __future__ import annotations

__all__: list[str] = []

"""SLURM array scripts (lm_eval_scaling.runs.slurm)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pandas as pd

from lm_eval_scaling.cli import main
from lm_eval_scaling.runs.plan import LadderSettings, plan_jobs
from lm_eval_scaling.runs.slurm import slurm_script


def test_one_array_task_per_job_running_the_same_plan(tmp_path: Path) -> None:
    ladder = pd.DataFrame({"model": ["m"] * 2, "revision": ["step1", "step2"],
                           "parameters": [1.0, 1.0], "tokens": [1.0, 2.0]})
    jobs = plan_jobs(ladder, LadderSettings(tasks=("t",), n_samples=6, chunks=3), tmp_path)
    script = slurm_script(jobs, ["ladder.csv", "--tasks", "t"], tmp_path,
                          sbatch=["--gres=gpu:1"], max_parallel=2)
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "#SBATCH --array=0-5%2" in lines and "#SBATCH --gres=gpu:1" in lines
    assert "# task 5: m@step2 chunk 3 (--seed 3)" in lines
    last = shlex.split(lines[-1].replace('"$SLURM_ARRAY_TASK_ID"', "IDX"))
    assert last == ["exec", "lm-eval-scaling", "ladder", "run", "ladder.csv", "--tasks", "t",
                    "--no-collect", "--only", "IDX"]


def test_cli_writes_a_script_whose_plan_matches(tmp_path: Path) -> None:
    ladder = tmp_path / "ladder.csv"
    pd.DataFrame({"model": ["a", "b"], "revision": ["", ""], "parameters": [1, 2],
                  "tokens": [3, 4]}).to_csv(ladder, index=False)
    out, script = tmp_path / "out", tmp_path / "job.sbatch"
    assert main(["ladder", "slurm", str(ladder), "--tasks", "arith_passk", "--n-samples", "4",
                 "--chunks", "2", "--out", str(out), "-o", str(script),
                 "--lm-eval-args", "--limit 3 --device cuda"]) == 0
    text = script.read_text()
    assert "#SBATCH --array=0-3" in text and (out / "slurm").is_dir()
    exec_line = shlex.split(text.splitlines()[-1].replace('"$SLURM_ARRAY_TASK_ID"', "0"))
    assert exec_line[exec_line.index("--lm-eval-args") + 1] == "--limit 3 --device cuda"
    assert exec_line[exec_line.index("--out") + 1] == str(out.resolve())
    # an array task checks the same plan.json: other settings are refused (exit 2)
    assert main(["ladder", "run", str(ladder), "--tasks", "arith_passk", "--n-samples", "8",
                 "--chunks", "2", "--out", str(out), "--only", "0"]) == 2

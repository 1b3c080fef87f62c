"""Ladder plans (lm_eval_scaling.runs.plan)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lm_eval_scaling.errors import InputError
from lm_eval_scaling.runs.plan import LadderSettings, check_plan_file, finished, plan_jobs

LADDER = pd.DataFrame({"model": ["org/a", "org/a", "local/dir/b"],
                       "revision": ["step1", "step2", ""],
                       "parameters": [1e6, 1e6, 2e6], "tokens": [1e9, 2e9, 1e9]})


def _argv_value(argv: tuple[str, ...], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_every_checkpoint_times_every_chunk_with_its_seed(tmp_path: Path) -> None:
    settings = LadderSettings(tasks=("gsm8k_passk", "gsm8k_gold_loglik"), n_samples=300,
                              chunks=3, first_seed=10, model_args="dtype=bfloat16",
                              metadata={"max_gen_toks": 128}, lm_eval_args=("--limit", "5"))
    jobs = plan_jobs(LADDER, settings, tmp_path)
    assert [(j.checkpoint, j.chunk, j.seed) for j in jobs] == [
        (c, k, 9 + k) for c in ("org/a@step1", "org/a@step2", "local/dir/b") for k in (1, 2, 3)]
    assert [j.index for j in jobs] == list(range(9))
    assert len({j.directory for j in jobs}) == 9
    first = jobs[0].argv
    assert _argv_value(first, "--model") == "hf-repeats"
    assert _argv_value(first, "--model_args") == "pretrained=org/a,revision=step1,dtype=bfloat16"
    assert _argv_value(jobs[8].argv, "--model_args") == "pretrained=local/dir/b,dtype=bfloat16"
    assert json.loads(_argv_value(first, "--metadata")) == {"max_gen_toks": 128, "n_samples": 100}
    assert _argv_value(first, "--seed") == "10" and "--log_samples" in first
    assert _argv_value(first, "--use_cache").startswith(str(jobs[0].directory))
    assert first[-2:] == ("--limit", "5")
    assert jobs[0].command().startswith("lm-eval-scaling run --model hf-repeats")


def test_vllm_jobs_seed_the_sampler_too(tmp_path: Path) -> None:
    jobs = plan_jobs(LADDER, LadderSettings(tasks=("t",), n_samples=2, chunks=2,
                                            model="vllm-repeats"), tmp_path)
    assert _argv_value(jobs[1].argv, "--model_args").endswith("seed=2")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_samples": 10, "chunks": 3}, "not a multiple of --chunks"),
    ({"n_samples": 0}, "must be >= 1"),
    ({"tasks": ()}, "at least one task"),
    ({"model_args": "seed=3"}, "seed= is set per job"),
    ({"model_args": "dtype=float16,pretrained=x"}, "pretrained= is set per job"),
    ({"lm_eval_args": ("--seed", "3")}, "--seed is set by the plan"),
])
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"tasks": ("t",), "n_samples": 10}
    with pytest.raises(InputError, match=message):
        LadderSettings(**(base | kwargs))  # type: ignore[arg-type]


def test_finished_needs_results_and_every_samples_file(tmp_path: Path) -> None:
    (job,) = plan_jobs(LADDER.iloc[:1], LadderSettings(tasks=("a", "b"), n_samples=1), tmp_path)
    assert not finished(job)
    run_dir = job.output_dir / "org__a"
    run_dir.mkdir(parents=True)
    date = "2026-01-01T00-00-00.000001"
    (run_dir / f"results_{date}.json").write_text(json.dumps({"configs": {"a": {}, "b": {}}}))
    (run_dir / f"samples_a_{date}.jsonl").write_text("{}\n")
    assert not finished(job)  # killed between the two samples files
    (run_dir / f"samples_b_{date}.jsonl").write_text("{}\n")
    assert finished(job)


def test_plan_file_refuses_other_settings(tmp_path: Path) -> None:
    settings = LadderSettings(tasks=("t",), n_samples=4, chunks=2)
    path = check_plan_file(settings, tmp_path)
    assert json.loads(path.read_text())["n_samples"] == 4
    assert check_plan_file(settings, tmp_path) == path  # the same settings: fine
    with pytest.raises(InputError, match=r"plan.json: field 'n_samples' is 4 but this run asks for 8"):
        check_plan_file(LadderSettings(tasks=("t",), n_samples=8, chunks=2), tmp_path)

"""``lm-eval-scaling run`` = lm_eval's run command with our tasks and models
(lm_eval_scaling.runs.lm_eval_cli, cli/_run.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_eval_scaling.cli import main

pytest.importorskip("lm_eval")


def _results(out: Path) -> dict:
    (path,) = out.rglob("results_*.json")
    return json.loads(path.read_text())


@pytest.mark.slow
def test_arguments_go_to_lm_eval_with_our_tasks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["-q", "run", "--model", "dummy", "--tasks", "arith_passk", "--limit", "2",
                 "--metadata", '{"n_samples": 3}', "--log_samples",
                 "--output_path", str(out)]) == 0
    results = _results(out)
    assert results["configs"]["arith_passk"]["repeats"] == 3
    (samples,) = out.rglob("samples_arith_passk_*.jsonl")
    assert len(samples.read_text().splitlines()) == 2


@pytest.mark.slow
def test_a_user_include_path_is_kept(tmp_path: Path) -> None:
    from lm_eval_scaling.harness import tasks_dir

    tasks = tmp_path / "mytasks"
    tasks.mkdir()
    base = tasks_dir() / "arith" / "arith_passk.yaml"
    (tasks / "my_arith.yaml").write_text(f"include: {base}\ntask: my_arith\n")
    out = tmp_path / "out"
    assert main(["-q", "run", "--model", "dummy", "--tasks", "my_arith,arith_passk",
                 "--include_path", str(tasks), "--limit", "1",
                 "--metadata", '{"n_samples": 2}', "--output_path", str(out)]) == 0
    assert set(_results(out)["configs"]) == {"my_arith", "arith_passk"}


def test_our_models_are_registered() -> None:
    from lm_eval.api.registry import model_registry

    import lm_eval_scaling.models  # noqa: F401

    assert {"hf-repeats", "vllm-repeats", "hf", "vllm"} <= set(model_registry.keys())


def test_other_subcommands_still_refuse_unknown_arguments() -> None:
    with pytest.raises(SystemExit) as info:
        main(["tasks-dir", "--model", "x"])
    assert info.value.code == 2

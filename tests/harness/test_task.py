"""The task YAMLs + ScalingTask, loaded through lm_eval's TaskManager (no model)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import lm_eval_scaling
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.harness import benchmarks, task_names, tasks_dir

lm_eval_tasks = pytest.importorskip("lm_eval.tasks")
#: lm_eval 0.5 (one Task class per output type)
LM_EVAL_05 = hasattr(pytest.importorskip("lm_eval.api.task"), "GenerateTask")


def _load(names: list[str], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    tm = lm_eval_tasks.TaskManager(include_path=str(tasks_dir()), include_defaults=False,
                                   metadata=metadata or {})
    loaded = dict(tm.load(names))
    # lm_eval 0.5 names a group's tasks "group::task"
    loaded["tasks"] = {name.rpartition("::")[2]: task for name, task in loaded["tasks"].items()}
    return loaded


@pytest.fixture(autouse=True)
def _local_gsm8k(gsm8k_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LM_EVAL_SCALING_GSM8K_DIR", str(gsm8k_dir))


def test_every_task_and_group_is_indexed() -> None:
    tm = lm_eval_tasks.TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    names = set(task_names())
    assert {"gsm8k_passk", "gsm8k_gold_loglik", "gsm8k_gold_loglik_annotated", "gsm8k_scaling",
            "arith_passk", "arith_gold_loglik", "arith_scaling"} == names
    assert names <= set(tm.all_tasks)
    assert {"gsm8k_scaling", "arith_scaling"} <= set(tm.all_groups)


def test_group_members_and_defaults() -> None:
    loaded = _load(["gsm8k_scaling", "arith_scaling"])
    tasks = loaded["tasks"]
    assert set(tasks) == {"gsm8k_passk", "gsm8k_gold_loglik", "arith_passk", "arith_gold_loglik"}
    passk = tasks["gsm8k_passk"]
    assert passk.config.repeats == 100
    gen = passk.config.generation_kwargs
    assert gen["do_sample"] is True and gen["temperature"] == 1.0
    # no truncation, written explicitly (transformers' default generation config has top_k 50)
    assert (gen["top_k"], gen["top_p"], gen["repetition_penalty"]) == (0, 1.0, 1.0)
    assert "seed" not in gen
    assert "\n\n" in gen["until"] and "Question:" in gen["until"]
    assert passk.config.num_fewshot == 5 and tasks["arith_passk"].config.num_fewshot == 0
    # gsm8k 2.0 / arith 3.0: the task-folder layout (arith 2.0: its default mix became "wide")
    assert {name: task.VERSION for name, task in tasks.items()} == {
        "gsm8k_passk": 2.0, "gsm8k_gold_loglik": 2.0, "arith_passk": 3.0, "arith_gold_loglik": 3.0}
    assert tasks["gsm8k_gold_loglik"].OUTPUT_TYPE == "loglikelihood"


def test_metadata_sets_n_temperature_and_tokens() -> None:
    tasks = _load(["gsm8k_passk"], {"n_samples": 1000, "temperature": 0.5,
                                    "max_gen_toks": 77})["tasks"]
    task = tasks["gsm8k_passk"]
    assert task.config.repeats == 1000
    assert task.config.generation_kwargs["temperature"] == 0.5
    assert task.config.generation_kwargs["max_gen_toks"] == 77
    assert task.aggregation()["pass@512"] is task.aggregation()["pass@1"]
    assert task.higher_is_better()["pass@4096"] is True  # any k (0.5's --repeats)
    task.build_all_requests(limit=1)
    assert task.instances[0].repeats == 1000


def test_bad_metadata_is_an_input_error() -> None:
    with pytest.raises(InputError, match="n_samples"):
        _load(["gsm8k_passk"], {"n_samples": -1})


def test_answer_extraction_option_reaches_the_filter() -> None:
    task = _load(["arith_passk"], {"answer_extraction": "flexible"})["tasks"]["arith_passk"]
    steps = task.config.filter_list[0]["filter"]
    assert steps[0].get("kwargs", steps[0])["extractor"] == "flexible"  # 0.5: in kwargs
    task.build_all_requests(limit=1)
    doc = task.eval_docs[0]
    # the filter of the loaded task reads answers with the chosen extractor
    # 0.4.x keeps the filter ensembles on the task, 0.5 on its scorers
    (ensemble,) = task._filters if hasattr(task, "_filters") else [s.filter for s in task.scorers]
    (extract,) = [make() for make in ensemble.filters]
    assert extract.extractor.name == "flexible"
    assert extract.apply([["so 4 then 5"]], [doc]) == [["5"]]


def test_seed_in_generation_kwargs_is_refused() -> None:
    task = _load(["arith_passk"])["tasks"]["arith_passk"]
    task.set_config("generation_kwargs", {"seed": 1234}, update=True)
    with pytest.raises(InputError, match="seed"):
        task.build_all_requests(limit=1)


def test_prompts_and_targets() -> None:
    tasks = _load(["gsm8k_passk", "gsm8k_gold_loglik", "gsm8k_gold_loglik_annotated"])["tasks"]
    passk, gold, annotated = (tasks[n] for n in ("gsm8k_passk", "gsm8k_gold_loglik",
                                                 "gsm8k_gold_loglik_annotated"))
    doc = passk.eval_docs[0]
    ctx = passk.fewshot_context(doc, 5)
    blocks = ctx.split("\n\n")
    assert len(blocks) == 6 and blocks[-1] == "Question: " + doc["question"] + "\nAnswer:"
    first_train = passk.fewshot_docs()[0]
    assert blocks[0] == (f"Question: {first_train['question']}\nAnswer: "
                         f"{first_train['solution']}")
    assert "<<" not in ctx
    # the gold task scores the same prompt, target with its leading space
    gold.build_all_requests(limit=1)
    context, target = gold.instances[0].args
    assert context == ctx and target == " " + doc["solution"]
    annotated.build_all_requests(limit=1)
    context_a, target_a = annotated.instances[0].args
    assert "<<" in context_a and "<<" in target_a


def test_tasks_dir_holds_one_folder_per_benchmark() -> None:
    assert (tasks_dir() / "gsm8k" / "gsm8k_passk.yaml").is_file()
    folders = {p.name for p in tasks_dir().iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(benchmarks()) == {"gsm8k", "arith"}
    for name in benchmarks():  # each benchmark's hooks are the module named after its folder
        text = "".join(p.read_text() for p in (tasks_dir() / name).iterdir())
        hooks = set(re.findall(r"lm_eval_scaling\.harness\.(\w+)\.\w+", text))
        assert hooks == {name}, (name, hooks)


def test_no_benchmark_field_in_the_shared_hooks() -> None:
    """The generic hooks read only the generic fields; GSM8K's live in the gsm8k module."""
    import inspect

    from lm_eval_scaling.harness import extractors, filters, metrics, prompt

    for module in (extractors, filters, metrics, prompt):
        source = inspect.getsource(module)
        assert '["answer"]' not in source, module


def test_every_yaml_ships_in_the_wheel() -> None:
    """pyproject's package-data globs cover every file of the task directory."""
    import fnmatch

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["lm_eval_scaling"]
    package_root = Path(lm_eval_scaling.__file__).parent
    for path in tasks_dir().rglob("*"):
        if "__pycache__" in path.parts or path.is_dir():
            continue
        rel = path.relative_to(package_root).as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not shipped"

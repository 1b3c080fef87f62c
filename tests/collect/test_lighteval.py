"""import lighteval (collect.lighteval) on details files written the way lighteval writes them.

lighteval's ``EvaluationTracker.save`` builds ``Dataset.from_list([asdict(Detail), ...])``
(``Detail`` = ``doc``, ``model_response``, ``metric``), keeps the columns sorted and
writes ``details/<model>/<date>/details_<task>_<date>.parquet`` with ``to_parquet``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lm_eval_scaling.cli import main
from lm_eval_scaling.collect.lighteval import import_lighteval, task_of_details_file
from lm_eval_scaling.errors import TableError
from lm_eval_scaling.passk.majority import maj_at_k

datasets = pytest.importorskip("datasets")

DATE = "2025-11-05T14-43-47.148527"


def _doc(i: int, gold: str, n: int, doc_id: str | None = None) -> dict[str, Any]:
    return {"query": f"Question {i}?", "choices": [f" {gold}"], "gold_index": 0,
            "instruction": None, "images": None, "specific": None,
            "unconditioned_query": None, "original_query": None,
            "id": str(i) if doc_id is None else doc_id, "task_name": "gsm8k",
            "fewshot_samples": [], "sampling_methods": ["GENERATIVE"],
            "fewshot_sorting_class": None, "generation_size": 256,
            "stop_sequences": ["\n\n"], "use_logits": False, "num_samples": n,
            "generation_grammar": None}


def _response(texts: list[str]) -> dict[str, Any]:
    return {"input": "Question?", "input_tokens": [1, 2], "text": texts,
            "output_tokens": [[3]] * len(texts), "text_post_processed": None,
            "reasonings": [None] * len(texts), "logprobs": [], "argmax_logits_eq_gold": [],
            "logits": None, "unconditioned_logprobs": None, "truncated_tokens_count": 0,
            "padded_tokens_count": 0}


def _pass_at_k(n: int, c: int, k: int) -> float:
    return 1 - math.comb(n - c, k) / math.comb(n, k)


def write_details(root: Path, task: str, problems: list[tuple[str, list[str], list[bool]]],
                  *, ids: list[str] | None = None) -> Path:
    """``problems``: (gold, generations, per-generation correctness) per row."""
    rows = []
    for i, (gold, texts, correct) in enumerate(problems):
        n, c = len(texts), sum(correct)
        metric = {f"avg@n:n={n}": c / n, f"pass@k:k=1&n={n}": _pass_at_k(n, c, 1),
                  f"pass@k:k=2&n={n}": _pass_at_k(n, c, 2),
                  f"maj@n:n={n}": float(correct[0])}
        rows.append({"doc": _doc(i, gold, n, None if ids is None else ids[i]),
                     "model_response": _response(texts), "metric": metric})
    ds = datasets.Dataset.from_list(rows)
    ds = ds.select_columns(sorted(ds.column_names))
    folder = root / "details" / "org" / "model" / DATE
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"details_{task}_{DATE}.parquet"
    ds.to_parquet(str(path))
    return path


PROBLEMS = [
    ("18", ["#### 18", "#### 18", "the answer is 17", "no idea"], [True, True, False, False]),
    ("5", ["#### 5.0", "#### 4", "#### 4", "#### 6"], [True, False, False, False]),
]


def test_counts_from_avg_at_n_and_from_pass_at_1(tmp_path: Path) -> None:
    path = write_details(tmp_path, "gsm8k|5", PROBLEMS)
    assert task_of_details_file(path) == "gsm8k|5"
    with pytest.raises(TableError, match="--metric .countable:.*avg@n:n=4.*pass@k:k=1&n=4"):
        import_lighteval([path], model="org/model")
    for metric in ("avg@n:n=4", "pass@k:k=1&n=4"):
        counts = import_lighteval([path], model="org/model", revision="r1", metric=metric).counts
        assert counts[["model", "revision", "task"]].drop_duplicates().values.tolist() == [
            ["org/model", "r1", "gsm8k|5"]]
        assert counts["problem_id"].tolist() == ["0", "1"]
        assert counts["num_samples"].tolist() == [4, 4]
        assert counts["num_correct"].tolist() == [2, 1]


def test_rescored_with_an_extractor_gives_answers(tmp_path: Path) -> None:
    path = write_details(tmp_path, "gsm8k|5", PROBLEMS)
    result = import_lighteval([path], model="m", task="gsm8k", extractor="strict")
    assert result.counts["num_correct"].tolist() == [2, 1]
    assert result.answers is not None
    second = result.answers[result.answers["problem_id"] == "1"].set_index("answer")
    assert second["count"].to_dict() == {"4": 2, "5": 1, "6": 1}
    assert second["correct"].to_dict() == {"4": False, "5": True, "6": False}
    assert maj_at_k(1, [2, 1], 4) == 0.0  # the vote over all 4 picks "4"


@pytest.mark.parametrize(("metric", "message"), [
    ("pass@k:k=2&n=4", "not the mean correctness"),
    ("maj@n:n=4", "not the mean correctness"),
    ("exact_match", "no such metric"),
])
def test_metrics_that_do_not_give_counts_are_refused(tmp_path: Path, metric: str,
                                                     message: str) -> None:
    path = write_details(tmp_path, "t", PROBLEMS)
    with pytest.raises(TableError, match=rf"row 1, field 'metric.{metric}'.*{message}"):
        import_lighteval([path], model="m", metric=metric)


def test_values_that_are_not_whole_counts_are_refused(tmp_path: Path) -> None:
    path = write_details(tmp_path, "t", PROBLEMS)
    df = pd.read_parquet(path)
    df.at[1, "metric"] = {**df.at[1, "metric"], "avg@n:n=4": 0.3}
    df.to_parquet(path)
    with pytest.raises(TableError, match=r"row 2, field 'metric.avg@n:n=4'.*whole number.*0.3"):
        import_lighteval([path], model="m", metric="avg@n:n=4")


def test_problem_ids(tmp_path: Path) -> None:
    path = write_details(tmp_path, "t", PROBLEMS, ids=["", ""])
    with pytest.raises(TableError, match="row 1, field 'doc.id'.*--ids-from-rows"):
        import_lighteval([path], model="m", metric="avg@n:n=4")
    counts = import_lighteval([path], model="m", metric="avg@n:n=4", ids_from_rows=True).counts
    assert counts["problem_id"].tolist() == ["0", "1"]
    twice = write_details(tmp_path / "again", "t", PROBLEMS)
    with pytest.raises(TableError, match="more than one input"):
        import_lighteval([path, twice], model="m", metric="avg@n:n=4", ids_from_rows=True)


def test_not_a_details_file(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(TableError, match="missing columns"):
        import_lighteval([tmp_path / "x.parquet"], model="m")


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_details(tmp_path, "gsm8k|5", PROBLEMS)
    assert main(["import", "lighteval", str(path), "--model", "m", "--extractor", "flexible",
                 "-o", str(tmp_path / "out")]) == 0
    assert {p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")} == {
        "counts.csv", "answers.csv", "majority.csv"}  # beside the writer's hidden manifest
    assert main(["import", "lighteval", str(path), "--model", "m", "--metric", "maj@n:n=4",
                 "-o", str(tmp_path / "out2")]) == 2
    assert "maj@n:n=4" in capsys.readouterr().err

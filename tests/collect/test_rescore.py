"""rescore and lm-eval sample logs (collect.rescore) on hand-written files in lm_eval's layout.

* Our own runs: ``doc.final_answer`` is the reference, every raw response is scored again.
* lm-eval 0.4 ``repeats`` tasks (a self-consistency-style gsm8k task): one line per
  (problem, filter), ``resps`` = [[N texts]], the reference read from ``target``.
* lm-eval 0.5: ``scores_per_repeat: {metric: [0/1 per repeat]}`` (as written by
  ``lm_eval.evaluator_utils._build_logged_samples`` of 0.5.0.dev2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lm_eval_scaling.cli import main
from lm_eval_scaling.collect.rescore import rescore_runs, scores_per_repeat_runs
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.harness.extractors import get_extractor
from lm_eval_scaling.passk.majority import maj_at_k
from tests.support import task_config, write_run

# (response, correct under strict, correct under flexible) for reference "18"
RESPONSES = [
    (" 9 * 2 = 18\n#### 18", True, True),
    (" She has $18.00 left. The answer is 18.", True, True),
    (" 9 + 9 = 18 eggs", False, True),        # only a last number: flexible counts it
    (" #### 17", False, False),
    (" I do not know", False, False),
    (" 3 + 4 = 7 and 7 * 2 = 14\n#### 14", False, False),
]


def our_line(pid: int, responses: list[str], final_answer: str = "18",
             prompt: str = "p") -> dict[str, Any]:
    """A samples line of this package's *_passk task (num_correct as logged: strict)."""
    strict = get_extractor("strict").count_correct(responses, final_answer)
    return {"doc_id": pid, "doc": {"question": "q", "problem_id": pid,
                                   "final_answer": final_answer},
            "target": " solution", "resps": [responses], "filtered_resps": [responses],
            "filter": "all", "prompt_hash": f"{prompt}{pid}", "num_samples": len(responses),
            "num_correct": strict}


def lm_eval04_lines(pid: int, responses: list[str], target: str) -> list[dict[str, Any]]:
    """The lines lm-eval 0.4 writes for one problem of a repeats task with two filters."""
    base = {"doc_id": pid, "doc": {"question": "q", "answer": f"... #### {target}"},
            "target": target, "arguments": {"gen_args_0": {"arg_0": "Q: q\nA:"}},
            "resps": [responses], "prompt_hash": f"h{pid}", "doc_hash": "d",
            "target_hash": "t"}
    return [{**base, "filter": "score-first", "filtered_resps": [responses[0]],
             "metrics": ["exact_match"], "exact_match": 0.0},
            {**base, "filter": "maj@8", "filtered_resps": ["18"], "metrics": ["exact_match"],
             "exact_match": 1.0}]


def test_rescore_our_runs_with_each_extractor(tmp_path: Path) -> None:
    texts = [r for r, _, _ in RESPONSES]
    write_run(tmp_path / "a", {"gsm8k_passk": [our_line(0, texts), our_line(1, texts[:2])]})
    strict = rescore_runs([tmp_path], "strict")
    flexible = rescore_runs([tmp_path], "flexible")
    expected_strict = sum(s for _, s, _ in RESPONSES)
    expected_flexible = sum(f for _, _, f in RESPONSES)
    assert strict.counts["num_correct"].tolist() == [expected_strict, 2]
    assert flexible.counts["num_correct"].tolist() == [expected_flexible, 2]
    assert strict.counts["num_samples"].tolist() == [6, 2]
    # the answers table: one row per distinct answer, counts adding up to n
    answers = flexible.answers[flexible.answers["problem_id"] == "0"]
    assert dict(zip(answers["answer"], answers["count"])) == {
        "18": 3, "17": 1, "14": 1, "[invalid]": 1}
    assert answers.loc[answers["answer"] == "18", "correct"].all()
    assert not answers.loc[answers["answer"] == "[invalid]", "valid"].any()


def test_rescore_merges_chunks_and_refuses_the_same_seed(tmp_path: Path) -> None:
    texts = [r for r, _, _ in RESPONSES]
    write_run(tmp_path / "c1", {"gsm8k_passk": [our_line(0, texts)]}, seed=(1, 1, 1))
    # a chunk scored with another extractor at run time still merges (it is rescored)
    cfg = task_config("gsm8k_passk", metadata={"version": 1.0, "answer_extraction": "flexible"},
                      filter_list=[{"name": "all", "filter": [{"function": "x",
                                                               "extractor": "flexible"}]}])
    write_run(tmp_path / "c2", {"gsm8k_passk": [our_line(0, texts[:3])]}, seed=(2, 2, 2),
              configs={"gsm8k_passk": cfg})
    result = rescore_runs([tmp_path], "strict")
    assert result.counts["num_samples"].tolist() == [9]
    assert result.counts["num_correct"].tolist() == [2 + 2]
    answers = result.answers.set_index("answer")["count"]
    assert answers["18"] == 4 and answers["[invalid]"] == 2 + 1
    write_run(tmp_path / "c3", {"gsm8k_passk": [our_line(0, texts)]}, seed=(1, 1, 1))
    with pytest.raises(InputError, match="same seeds"):
        rescore_runs([tmp_path], "strict")


def test_rescore_still_refuses_other_settings_and_prompts(tmp_path: Path) -> None:
    texts = [r for r, _, _ in RESPONSES]
    write_run(tmp_path / "c1", {"gsm8k_passk": [our_line(0, texts)]}, seed=(1, 1, 1))
    hot = task_config("gsm8k_passk", generation_kwargs={"temperature": 1.5})
    write_run(tmp_path / "c2", {"gsm8k_passk": [our_line(0, texts)]}, seed=(2, 2, 2),
              configs={"gsm8k_passk": hot})
    with pytest.raises(InputError, match="generation_kwargs"):
        rescore_runs([tmp_path], "strict")
    (tmp_path / "c2").rename(tmp_path / "gone")
    write_run(tmp_path / "c4", {"gsm8k_passk": [our_line(0, texts, prompt="other")]},
              seed=(3, 3, 3))
    with pytest.raises(InputError, match="prompt differs"):
        rescore_runs([tmp_path / "c1", tmp_path / "c4"], "strict")


def test_lm_eval_04_repeats_task_rescored_from_target(tmp_path: Path) -> None:
    texts = [r for r, _, _ in RESPONSES]
    cfg = task_config("gsm8k_cot_self_consistency", repeats=6,
                      filter_list=[{"name": "score-first"}, {"name": "maj@8"}])
    write_run(tmp_path, {"gsm8k_cot_self_consistency":
                         lm_eval04_lines(0, texts, "18") + lm_eval04_lines(1, texts[3:], "14")},
              configs={"gsm8k_cot_self_consistency": cfg})
    result = rescore_runs([tmp_path], "strict")
    # each problem once (the second filter's lines hold the same responses)
    assert result.counts["problem_id"].tolist() == ["0", "1"]
    assert result.counts["num_samples"].tolist() == [6, 3]
    assert result.counts["num_correct"].tolist() == [2, 1]


@pytest.mark.parametrize(("line", "field"), [
    ({"resps": [["a"], ["b"]]}, "'resps'"),
    ({"resps": [[0.5, True]]}, "'resps'"),
    ({"resps": "text"}, "'resps'"),
    ({"target": "eighteen"}, "'target'"),
])
def test_rescore_refuses_unreadable_lines(tmp_path: Path, line: dict[str, Any],
                                          field: str) -> None:
    good = lm_eval04_lines(0, ["#### 1"], "1")[0]
    write_run(tmp_path, {"t": [{**good, **line}]})
    with pytest.raises(InputError, match=rf"samples_t_.*line 1: field {field}") as info:
        rescore_runs([tmp_path], "strict")
    assert "\n" not in str(info.value)


def scores_line(pid: int, scores: dict[str, list[float]], filter_name: str = "strict-match",
                ) -> dict[str, Any]:
    """A samples line of lm-eval 0.5 with repeats > 1 (the keys and shapes 0.5.0.dev2
    writes for a generation task whose filter keeps every repeat)."""
    n = len(next(iter(scores.values())))
    metrics = {f"pass@{k}({name})": 0.0 for name in scores for k in (1, n)}
    return {"doc_id": pid, "doc": {"question": "q", "answer": "... #### 18"}, "target": "18",
            "arguments": {"gen_args_0": {"arg_0": "Question: q\nAnswer:",
                                         "arg_1": {"until": ["\n\n"], "do_sample": True}}},
            "resps": [["x"] * n], "filtered_resps": [["18"] * n], "filter": filter_name,
            "metrics": list(metrics), "doc_hash": "d", "prompt_hash": f"h{pid}",
            "target_hash": "t", **metrics, "scores_per_repeat": scores}


def test_lm_eval_05_scores_per_repeat(tmp_path: Path) -> None:
    lines = [scores_line(0, {"exact_match": [1.0, 0.0, 1.0, 1.0]}),
             scores_line(1, {"exact_match": [0.0, 0.0]})]
    write_run(tmp_path, {"gsm8k": lines})
    result = scores_per_repeat_runs([tmp_path])
    assert result.counts["num_samples"].tolist() == [4, 2]
    assert result.counts["num_correct"].tolist() == [3, 0]


def test_lm_eval_05_filter_and_metric_choice(tmp_path: Path) -> None:
    lines = [scores_line(0, {"exact_match": [1, 0], "f1": [0.5, 1.0]}),
             scores_line(0, {"exact_match": [1, 1], "f1": [1, 1]}, "flexible-extract")]
    write_run(tmp_path, {"gsm8k": lines})
    with pytest.raises(InputError, match="several filters.*--filter"):
        scores_per_repeat_runs([tmp_path], metric="exact_match")
    with pytest.raises(InputError, match="metrics.*--metric"):
        scores_per_repeat_runs([tmp_path], filter_name="strict-match")
    got = scores_per_repeat_runs([tmp_path], metric="exact_match",
                                 filter_name="flexible-extract")
    assert got.counts["num_correct"].tolist() == [2]
    with pytest.raises(InputError, match=r"line 1: field 'scores_per_repeat.f1' holds 0.5"):
        scores_per_repeat_runs([tmp_path], metric="f1", filter_name="strict-match")
    with pytest.raises(InputError, match="no line of filter 'nope'"):
        scores_per_repeat_runs([tmp_path], metric="exact_match", filter_name="nope")


def test_lm_eval_04_file_has_no_scores_per_repeat(tmp_path: Path) -> None:
    write_run(tmp_path, {"t": [lm_eval04_lines(0, ["#### 1"], "1")[0]]})
    with pytest.raises(InputError, match="line 1: no field 'scores_per_repeat'"):
        scores_per_repeat_runs([tmp_path])


def test_cli_rescore_writes_counts_answers_and_majority(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = [r for r, _, _ in RESPONSES]
    write_run(tmp_path / "runs", {"gsm8k_passk": [our_line(0, texts), our_line(1, texts[3:])]})
    assert main(["rescore", str(tmp_path / "runs"), "--extractor", "flexible",
                 "-o", str(tmp_path / "out")]) == 0
    for name in ("counts", "answers", "majority", "runs"):
        assert (tmp_path / "out" / f"{name}.csv").is_file()
    majority = pd.read_csv(tmp_path / "out" / "majority.csv")
    row = majority.set_index("k").loc[2]
    expected = (maj_at_k(3, [1, 1], 2, 1) + maj_at_k(0, [1, 1], 2, 1)) / 2
    assert row["maj@k"] == pytest.approx(expected)
    assert row["avg@n"] == pytest.approx((3 / 6 + 0 / 3) / 2)
    answers = pd.read_csv(tmp_path / "out" / "answers.csv", dtype={"answer": str})
    assert answers.groupby("answer")["count"].sum().to_dict() == {
        "18": 3, "17": 2, "14": 2, "[invalid]": 2}
    assert main(["import", "lm-eval", str(tmp_path / "runs"), "--extractor", "flexible",
                 "-o", str(tmp_path / "out2")]) == 0
    assert (pd.read_csv(tmp_path / "out2" / "counts.csv")
            .equals(pd.read_csv(tmp_path / "out" / "counts.csv")))


def test_cli_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    write_run(tmp_path / "runs", {"t": [lm_eval04_lines(0, ["#### 1"], "1")[0]]})
    assert main(["rescore", str(tmp_path / "runs"), "--extractor", "strict",
                 "-o", str(tmp_path / "file")]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err
    assert main(["import", "lm-eval", str(tmp_path / "runs"), "--metric", "exact_match",
                 "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "scores_per_repeat" in err and err.count("\n") == 1


def test_rescore_with_math_verify(tmp_path: Path) -> None:
    pytest.importorskip("math_verify")
    texts = ["so x = $0.5$", "The answer is $\\boxed{\\frac{1}{2}}$", "$\\frac{1}{3}$", "hm"]
    write_run(tmp_path, {"minerva_math": lm_eval04_lines(0, texts, "\\frac{1}{2}")})
    result = rescore_runs([tmp_path], "math_verify")
    assert result.counts["num_correct"].tolist() == [2]
    assert result.answers.set_index("answer")["count"].to_dict() == {
        "\\frac{1}{2}": 2, "\\frac{1}{3}": 1, "[invalid]": 1}

"""GSM8K hooks (lm_eval_scaling.harness.gsm8k) and the shared prompt format (harness.prompt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_eval_scaling.errors import InputError
from lm_eval_scaling.harness import gsm8k, prompt

pytest.importorskip("datasets")


def test_strip_calculator_annotations() -> None:
    text = "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\n#### 10"
    assert gsm8k.strip_calculator_annotations(text) == "Weng earns 12/60 = $0.2 per minute.\n#### 10"
    assert gsm8k.strip_calculator_annotations("no annotations") == "no annotations"


def test_load_gsm8k_local_copy(gsm8k_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(gsm8k.GSM8K_DIR_ENV, str(gsm8k_dir))
    ds = gsm8k.load_gsm8k(pretrained="ignored", n_samples=8)
    with (gsm8k_dir / "test.jsonl").open() as fh:
        lines = [json.loads(x) for x in fh]
    assert len(ds["test"]) == len(lines)
    assert ds["test"][5]["question"] == lines[5]["question"]
    processed = gsm8k.process_docs(ds["test"])
    doc = processed[0]
    assert doc["problem_id"] == 0 and processed[17]["problem_id"] == 17
    assert "<<" not in doc["solution"] and doc["solution"].endswith("#### 18")
    assert doc["final_answer"] == "18"
    annotated = gsm8k.process_docs_annotated(ds["test"])[0]
    assert annotated["solution"] == lines[0]["answer"] and "<<" in annotated["solution"]


def test_metadata_dir_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for split in ("train", "test"):
        (tmp_path / f"{split}.jsonl").write_text(
            json.dumps({"question": f"{split} q?", "answer": "a\n#### 1"}) + "\n")
    monkeypatch.setenv(gsm8k.GSM8K_DIR_ENV, "/nonexistent")
    ds = gsm8k.load_gsm8k(gsm8k_dir=str(tmp_path))
    assert ds["train"][0]["question"] == "train q?"


def test_local_copy_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(gsm8k.GSM8K_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(InputError, match="LM_EVAL_SCALING_GSM8K_DIR.*not a directory"):
        gsm8k.load_gsm8k()
    monkeypatch.setenv(gsm8k.GSM8K_DIR_ENV, str(tmp_path))
    with pytest.raises(InputError, match="train.jsonl does not exist"):
        gsm8k.load_gsm8k()
    (tmp_path / "train.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n{oops\n')
    (tmp_path / "test.jsonl").write_text("")
    with pytest.raises(InputError, match=r"train.jsonl: line 2: not valid JSON"):
        gsm8k.load_gsm8k()
    (tmp_path / "train.jsonl").write_text('{"question": "q"}\n')
    with pytest.raises(InputError, match=r"line 1: field 'answer'"):
        gsm8k.load_gsm8k()


def test_gold_final_answer_of_gsm8k_reference() -> None:
    ref = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72"
    assert gsm8k.gold_final_answer(ref) == "72"
    assert gsm8k.gold_final_answer("x\n#### 1,000") == "1000"
    with pytest.raises(ValueError, match="####"):
        gsm8k.gold_final_answer("no final line")


def test_prompt_format() -> None:
    doc = {"question": "Ann has 2 pens. How many pens? ", "solution": "She has 2 pens.\n#### 2"}
    assert prompt.doc_to_text(doc) == "Question: Ann has 2 pens. How many pens?\nAnswer:"
    assert prompt.doc_to_target(doc) == " She has 2 pens.\n#### 2"
    assert prompt.doc_to_fewshot_target(doc) == "She has 2 pens.\n#### 2"
    # training text = context + scored continuation, exactly
    assert prompt.training_text(doc["question"], doc["solution"]) == (
        prompt.doc_to_text(doc) + prompt.doc_to_target(doc))


def test_offline_hub_failure_names_the_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Couldn't reach 'openai/gsm8k' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.delenv("LM_EVAL_SCALING_GSM8K_DIR", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(InputError, match="LM_EVAL_SCALING_GSM8K_DIR") as info:
        gsm8k.load_gsm8k()
    assert "\n" not in str(info.value)

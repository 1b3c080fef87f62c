"""Dataset hooks (lm_eval_scaling.harness.data) and the prompt format (tasks.prompt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_eval_scaling import arith
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.harness import data, prompt

pytest.importorskip("datasets")


def test_strip_calculator_annotations() -> None:
    text = "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\n#### 10"
    assert data.strip_calculator_annotations(text) == "Weng earns 12/60 = $0.2 per minute.\n#### 10"
    assert data.strip_calculator_annotations("no annotations") == "no annotations"


def test_load_gsm8k_local_copy(gsm8k_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.GSM8K_DIR_ENV, str(gsm8k_dir))
    ds = data.load_gsm8k(pretrained="ignored", n_samples=8)
    with (gsm8k_dir / "test.jsonl").open() as fh:
        lines = [json.loads(x) for x in fh]
    assert len(ds["test"]) == len(lines)
    assert ds["test"][5]["question"] == lines[5]["question"]
    processed = data.process_docs(ds["test"])
    doc = processed[0]
    assert doc["problem_id"] == 0 and processed[17]["problem_id"] == 17
    assert "<<" not in doc["solution"] and doc["solution"].endswith("#### 18")
    assert doc["final_answer"] == "18"
    annotated = data.process_docs_annotated(ds["test"])[0]
    assert annotated["solution"] == lines[0]["answer"] and "<<" in annotated["solution"]


def test_metadata_dir_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for split in ("train", "test"):
        (tmp_path / f"{split}.jsonl").write_text(
            json.dumps({"question": f"{split} q?", "answer": "a\n#### 1"}) + "\n")
    monkeypatch.setenv(data.GSM8K_DIR_ENV, "/nonexistent")
    ds = data.load_gsm8k(gsm8k_dir=str(tmp_path))
    assert ds["train"][0]["question"] == "train q?"


def test_local_copy_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.GSM8K_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(InputError, match="LM_EVAL_SCALING_GSM8K_DIR.*not a directory"):
        data.load_gsm8k()
    monkeypatch.setenv(data.GSM8K_DIR_ENV, str(tmp_path))
    with pytest.raises(InputError, match="train.jsonl does not exist"):
        data.load_gsm8k()
    (tmp_path / "train.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n{oops\n')
    (tmp_path / "test.jsonl").write_text("")
    with pytest.raises(InputError, match=r"train.jsonl: line 2: not valid JSON"):
        data.load_gsm8k()
    (tmp_path / "train.jsonl").write_text('{"question": "q"}\n')
    with pytest.raises(InputError, match=r"line 1: field 'answer'"):
        data.load_gsm8k()


def test_load_arith_matches_generator() -> None:
    ds = data.load_arith(arith_test_size=7, arith_train_size=3, arith_seed=5, pretrained="x")
    assert list(ds["test"]) == arith.generate("test", 7, 5)
    assert list(ds["train"]) == arith.generate("train", 3, 5)
    default = data.load_arith()
    assert len(default["test"]) == arith.TEST_SIZE
    with pytest.raises(InputError, match="arith_test_size"):
        data.load_arith(arith_test_size="lots")
    wide = data.load_arith(arith_test_size=5, arith_train_size=0, arith_mix="wide")
    assert list(wide["test"]) == arith.generate("test", 5, arith.SEED, mix="wide")
    with pytest.raises(InputError, match="arith_mix"):
        data.load_arith(arith_mix="hard")


def test_prompt_format() -> None:
    doc = {"question": "Ann has 2 pens. How many pens? ", "solution": "She has 2 pens.\n#### 2"}
    assert prompt.doc_to_text(doc) == "Question: Ann has 2 pens. How many pens?\nAnswer:"
    assert prompt.doc_to_target(doc) == " She has 2 pens.\n#### 2"
    assert prompt.doc_to_fewshot_target(doc) == "She has 2 pens.\n#### 2"
    # training text = context + scored continuation, exactly
    assert prompt.training_text(doc["question"], doc["solution"]) == (
        prompt.doc_to_text(doc) + prompt.doc_to_target(doc))

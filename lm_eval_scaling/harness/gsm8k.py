"""GSM8K: the hooks of the ``gsm8k_*`` tasks (``harness/tasks/gsm8k/``).

Everything that knows GSM8K's format lives here: its fields (``question``, ``answer``),
its reference solutions ending in ``#### <number>`` (:func:`gold_final_answer`) and
their ``<<48/2=24>>`` calculator annotations.

* :func:`load_gsm8k` -- lm_eval ``custom_dataset`` hook: ``openai/gsm8k`` (config ``main``)
  from the Hugging Face Hub, or a local copy in the original OpenAI format
  (``train.jsonl`` + ``test.jsonl``) when the environment variable
  ``LM_EVAL_SCALING_GSM8K_DIR`` or ``--metadata '{"gsm8k_dir": ...}'`` names a directory.
* :func:`process_docs` / :func:`process_docs_annotated` -- the fields the shared prompt
  hooks read (:mod:`.prompt`): ``problem_id`` (the index in the split, as in the GSM8K
  test split), ``final_answer`` and ``solution`` (the reference solution with the
  calculator annotations removed, or kept).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..errors import InputError
from .extractors import marked_answer

if TYPE_CHECKING:
    import datasets

__all__ = [
    "GSM8K_DIR_ENV",
    "GSM8K_HUB_NAME",
    "GSM8K_HUB_PATH",
    "gold_final_answer",
    "load_gsm8k",
    "process_docs",
    "process_docs_annotated",
    "strip_calculator_annotations",
]

log = logging.getLogger(__name__)

GSM8K_DIR_ENV: Final = "LM_EVAL_SCALING_GSM8K_DIR"
GSM8K_HUB_PATH: Final = "openai/gsm8k"
GSM8K_HUB_NAME: Final = "main"
_SPLITS: Final = ("train", "test")
_ANNOTATION_RE: Final = re.compile(r"<<[^<>]*>>")


def gold_final_answer(solution: str) -> str:
    """The canonical final answer of a GSM8K reference solution (``... #### 72`` -> ``"72"``).

    Raises ValueError if the solution has no ``#### <number>`` line.
    """
    answer = marked_answer(solution)
    if answer is None:
        raise ValueError(f"reference solution has no '#### <number>' final line: {solution[-80:]!r}")
    return answer


def strip_calculator_annotations(text: str) -> str:
    """``"48/2 = <<48/2=24>>24"`` -> ``"48/2 = 24"`` (GSM8K's calculator annotations removed)."""
    return _ANNOTATION_RE.sub("", text)


def load_gsm8k(**metadata: Any) -> datasets.DatasetDict:
    """lm_eval ``custom_dataset`` hook: GSM8K train + test splits.

    A local directory (``gsm8k_dir`` in ``--metadata``, else ``$LM_EVAL_SCALING_GSM8K_DIR``)
    takes precedence over the Hub.  ``metadata`` also carries unrelated keys (model_args,
    other options); they are ignored.
    """
    import datasets

    directory = metadata.get("gsm8k_dir") or os.environ.get(GSM8K_DIR_ENV)
    if not directory:
        log.info("loading %s (%s) from the Hugging Face Hub", GSM8K_HUB_PATH, GSM8K_HUB_NAME)
        try:
            return datasets.load_dataset(GSM8K_HUB_PATH, GSM8K_HUB_NAME)
        except Exception as exc:  # noqa: BLE001 - offline: ConnectionError, OSError, hub errors
            raise InputError(
                f"cannot load {GSM8K_HUB_PATH} ({GSM8K_HUB_NAME}) from the Hugging Face Hub "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}); "
                f"offline, set {GSM8K_DIR_ENV} to a directory holding GSM8K's train.jsonl and "
                "test.jsonl") from None
    root = Path(str(directory)).expanduser()
    source = "--metadata gsm8k_dir" if metadata.get("gsm8k_dir") else GSM8K_DIR_ENV
    if not root.is_dir():
        raise InputError(f"{source}={str(directory)!r}: not a directory")
    splits = {}
    for split in _SPLITS:
        splits[split] = datasets.Dataset.from_list(_read_gsm8k_jsonl(root / f"{split}.jsonl", source))
    log.info("loaded GSM8K from %s (%s)", root, ", ".join(f"{k}: {len(v)}" for k, v in splits.items()))
    return datasets.DatasetDict(splits)


def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:
    """Add ``problem_id``, ``final_answer`` and ``solution`` (annotations stripped)."""
    return _process(dataset, keep_annotations=False)


def process_docs_annotated(dataset: datasets.Dataset) -> datasets.Dataset:
    """As :func:`process_docs` but ``solution`` keeps the ``<<a*b=c>>`` annotations."""
    return _process(dataset, keep_annotations=True)


def _process(dataset: datasets.Dataset, *, keep_annotations: bool) -> datasets.Dataset:
    def add_fields(doc: Mapping[str, Any], index: int) -> dict[str, Any]:
        answer = str(doc["answer"]).strip()
        solution = answer if keep_annotations else strip_calculator_annotations(answer)
        return {
            "problem_id": int(doc["problem_id"]) if "problem_id" in doc else index,
            "solution": solution,
            "final_answer": gold_final_answer(answer),
        }

    return dataset.map(add_fields, with_indices=True)


def _read_gsm8k_jsonl(path: Path, source: str) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError(f"{source}: {path} does not exist (expected train.jsonl and test.jsonl)")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: line {lineno}: not valid JSON ({exc.msg})") from exc
            for key in ("question", "answer"):
                if not isinstance(row.get(key), str):
                    raise InputError(f"{path}: line {lineno}: field {key!r} missing or not a string")
            rows.append({"question": row["question"], "answer": row["answer"]})
    return rows


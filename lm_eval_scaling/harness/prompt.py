"""The prompt format of every task of this package (one place, shared with training data).

A problem is shown as ``Question: <question>\\nAnswer:`` and the model continues with
`` <solution>`` (leading space), where a solution is GSM8K-style step-by-step text whose
last line is ``#### <number>``.  Few-shot examples are full ``question + answer`` blocks
separated by a blank line::

    Question: <q1>
    Answer: <solution 1>
    ...
    #### 72

    Question: <q2>
    Answer:

Every benchmark's ``process_docs`` hook (one module per benchmark: :mod:`.gsm8k`,
:mod:`.arith`) maps its raw fields onto the fields these hooks read: ``question``,
``solution`` (the reference solution shown in few-shot examples and scored by the gold
task), plus ``final_answer`` (the reference answer compared with the extracted one) and
``problem_id``.

The tiny-ladder models (``arith_*`` tasks) are trained on exactly
:func:`training_text` strings, so that zero-shot evaluation sees the training format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = [
    "ANSWER_MARKER",
    "FEWSHOT_DELIMITER",
    "QUESTION_TEMPLATE",
    "STOP_SEQUENCES",
    "TARGET_DELIMITER",
    "doc_to_fewshot_target",
    "doc_to_target",
    "doc_to_text",
    "format_question",
    "training_text",
]

#: Starts the last line of a solution: ``#### <answer>`` (what the strict extractor reads).
ANSWER_MARKER: Final = "####"
#: Context shown for a problem; the model's answer follows directly after ``Answer:``.
QUESTION_TEMPLATE: Final = "Question: {question}\nAnswer:"
#: Between ``Answer:`` and the solution.
TARGET_DELIMITER: Final = " "
#: Between few-shot examples (and between the last example and the problem).
FEWSHOT_DELIMITER: Final = "\n\n"
#: Generation stops at any of these: a base model that has written its answer goes
#: on with a blank line and a new ``Question:``.
STOP_SEQUENCES: Final = ("Question:", "\n\n", "</s>", "<|endoftext|>", "<|im_end|>")


def format_question(question: str) -> str:
    """The context for one problem: ``Question: <question>\\nAnswer:``."""
    return QUESTION_TEMPLATE.format(question=question.strip())


def training_text(question: str, answer: str) -> str:
    """One training example in exactly the evaluation format (append EOS when tokenising)."""
    return format_question(question) + TARGET_DELIMITER + answer.strip()


def doc_to_text(doc: Mapping[str, object]) -> str:
    """lm_eval ``doc_to_text`` hook."""
    return format_question(str(doc["question"]))


def doc_to_target(doc: Mapping[str, object]) -> str:
    """lm_eval ``doc_to_target`` hook for the log-likelihood task: `` <solution>``.

    The leading space is part of the target because lm_eval adds no delimiter between
    context and continuation in log-likelihood requests.
    """
    return TARGET_DELIMITER + str(doc["solution"])


def doc_to_fewshot_target(doc: Mapping[str, object]) -> str:
    """The solution shown in a few-shot example (lm_eval inserts ``target_delimiter``)."""
    return str(doc["solution"])

"""The lm_eval filter of the sampling tasks: extract every response's final answer, keep all N.

lm_eval's default filter for a generate task with ``repeats: N`` is ``take_first``,
which throws away N-1 samples.  :class:`ExtractAnswers` instead maps each of the N
raw responses to its extracted final answer (:func:`~.answers.extract_answer`), so
``filtered_resps`` in the samples log is the list of N answers (``"[invalid]"`` where
none was found) while ``resps`` keeps the N raw texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from lm_eval.api.filter import Filter

from .answers import ExtractionMode, extract_answer

__all__ = ["INVALID", "ExtractAnswers"]

#: Filtered value of a response in which no final answer was found.
INVALID: Final = "[invalid]"


class ExtractAnswers(Filter):
    """Filter: ``[[resp_1..resp_N], ...]`` -> ``[[answer_1..answer_N], ...]`` (nothing dropped)."""

    def __init__(self, mode: ExtractionMode = "strict", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in ("strict", "flexible"):
            raise ValueError(f"ExtractAnswers: mode must be 'strict' or 'flexible', got {mode!r}")
        self.mode: ExtractionMode = mode

    def apply(self, resps: Iterable[Sequence[str]], docs: Sequence[dict[str, Any]]) -> list[list[str]]:
        out = []
        for responses in resps:
            answers = []
            for text in responses:
                answer = extract_answer(text, self.mode) if isinstance(text, str) else None
                answers.append(INVALID if answer is None else answer)
            out.append(answers)
        return out

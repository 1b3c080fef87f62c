"""The lm_eval filter of the sampling tasks: extract every response's final answer, keep all N.

lm_eval's default filter for a generate task with ``repeats: N`` is ``take_first``,
which throws away N-1 samples.  :class:`ExtractAnswers` instead maps each of the N
raw responses to its final answer with the extractor named in the YAML
(``extractor: strict``; :mod:`.extractors`), so ``filtered_resps`` in the samples log is
the list of N answers (``"[invalid]"`` where none was found, the reference answer
itself where the extractor matched it: :meth:`~.extractors.Extractor.judge`) while
``resps`` keeps the N raw texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lm_eval.api.filter import Filter

from .extractors import DEFAULT_EXTRACTOR, get_extractor

__all__ = ["ExtractAnswers"]


class ExtractAnswers(Filter):
    """Filter: ``[[resp_1..resp_N], ...]`` -> ``[[answer_1..answer_N], ...]`` (nothing dropped)."""

    def __init__(self, extractor: str = DEFAULT_EXTRACTOR, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extractor = get_extractor(extractor)

    def apply(self, resps: Iterable[Sequence[str]], docs: Sequence[dict[str, Any]]) -> list[list[str]]:
        return [self.extractor.judge(responses, str(doc["final_answer"]))
                for responses, doc in zip(resps, docs, strict=True)]

"""Recount ``num_correct`` from logged responses, without the model (``rescore``), and
read lm-eval 0.5's ``scores_per_repeat`` (``import lm-eval --metric``).

Both read lm_eval output directories (``results_<date>.json`` + ``samples_<task>_<date>.jsonl``
from ``--log_samples``) with the merge rules of :func:`~lm_eval_scaling.collect.collect_tables`:
chunks of one (model, revision, task) with different seeds are summed, the same seeds
twice are refused, prompts and settings must agree.

:func:`rescore_runs` re-extracts the final answer of every raw response (``resps``: the
N samples of a problem) with a named extractor (:mod:`lm_eval_scaling.harness.extractors`)
and compares it with the problem's reference: ``doc.final_answer`` (the tasks of this
package), else the extractor's reading of lm_eval's ``target`` (another harness task, e.g.
a ``repeats: N`` self-consistency task).  Runs whose only difference is how they were
scored (``filter_list``, ``process_results``, ``answer_extraction``) merge, because every
response is scored again.  It also returns the answers table that maj@k is computed
from (:func:`lm_eval_scaling.passk.majority.majority_table`).

:func:`scores_per_repeat_runs` reads lm-eval 0.5's per-sample scores
``scores_per_repeat: {metric: [0, 1, ...]}`` (one score per repeat) of one metric and
one filter: ``num_samples`` is the number of scores and ``num_correct`` the number of 1s.

Samples files log one line per (problem, filter); the responses are the same on every
filter's line, so rescoring reads the lines of the first filter only.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from ..errors import InputError
from ..harness.extractors import INVALID, Extractor, get_extractor
from ..passk.majority import ANSWERS_COLUMNS
from . import CollectResult, _merge_runs, _problem_order
from ._files import RunTask
from ._stream import ProblemRecord, iter_lines, problem_id_of

__all__ = ["SCORING_SETTINGS", "RescoreResult", "rescore_runs", "scores_per_repeat_runs"]

log = logging.getLogger(__name__)

#: Settings that only say how responses were scored: rescored runs may differ in them.
SCORING_SETTINGS: Final = ("filter_list", "process_results", "metadata.answer_extraction")


@dataclass(frozen=True)
class RescoreResult:
    """``counts`` / ``runs`` / ``warnings`` as from ``collect``, plus ``answers`` (one row
    per distinct extracted answer of a problem, :data:`~lm_eval_scaling.passk.majority.ANSWERS_COLUMNS`)
    and the ``extractor`` used."""

    counts: pd.DataFrame
    answers: pd.DataFrame
    runs: pd.DataFrame
    extractor: str
    warnings: tuple[str, ...] = ()


def rescore_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    extractor: str = "strict",
    *,
    strip_prefixes: Sequence[str] = (),
    progress: bool | None = None,
) -> RescoreResult:
    """Counts (and answers) recomputed from the raw responses of generation tasks."""
    chosen = get_extractor(extractor)
    answers: dict[tuple[str, str, str, str], Counter[str]] = {}
    references: dict[tuple[str, str, str, str], tuple[str, Path]] = {}

    def records_of(task: RunTask, warnings: list[str]) -> Iterator[ProblemRecord] | None:
        if json.loads(task.settings.get("output_type", "null")) not in (None, "generate_until"):
            log.info("%s: not a generation task; skipped", task.samples_path)
            return None
        return _rescored(task, chosen, warnings, answers, references)

    result = _merge_runs(run_dirs, strip_prefixes=strip_prefixes, progress=progress,
                         what="rescore", records_of=records_of,
                         ignore_settings=SCORING_SETTINGS)
    return RescoreResult(counts=result.counts, answers=_answers_table(answers, references),
                         runs=result.runs, extractor=chosen.name, warnings=result.warnings)


def scores_per_repeat_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    metric: str | None = None,
    filter_name: str | None = None,
    strip_prefixes: Sequence[str] = (),
    progress: bool | None = None,
) -> CollectResult:
    """Counts from lm-eval 0.5 ``scores_per_repeat`` (0/1 per repeat) of one metric and filter."""

    def records_of(task: RunTask, warnings: list[str]) -> Iterator[ProblemRecord]:
        return _scored(task, metric, filter_name, warnings)

    return _merge_runs(run_dirs, strip_prefixes=strip_prefixes, progress=progress,
                       what="import lm-eval", records_of=records_of)


# --------------------------------------------------------------------------- readers


def _lines_of_one_filter(
    path: Path, warnings: list[str], wanted: str | None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The lines of filter ``wanted`` (None: the first filter seen; lines of other
    filters are the same responses scored another way)."""
    chosen = wanted
    for lineno, obj in iter_lines(path, warnings):
        name = obj.get("filter")
        if name is None:
            yield lineno, obj
            continue
        if chosen is None:
            chosen = str(name)
        if name == chosen:
            yield lineno, obj


def _rescored(
    task: RunTask,
    extractor: Extractor,
    warnings: list[str],
    answers: dict[tuple[str, str, str, str], Counter[str]],
    references: dict[tuple[str, str, str, str], tuple[str, Path]],
) -> Iterator[ProblemRecord]:
    path = task.samples_path
    for lineno, obj in _lines_of_one_filter(path, warnings, None):
        pid = problem_id_of(path, lineno, obj)
        responses = _responses(path, lineno, obj)
        reference = _reference(path, lineno, obj, extractor)
        key = (*task.key, pid)
        seen = references.setdefault(key, (reference, path))
        if seen[0] != reference:
            raise InputError(
                f"{path}: line {lineno}: problem {pid!r} has reference answer {reference!r} "
                f"but {seen[0]!r} in {seen[1]}; runs of different problems cannot be merged"
            )
        judged = extractor.judge(responses, reference)
        answers.setdefault(key, Counter()).update(judged)
        correct = sum(1 for a in judged if a == reference)
        yield ProblemRecord(lineno, pid, str(obj.get("prompt_hash", "")), "counts",
                            num_samples=len(judged), num_correct=correct)


def _responses(path: Path, lineno: int, obj: dict[str, Any]) -> list[str]:
    resps = obj.get("resps")
    if (isinstance(resps, list) and len(resps) == 1 and isinstance(resps[0], list)
            and resps[0] and all(isinstance(r, str) for r in resps[0])):
        return resps[0]
    raise InputError(
        f"{path}: line {lineno}: field 'resps' is not the N text responses of one generation "
        f"request (expected [[text, ...]]; got {_short(resps)})"
    )


def _reference(path: Path, lineno: int, obj: dict[str, Any], extractor: Extractor) -> str:
    doc = obj.get("doc")
    if isinstance(doc, dict) and isinstance(doc.get("final_answer"), str):
        return doc["final_answer"]
    target = obj.get("target")
    reference = extractor.reference(str(target)) if isinstance(target, (str, int, float)) else None
    if reference is None:
        raise InputError(
            f"{path}: line {lineno}: field 'target' holds no reference answer the "
            f"{extractor.name!r} extractor can read (got {_short(target)})"
        )
    return reference


def _scored(task: RunTask, metric: str | None, filter_name: str | None,
            warnings: list[str]) -> Iterator[ProblemRecord]:
    path = task.samples_path
    filters: set[str] = set()
    for lineno, obj in iter_lines(path, warnings):
        name = str(obj.get("filter", ""))
        if filter_name is not None and name != filter_name:
            filters.add(name)
            continue
        filters.add(name)
        if filter_name is None and len(filters) > 1:
            raise InputError(
                f"{path}: line {lineno}: the samples are scored by several filters "
                f"({', '.join(sorted(filters))}); choose one with --filter"
            )
        scores = obj.get("scores_per_repeat")
        if not isinstance(scores, dict) or not scores:
            raise InputError(
                f"{path}: line {lineno}: no field 'scores_per_repeat' (lm-eval >= 0.5 with "
                f"repeats > 1 logs it; got {_short(scores)})"
            )
        name_m = metric
        if name_m is None:
            if len(scores) != 1:
                raise InputError(f"{path}: line {lineno}: field 'scores_per_repeat' has metrics "
                                 f"{sorted(scores)}; choose one with --metric")
            name_m = next(iter(scores))
        values = scores.get(name_m)
        field = f"scores_per_repeat.{name_m}"
        if not isinstance(values, list) or not values:
            raise InputError(f"{path}: line {lineno}: field {field!r} missing or empty "
                             f"(metrics: {sorted(scores)}; got {_short(values)})")
        correct = 0
        for value in values:
            if isinstance(value, bool) or value not in (0, 1):
                raise InputError(f"{path}: line {lineno}: field {field!r} holds {value!r}; "
                                 "only 0/1 scores count samples")
            correct += int(value)
        yield ProblemRecord(lineno, problem_id_of(path, lineno, obj),
                            str(obj.get("prompt_hash", "")), "counts",
                            num_samples=len(values), num_correct=correct)
    if filter_name is not None and filter_name not in filters:
        raise InputError(f"{path}: no line of filter {filter_name!r} (filters: "
                         f"{', '.join(sorted(filters)) or 'none'})")


def _answers_table(
    answers: dict[tuple[str, str, str, str], Counter[str]],
    references: dict[tuple[str, str, str, str], tuple[str, Path]],
) -> pd.DataFrame:
    rows = []
    for key in sorted(answers, key=lambda k: (*k[:3], _problem_order(k[3]))):
        counter = answers[key]
        reference = references[key][0]
        for answer, count in sorted(counter.items(), key=lambda item: (-item[1], item[0])):
            rows.append((*key, answer, count, answer == reference, answer != INVALID))
    return pd.DataFrame(rows, columns=list(ANSWERS_COLUMNS))


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."

"""Streaming the per-sample JSONL that lm_eval writes with ``--log_samples``.

One line per problem; a line holds every raw response (N of them), so it can be large
and a file can be many GB: lines are read and parsed one at a time, and only the few
per-problem fields ``collect`` needs are kept.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError

__all__ = ["ProblemRecord", "RecordKind", "iter_lines", "iter_records", "problem_id_of"]

log = logging.getLogger(__name__)

RecordKind = Literal["counts", "gold", "other"]


@dataclass(frozen=True)
class ProblemRecord:
    """What one samples line contributes: counts or a gold log-probability."""

    line: int
    problem_id: str
    prompt_hash: str
    kind: RecordKind
    num_samples: int = 0
    num_correct: int = 0
    gold_logprob: float = math.nan
    gold_bytes: int = 0


def iter_records(path: Path, warnings: list[str]) -> Iterator[ProblemRecord]:
    """Parse ``path`` line by line into :class:`ProblemRecord` (see :func:`iter_lines`)."""
    for lineno, obj in iter_lines(path, warnings):
        yield _record(path, lineno, obj)


def iter_lines(path: Path, warnings: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, JSON object)`` of every line of ``path``, one line at a time.

    A last line that is not valid JSON (a run killed while writing) is skipped with a
    warning appended to ``warnings``; an invalid line anywhere else is an error.
    """
    with path.open("rb") as fh:
        pending: tuple[int, bytes] | None = None
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            if pending is not None:
                obj = _parse(path, *pending, last=False, warnings=warnings)
                if obj is not None:
                    yield pending[0], obj
            pending = (lineno, raw)
        if pending is not None:
            obj = _parse(path, *pending, last=True, warnings=warnings)
            if obj is not None:
                yield pending[0], obj


def _parse(
    path: Path, lineno: int, raw: bytes, *, last: bool, warnings: list[str]
) -> dict[str, Any] | None:
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if last:
            message = (f"{path}: line {lineno} is truncated or not valid JSON "
                       f"({len(raw)} bytes; a killed run?); skipped it")
            log.warning(message)
            warnings.append(message)
            return None
        raise InputError(f"{path}: line {lineno}: not valid JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise InputError(f"{path}: line {lineno}: expected a JSON object")
    return obj


def problem_id_of(path: Path, lineno: int, obj: dict[str, Any]) -> str:
    """``doc.problem_id`` (the tasks of this package), else lm_eval's ``doc_id``."""
    doc = obj.get("doc")
    pid: Any = doc.get("problem_id") if isinstance(doc, dict) else None
    if pid is None:
        pid = obj.get("doc_id")
    if pid is None:
        raise InputError(f"{path}: line {lineno}: no field 'doc.problem_id' nor 'doc_id'")
    return str(pid)


def _record(path: Path, lineno: int, obj: dict[str, Any]) -> ProblemRecord:
    problem_id = problem_id_of(path, lineno, obj)
    prompt_hash = str(obj.get("prompt_hash", ""))
    if "num_samples" in obj or "num_correct" in obj:
        n = _count(path, lineno, obj, "num_samples")
        c = _count(path, lineno, obj, "num_correct")
        if c > n:
            raise InputError(f"{path}: line {lineno}: field 'num_correct' ({c}) exceeds "
                             f"'num_samples' ({n})")
        return ProblemRecord(lineno, problem_id, prompt_hash, "counts", num_samples=n,
                             num_correct=c)
    if "gold_logprob" in obj:
        value = obj["gold_logprob"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{path}: line {lineno}: field 'gold_logprob' is not a finite "
                             f"number (got {value!r})")
        if value > 1e-6:
            raise InputError(f"{path}: line {lineno}: field 'gold_logprob' must be <= 0 "
                             f"(got {value!r})")
        nbytes = obj.get("gold_bytes", 0)
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
            raise InputError(f"{path}: line {lineno}: field 'gold_bytes' is not a non-negative "
                             f"integer (got {nbytes!r})")
        return ProblemRecord(lineno, problem_id, prompt_hash, "gold",
                             gold_logprob=min(float(value), 0.0), gold_bytes=nbytes)
    return ProblemRecord(lineno, problem_id, prompt_hash, "other")


def _count(path: Path, lineno: int, obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{path}: line {lineno}: field {name!r} is not a non-negative integer "
                         f"(got {value!r})")
    return value

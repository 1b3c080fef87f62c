"""Import lighteval's details parquet files (``details_<task>_<date>.parquet``).

lighteval (``--save-details``) writes one row per problem with three struct columns:
``doc`` (``query``, ``choices``, ``gold_index``, ``id``, ...), ``model_response``
(``text``: the N generations, ...) and ``metric`` (metric name -> the problem's value,
e.g. ``"avg@n:n=16"`` or ``"pass@k:k=1&n=16"``).  Two ways to count:

* ``metric=NAME`` (or the only countable metric of the file): a metric that is the mean
  correctness of the problem's n samples -- ``avg@n``, ``pass@k`` with ``k=1``, or any
  0/1 metric of a single sample.  ``num_samples`` is n (the ``n=`` of the metric name,
  else the number of generations) and ``num_correct = value * n``, which must be a
  whole number.  ``maj@n``, ``pass@k`` with ``k > 1`` and the like do not determine the
  counts and are refused.
* ``extractor=NAME``: every generation is scored again with a named answer extractor
  against the reference ``doc.choices[doc.gold_index]`` (as ``rescore`` does), which
  also gives the answers table for maj@k.

``problem_id`` is ``doc.id``; files whose docs carry no id are refused unless
``ids_from_rows`` numbers the problems by row.  The task is the file name's
``<task>`` part unless given.  lighteval records no sampling seed, so the same problem in
two files is refused rather than summed.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from ..errors import TableError
from ..harness.extractors import INVALID, get_extractor
from ..passk.majority import ANSWERS_COLUMNS
from ..tables.files import read_table_file
from ..tables.schema import COUNTS_KEY, concat_tables, read_counts

__all__ = ["LightevalImport", "import_lighteval", "task_of_details_file"]

_DETAILS_RE: Final = re.compile(r"details_(.+)_(\d{4}-\d{2}-\d{2}T[\d\-.]+)$")
_N_PARAM_RE: Final = re.compile(r"(?:^|[:&])n=(\d+)")
_K_PARAM_RE: Final = re.compile(r"(?:^|[:&])k=(\d+)")
_COLUMNS: Final = ("doc", "metric", "model_response")
_TOLERANCE: Final = 1e-6


@dataclass(frozen=True)
class LightevalImport:
    """Validated ``counts`` and, when rescored with an extractor, ``answers``."""

    counts: pd.DataFrame
    answers: pd.DataFrame | None = None


def task_of_details_file(path: Path) -> str:
    """``details_gsm8k|0_2025-01-01T10-00-00.123.parquet`` -> ``gsm8k|0``."""
    match = _DETAILS_RE.fullmatch(path.stem)
    return match.group(1) if match else path.stem


def import_lighteval(
    paths: Sequence[str | os.PathLike[str]],
    *,
    model: str,
    revision: str = "",
    task: str | None = None,
    metric: str | None = None,
    extractor: str | None = None,
    ids_from_rows: bool = False,
) -> LightevalImport:
    """Counts from lighteval details files (see the module docstring)."""
    if metric is not None and extractor is not None:
        raise TableError("give a metric or an extractor, not both", field="metric")
    frames: list[tuple[str, pd.DataFrame]] = []
    answer_rows: list[tuple[Any, ...]] = []
    for item in paths:
        path = Path(item)
        label = str(path)
        df = read_table_file(path)
        missing = [c for c in _COLUMNS if c not in df.columns]
        if missing:
            raise TableError(f"not a lighteval details file: missing columns {missing}; found "
                             f"{list(df.columns)}", source=label, field=missing[0])
        name = task or task_of_details_file(path)
        rows = []
        for i, (doc, response, metrics) in enumerate(zip(df["doc"], df["model_response"],
                                                         df["metric"], strict=True)):
            pid = _problem_id(label, i, doc, ids_from_rows)
            if extractor is None:
                n, c = _counts_from_metric(label, i, response, metrics, metric)
            else:
                judged, reference = _rescore(label, i, doc, response, extractor)
                n, c = len(judged), sum(1 for a in judged if a == reference)
                for answer, count in sorted(Counter(judged).items()):
                    answer_rows.append((model, revision, name, pid, answer, count,
                                        answer == reference, answer != INVALID))
            rows.append((model, revision, name, pid, n, c))
        counts = pd.DataFrame(rows, columns=["model", "revision", "task", "problem_id",
                                             "num_samples", "num_correct"])
        frames.append((label, read_counts(counts, name=label)))
    counts = concat_tables(frames, COUNTS_KEY)
    answers = (pd.DataFrame(answer_rows, columns=list(ANSWERS_COLUMNS))
               if extractor is not None else None)
    return LightevalImport(counts=counts.reset_index(drop=True), answers=answers)


def _problem_id(label: str, i: int, doc: Any, ids_from_rows: bool) -> str:
    if ids_from_rows:
        return str(i)
    value = doc.get("id") if isinstance(doc, Mapping) else None
    if value is None or str(value).strip() == "":
        raise TableError("the doc has no id to use as problem_id (number the problems by "
                         "row with --ids-from-rows)", source=label, row=i + 1, field="doc.id",
                         value=value)
    return str(value)


def _generations(label: str, i: int, response: Any) -> list[str]:
    text = response.get("text") if isinstance(response, Mapping) else None
    if text is None or isinstance(text, str) or not all(isinstance(t, str) for t in text):
        raise TableError("expected the list of generated texts", source=label, row=i + 1,
                         field="model_response.text", value=_short(text))
    return list(text)


def _counts_from_metric(label: str, i: int, response: Any, metrics: Any,
                        metric: str | None) -> tuple[int, int]:
    if not isinstance(metrics, Mapping):
        raise TableError("expected a struct of metric values", source=label, row=i + 1,
                         field="metric", value=_short(metrics))
    present = {k: v for k, v in metrics.items() if v is not None}
    n_generated = len(_generations(label, i, response))
    if metric is None:
        usable = [k for k in present if _countable(k, n_generated)]
        if len(usable) != 1:
            raise TableError(f"choose the metric to count with --metric (countable: {usable}; "
                             f"all: {sorted(present)})", source=label, row=i + 1, field="metric")
        metric = usable[0]
    field = f"metric.{metric}"
    if metric not in present:
        raise TableError(f"no such metric (found {sorted(present)})", source=label, row=i + 1,
                         field=field)
    if not _countable(metric, n_generated):
        raise TableError("not the mean correctness of the samples (use avg@n, pass@k with "
                         "k=1, or a 0/1 metric of one sample)", source=label, row=i + 1,
                         field=field)
    n_param = _N_PARAM_RE.search(metric.partition(":")[2])
    n = int(n_param.group(1)) if n_param else n_generated
    if n_param and n_generated and n != n_generated:
        raise TableError(f"n={n} in the metric name but {n_generated} generations",
                         source=label, row=i + 1, field="model_response.text")
    value = present[metric]
    c_float = float(value) * n if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    c = round(c_float) if math.isfinite(c_float) else -1
    if n < 1 or not 0 <= c <= n or abs(c_float - c) > _TOLERANCE * max(n, 1):
        raise TableError(f"value * n (n={n}) is not a whole number of correct samples",
                         source=label, row=i + 1, field=field, value=value)
    return n, int(c)


def _countable(name: str, n_generated: int) -> bool:
    base, _, params = name.partition(":")
    if base.startswith("avg@"):
        return True
    if base.startswith("pass@"):
        k = _K_PARAM_RE.search(params)
        return (k is not None and int(k.group(1)) == 1) or base == "pass@1"
    if any(base.startswith(p) for p in ("maj@", "g-pass@", "mg-pass@", "pass^")):
        return False
    return n_generated == 1


def _rescore(label: str, i: int, doc: Any, response: Any,
             extractor_name: str) -> tuple[list[str], str]:
    extractor = get_extractor(extractor_name)
    texts = _generations(label, i, response)
    choices = doc.get("choices") if isinstance(doc, Mapping) else None
    gold: Any = doc.get("gold_index") if isinstance(doc, Mapping) else None
    if hasattr(gold, "tolist"):
        gold = gold.tolist()
    if isinstance(gold, list) and len(gold) == 1:
        gold = gold[0]
    try:
        target = choices[int(gold)]  # type: ignore[index, arg-type]
    except (TypeError, ValueError, IndexError, KeyError):
        raise TableError("expected one gold answer doc.choices[doc.gold_index]", source=label,
                         row=i + 1, field="doc.gold_index", value=_short(gold)) from None
    reference = extractor.reference(str(target))
    if reference is None:
        raise TableError(f"the gold answer holds no reference the {extractor.name!r} extractor "
                         "can read", source=label, row=i + 1, field="doc.choices",
                         value=_short(target))
    return extractor.judge(texts, reference), reference


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."

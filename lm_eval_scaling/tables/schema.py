"""The tidy tables every analysis consumes: counts, ladder, gold.

Readers accept a CSV/TSV/Parquet path or a DataFrame, validate it, and return a
normalised copy (the input is never mutated):

* ``revision`` and ``task`` are optional; where absent they are filled with ``""``
  (never NaN, so that grouping never silently drops rows).
* ``problem_id`` is normalised to ``str`` so that tables from different files join.
* counts are int64; ``compute`` defaults to ``6 * parameters * tokens`` in float64.

Every validation failure raises :class:`~lm_eval_scaling.errors.TableError` naming the
source, the 1-based data row (CSV line = row + 1), the field and the value.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from typing import Union

import numpy as np
import pandas as pd

from ..errors import TableError
from .checkpoints import SEPARATOR
from .files import read_table_file

__all__ = [
    "COUNTS_COLUMNS",
    "GOLD_COLUMNS",
    "LADDER_COLUMNS",
    "TableSource",
    "concat_tables",
    "read_counts",
    "read_gold",
    "read_ladder",
]

COUNTS_COLUMNS = ("model", "revision", "task", "problem_id", "num_samples", "num_correct")
LADDER_COLUMNS = ("model", "revision", "parameters", "tokens", "compute")
GOLD_COLUMNS = ("model", "revision", "task", "problem_id", "gold_logprob", "gold_tokens", "gold_bytes")

COUNTS_KEY = ("model", "revision", "task", "problem_id")
LADDER_KEY = ("model", "revision")
GOLD_KEY = ("model", "revision", "task", "problem_id")

TableSource = Union[str, "os.PathLike[str]", pd.DataFrame]


def read_counts(source: TableSource, *, name: str | None = None) -> pd.DataFrame:
    """Read and validate a counts table ``model, [revision, task,] problem_id, num_samples, num_correct``."""
    df, label = _load(source, name)
    df = _normalise_keys(df, label, required=("model", "problem_id", "num_samples", "num_correct"))
    n = _integer_column(df, "num_samples", label, minimum=0)
    c = _integer_column(df, "num_correct", label, minimum=0)
    bad = np.flatnonzero(c > n)
    if bad.size:
        i = int(bad[0])
        raise TableError(
            f"num_correct must be <= num_samples (num_samples={int(n[i])})",
            source=label, row=i + 1, field="num_correct", value=int(c[i]),
        )
    df["num_samples"] = n
    df["num_correct"] = c
    _check_unique(df, COUNTS_KEY, label)
    return _ordered(df, COUNTS_COLUMNS)


def read_ladder(source: TableSource, *, name: str | None = None) -> pd.DataFrame:
    """Read and validate a ladder table ``model, [revision,] parameters, tokens[, compute]``.

    ``compute`` defaults to ``6 * parameters * tokens`` evaluated in float64 (int64
    overflows for large models).  Extra columns (e.g. ``non_embedding_parameters``) are kept.
    """
    df, label = _load(source, name)
    df = _normalise_keys(df, label, required=("model", "parameters", "tokens"), task=False,
                         problem=False)
    for col in ("parameters", "tokens") + (("compute",) if "compute" in df.columns else ()):
        df[col] = _positive_float_column(df, col, label)
    if "non_embedding_parameters" in df.columns:
        df["non_embedding_parameters"] = _positive_float_column(df, "non_embedding_parameters", label)
    six_nd = 6.0 * df["parameters"].to_numpy(np.float64) * df["tokens"].to_numpy(np.float64)
    if "compute" in df.columns:
        _check_compute(df["compute"].to_numpy(np.float64), six_nd, df, label)
    else:
        df["compute"] = six_nd
    _check_unique(df, LADDER_KEY, label)
    return _ordered(df, LADDER_COLUMNS)


def read_gold(source: TableSource, *, name: str | None = None) -> pd.DataFrame:
    """Read and validate a gold table ``model, [revision, task,] problem_id, gold_logprob[, gold_tokens, gold_bytes]``."""
    df, label = _load(source, name)
    df = _normalise_keys(df, label, required=("model", "problem_id", "gold_logprob"))
    lp = _float_column(df, "gold_logprob", label)
    bad = np.flatnonzero(lp > 1e-6)
    if bad.size:
        i = int(bad[0])
        raise TableError("a log-probability must be <= 0", source=label, row=i + 1,
                         field="gold_logprob", value=float(lp[i]))
    df["gold_logprob"] = np.minimum(lp, 0.0)
    for col in ("gold_tokens", "gold_bytes"):
        if col in df.columns:
            df[col] = _integer_column(df, col, label, minimum=1)
    _check_unique(df, GOLD_KEY, label)
    return _ordered(df, GOLD_COLUMNS)


#: A ladder ``compute`` may differ from 6ND (a FLOP convention with attention terms, a
#: constant factor) but every row's ratio compute / 6ND must lie within this factor of the
#: median ratio; beyond it, compute disagrees with N and D (swapped rows, a x1000 slip).
COMPUTE_RATIO_TOLERANCE = 2.0


def _check_compute(compute: np.ndarray, six_nd: np.ndarray, df: pd.DataFrame, label: str) -> None:
    """Refuse a ``compute`` column inconsistent with ``6 * parameters * tokens``; warn when
    it differs from 6ND by a common factor (the laws in C and in N, D then use different
    units)."""
    if compute.size == 0:
        return
    ratio = compute / six_nd
    median = float(np.median(ratio))
    far = np.flatnonzero((ratio > median * COMPUTE_RATIO_TOLERANCE)
                         | (ratio < median / COMPUTE_RATIO_TOLERANCE))
    if far.size:
        i = int(far[0])
        raise TableError(
            f"compute is {ratio[i]:.3g} x 6*parameters*tokens here but {median:.3g} x at the "
            f"median row: compute disagrees with parameters and tokens (swapped rows, a unit "
            f"slip?); the compute law would use it while the params_tokens law and the "
            f"envelope use N and D. Fix it, or drop the column to use 6ND",
            source=label, row=i + 1, field="compute", value=df["compute"].iloc[i])
    if not 0.99 <= median <= 1.01:
        logging.getLogger(__name__).warning(
            "%s: the compute column is %.3g x 6*parameters*tokens (median over rows): the "
            "compute law is fitted in these units, the params_tokens law and the envelope in "
            "6ND", label, median)


def concat_tables(frames: Sequence[tuple[str, pd.DataFrame]], key: Iterable[str]) -> pd.DataFrame:
    """Concatenate validated tables from several sources; a key present in two sources is an error.

    ``frames`` is a sequence of ``(source_label, table)``.  Nothing is merged or summed
    here: the same (model, revision, task, problem_id) in two inputs would be double
    counted, so it is refused with both sources named.
    """
    key = list(key)
    if not frames:
        raise TableError("no input tables given")
    if len(frames) == 1:
        return frames[0][1].reset_index(drop=True)
    tagged = [df.assign(_source=label) for label, df in frames]
    allrows = pd.concat(tagged, ignore_index=True)
    dup = allrows.duplicated(subset=key, keep=False)
    if dup.any():
        first = allrows.loc[dup].iloc[0]
        same = allrows.loc[dup & (allrows[key] == first[key]).all(axis=1), "_source"].tolist()
        ident = ", ".join(f"{k}={first[k]!r}" for k in key)
        raise TableError(
            f"the same row ({ident}) appears in more than one input: {same[0]} and {same[1]}; "
            "refusing to double count"
        )
    return allrows.drop(columns="_source")


# --------------------------------------------------------------------------- helpers


def _load(source: TableSource, name: str | None) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), name or "<DataFrame>"
    return read_table_file(source), name or str(source)


def _normalise_keys(
    df: pd.DataFrame,
    label: str,
    *,
    required: Sequence[str],
    task: bool = True,
    problem: bool = True,
) -> pd.DataFrame:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise TableError(
            f"missing required column(s) {missing}; found columns {list(df.columns)}",
            source=label, field=missing[0],
        )
    df = df.reset_index(drop=True)
    string_cols = ["model", "revision"] + (["task"] if task else []) + (["problem_id"] if problem else [])
    for col in string_cols:
        if col not in df.columns:
            df[col] = ""
            continue
        values = df[col]
        if col in ("model", "problem_id"):
            nulls = np.flatnonzero(values.isna().to_numpy())
            if nulls.size:
                raise TableError("empty value in a required column", source=label,
                                 row=int(nulls[0]) + 1, field=col)
        df[col] = values.map(_to_key_string)
        if col == "model":
            empty = np.flatnonzero((df[col] == "").to_numpy())
            if empty.size:
                raise TableError("empty model name", source=label, row=int(empty[0]) + 1, field=col)
            at = np.flatnonzero(df[col].str.contains(SEPARATOR, regex=False).to_numpy())
            if at.size:
                i = int(at[0])
                raise TableError(
                    f"a model name may not contain {SEPARATOR!r}: checkpoints are named "
                    f"MODEL{SEPARATOR}REVISION, so it would be ambiguous with a model "
                    f"{df[col].iloc[i].rpartition(SEPARATOR)[0]!r} at revision "
                    f"{df[col].iloc[i].rpartition(SEPARATOR)[2]!r}; put the revision in the "
                    "'revision' column", source=label, row=i + 1, field=col,
                    value=df[col].iloc[i])
    return df


def _to_key_string(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _numeric(df: pd.DataFrame, col: str, label: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise TableError("expected a finite number", source=label, row=i + 1, field=col,
                         value=df[col].iloc[i])
    return values


def _integer_column(df: pd.DataFrame, col: str, label: str, *, minimum: int) -> np.ndarray:
    if df[col].dtype.kind in "iu":
        values = df[col].to_numpy(np.int64)
    else:
        f = _numeric(df, col, label)
        frac = np.flatnonzero(f != np.round(f))
        if frac.size:
            i = int(frac[0])
            raise TableError("expected a whole number", source=label, row=i + 1, field=col,
                             value=df[col].iloc[i])
        big = np.flatnonzero(np.abs(f) >= 2.0**63)
        if big.size:
            i = int(big[0])
            raise TableError("too large: counts must fit in a 64-bit integer (< 2**63)",
                             source=label, row=i + 1, field=col, value=df[col].iloc[i])
        values = f.astype(np.int64)
    low = np.flatnonzero(values < minimum)
    if low.size:
        i = int(low[0])
        raise TableError(f"must be >= {minimum}", source=label, row=i + 1, field=col,
                         value=int(values[i]))
    return values


def _float_column(df: pd.DataFrame, col: str, label: str) -> np.ndarray:
    return _numeric(df, col, label)


def _positive_float_column(df: pd.DataFrame, col: str, label: str) -> np.ndarray:
    values = _numeric(df, col, label)
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        i = int(bad[0])
        raise TableError("must be > 0", source=label, row=i + 1, field=col, value=df[col].iloc[i])
    return values


def _check_unique(df: pd.DataFrame, key: Sequence[str], label: str) -> None:
    dup = df.duplicated(subset=list(key), keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        first = df.iloc[rows[0]]
        twin = [int(r) for r in rows if (df.iloc[r][list(key)] == first[list(key)]).all()]
        ident = ", ".join(f"{k}={first[k]!r}" for k in key if first[k] != "")
        raise TableError(
            f"duplicate row for ({ident}); also at row {twin[1] + 1}",
            source=label, row=twin[0] + 1, field="+".join(key),
        )


def _ordered(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    first = [c for c in columns if c in df.columns]
    rest = [c for c in df.columns if c not in first]
    return df[first + rest]

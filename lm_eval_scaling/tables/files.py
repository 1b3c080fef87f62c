"""Reading and writing tabular files (CSV or Parquet), chosen by file extension."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["read_table_file", "table_format", "write_table_file"]

_CSV = (".csv", ".csv.gz", ".tsv")
_PARQUET = (".parquet", ".pq")


def table_format(path: str | os.PathLike[str]) -> str:
    """``"csv"``, ``"tsv"`` or ``"parquet"`` from the file name; InputError otherwise."""
    name = str(path).lower()
    if name.endswith(".tsv"):
        return "tsv"
    if name.endswith(_CSV):
        return "csv"
    if name.endswith(_PARQUET):
        return "parquet"
    raise InputError(
        f"{path}: unknown table format; expected a file ending in .csv, .csv.gz, .tsv, "
        ".parquet or .pq"
    )


def read_table_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file into a DataFrame, with clear errors."""
    p = Path(path)
    fmt = table_format(p)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a table file")
    try:
        if fmt == "parquet":
            return pd.read_parquet(p)
        return pd.read_csv(p, sep="\t" if fmt == "tsv" else ",", keep_default_na=True)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{p}: cannot read as {fmt}: {exc}") from exc


def write_table_file(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as CSV/TSV/Parquet by extension, atomically (tmp file + rename)."""
    p = Path(path)
    fmt = table_format(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    if fmt == "parquet":
        df.to_parquet(tmp, index=False)
    else:
        df.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",")
    os.replace(tmp, p)
    return p

"""Helpers shared by the CLI subcommands: option parsing and table output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..tables.files import write_table_file

__all__ = ["add_output_argument", "emit_table", "parse_int_list"]


def parse_int_list(text: str) -> list[int]:
    """``"1,10,100"`` -> ``[1, 10, 100]``; also ``"1-8"`` ranges and ``"1:1e4:24"``
    (24 log-spaced integers from 1 to 10,000, duplicates removed)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if part.count(":") == 2:
                lo, hi, num = (float(x) for x in part.split(":"))
                import numpy as np

                vals = np.unique(np.round(np.geomspace(lo, hi, int(num))).astype(int))
                out.extend(int(v) for v in vals)
            elif "-" in part[1:]:
                lo_s, hi_s = part.split("-", 1)
                out.extend(range(int(lo_s), int(hi_s) + 1))
            else:
                out.append(int(float(part)) if float(part).is_integer() else int(part))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers like 1,10,100 (or 1-8, or 1:1e4:24), got {part!r}"
            ) from exc
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"k values must be integers >= 1, got {text!r}")
    return sorted(set(out))


def add_output_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=None,
        help=f"write the {what} to FILE (.csv, .tsv or .parquet); default: a readable table on stdout",
    )


def emit_table(
    df: pd.DataFrame,
    output: str | None,
    *,
    display_columns: Sequence[str] | None = None,
    float_format: str = "{:.6g}",
) -> None:
    """Write ``df`` to ``output`` (by extension), or print a readable table to stdout.

    On stdout only ``display_columns`` are shown (all when None); empty ``revision`` /
    ``task`` columns and all-zero count columns are left out to keep it readable.
    """
    if output:
        path = Path(output)
        if path.exists() and path.is_dir():
            raise InputError(f"{path}: is a directory; -o takes a file name")
        write_table_file(df, path)
        return
    shown = df[[c for c in display_columns if c in df.columns]] if display_columns else df.copy()
    for col in ("revision", "task"):
        if col in shown.columns and (shown[col] == "").all():
            shown = shown.drop(columns=col)
    for col in ("num_problems_excluded",):
        if col in shown.columns and (shown[col] == 0).all():
            shown = shown.drop(columns=col)
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
        text = shown.to_string(index=False, float_format=lambda v: float_format.format(v))
    sys.stdout.write(text + "\n")

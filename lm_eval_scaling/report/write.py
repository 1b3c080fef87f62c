"""Writing a report directory: tables, figures, ``index.html`` and the ``report.json`` manifest."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ..analysis.fits import fit_parameter_table
from ..errors import InputError
from ..tables.files import check_output_dir, os_error_message, output_lock, record_files, write_text
from .compute import (
    REPORT_GENERATOR,
    ReportOptions,
    ReportResults,
    compute_report,
    load_report_inputs,
)

__all__ = ["build_report", "write_report"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- writing


def write_report(
    results: ReportResults,
    out_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    progress: bool = False,
) -> Path:
    """Write tables, figures and ``index.html`` into ``out_dir``; returns the HTML path.

    Refuses (InputError) a non-empty directory that is not a previous report unless
    ``force``.  Everything is first written into a temporary sibling directory; only
    when all of it is written does it replace ``out_dir`` (renamed into place when
    ``out_dir`` is absent or empty; otherwise each file is moved in and ``report.json``
    last), so a crash or an interrupt leaves ``out_dir`` as it was.  Files a previous
    report wrote and this one does not are removed; no other file is ever deleted.
    """
    out = Path(out_dir)
    previous = _check_output_dir(out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as exc:
        raise InputError(os_error_message(out, exc)) from exc
    try:
        manifest = _write_all(results, stage, progress=progress)
        with output_lock(out.parent):
            _install(stage, out, manifest, previous)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log.info("report written to %s", out / "index.html")
    return out / "index.html"


def _write_all(results: ReportResults, out: Path, *, progress: bool) -> list[str]:
    """Every file of the report under ``out``; returns their relative paths, report.json last."""
    from ..tables.files import write_table_file
    from ._figures import render_figures
    from ._html import render_html

    written: list[str] = []

    def put_table(name: str, df: pd.DataFrame) -> None:
        write_table_file(df, out / name)
        written.append(name)

    put_table("passk.csv", results.passk)
    if results.points is not None:
        put_table("points.csv", results.points)
    if results.fits:
        write_text(out / "fits.json", json.dumps([f.to_dict() for f in results.fits], indent=1) + "\n")
        written.append("fits.json")
        put_table("fit_parameters.csv", fit_parameter_table(results.fits))
    if results.sensitivity is not None:
        put_table("sensitivity.csv", results.sensitivity)
    if results.backtest is not None:
        put_table("backtest.csv", results.backtest.rows)
        put_table("backtest_summary.csv", results.backtest.summary())
    if results.envelope_tables is not None:  # the file names of `envelope -o envelope.csv`
        put_table("envelope.csv", results.envelope_tables["checkpoints"])
        put_table("envelope_summary.csv", results.envelope_tables["summary"])
        put_table("envelope_budgets.csv", results.envelope_tables["budgets"])
    if results.gold_summary is not None:
        put_table("gold_summary.csv", results.gold_summary)

    figures = render_figures(results, out / "figures", progress=progress)
    written.extend(str(p.relative_to(out)) for fig in figures for p in fig.files)
    write_text(out / "index.html", render_html(results, figures, written))
    written.append("index.html")
    manifest = {
        "generator": REPORT_GENERATOR,
        "version": _version(),
        "sources": results.inputs.sources,
        "options": _jsonable(asdict(results.options)),
        "ks": list(results.ks),
        "laws": list(results.laws),
        "figures": [{"number": f.number, "name": f.name, "title": f.title,
                     "files": [str(p.relative_to(out)) for p in f.files],
                     "skipped": f.skipped} for f in figures],
        "notes": list(results.notes),
        "files": sorted(written) + ["report.json"],
    }
    write_text(out / "report.json", json.dumps(manifest, indent=1) + "\n")
    return list(manifest["files"])


def _install(stage: Path, out: Path, files: list[str], previous: set[str]) -> None:
    """Put the staged report in place of ``out`` (see :func:`write_report`)."""
    try:
        if not out.exists() or (out.is_dir() and not any(out.iterdir())):
            os.replace(stage, out)  # one rename: the whole report appears at once
            return
        for rel in files:  # report.json is last: until then `out` is the previous report
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, dest)
        # the staged manifest of the package's writer lists the files moved in
        for directory in {Path(rel).parent for rel in files}:
            record_files(out / directory, [Path(rel).name for rel in files
                                           if Path(rel).parent == directory])
    except OSError as exc:
        raise InputError(os_error_message(out, exc)) from exc
    _remove_stale(out, previous, set(files))


def _check_output_dir(out: Path, force: bool) -> set[str]:
    """Files of a previous report in ``out`` (empty set if none); refuse foreign dirs."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory; -o takes a directory")
    if not out.exists() or not any(out.iterdir()):
        return set()
    manifest = out / "report.json"
    previous: set[str] = set()
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict) and data.get("generator") == REPORT_GENERATOR:
            previous = {str(p) for p in data.get("files", []) if isinstance(p, str)}
            return previous
    if not force:
        raise InputError(f"{out}: directory is not empty and is not a previous report "
                         "(no report.json from lm-eval-scaling); choose another directory or "
                         "pass --force to write the report's files into it (other files are "
                         "left alone)")
    log.warning("%s: not a previous report; writing into it anyway (--force)", out)
    return set()


def _remove_stale(out: Path, previous: set[str], current: set[str]) -> None:
    root = out.resolve()
    for rel in sorted(previous - current):
        path = (out / rel).resolve()
        if root not in path.parents or not path.is_file():
            continue  # never touch anything outside the report directory
        path.unlink()
        log.debug("removed %s (written by the previous report, not by this one)", path)


def _version() -> str:
    from .. import __version__

    return __version__


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------- all in one


def build_report(
    inputs: Sequence[str | os.PathLike[str]] = (),
    out_dir: str | os.PathLike[str] = "report",
    *,
    ladder: str | os.PathLike[str] | pd.DataFrame | None = None,
    gold: str | os.PathLike[str] | pd.DataFrame | None = None,
    parameters: Literal["total", "non_embedding"] = "total",
    options: ReportOptions | None = None,
    force: bool = False,
    progress: bool = False,
) -> Path:
    """:func:`load_report_inputs` + :func:`compute_report` + :func:`write_report`.

    The output directory is checked before any computation, so a refused directory
    costs nothing.  Returns the path of ``index.html``.
    """
    _check_output_dir(Path(out_dir), force)
    check_output_dir(out_dir, names=(), inputs=[*inputs, ladder, gold])
    report_inputs = load_report_inputs(inputs, ladder=ladder, gold=gold, parameters=parameters)
    results = compute_report(report_inputs, options, progress=progress)
    return write_report(results, out_dir, force=force, progress=progress)

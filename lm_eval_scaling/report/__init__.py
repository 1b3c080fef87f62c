"""The scaling-law report: pass@k, fits, backtests and the envelope in one directory.

Three steps, usable separately::

    inputs  = load_report_inputs(["counts.csv"], ladder="ladder.csv", gold="gold.csv")
    results = compute_report(inputs, ReportOptions(ks=(1, 10, 100)))   # numerics only
    index   = write_report(results, "report/")                         # tables, figures, HTML

or :func:`build_report` for all three.  ``DIR/index.html`` is self-contained (figures
embedded as PNG, no network); the same figures are written under ``DIR/figures/`` and every
table the page shows is written beside it as CSV (fits also as JSON).  The numbers are
those of the CLI for the same options: ``passk.csv`` is ``lm-eval-scaling passk -o``
output, ``fits.json`` is ``fit -o``, ``backtest.csv``/``backtest_summary.csv`` are
``backtest -o backtest.csv``, ``envelope*.csv`` are ``envelope -o envelope.csv``.

With no inputs the report runs on the built-in default ladder (:func:`default_input`).
A directory is only written into when it is empty, absent, or a previous report
(``DIR/report.json`` names this generator); anything else needs ``force=True``, which
writes the report's files into it (replacing files of the same names) and deletes nothing.
"""

from __future__ import annotations

from .compute import (
    DEFAULT_LAWS,
    REPORT_GENERATOR,
    DefaultInput,
    ReportInputs,
    ReportOptions,
    ReportResults,
    auto_ks,
    compute_report,
    default_input,
    dense_ks,
    load_report_inputs,
)
from .write import build_report, write_report

__all__ = [
    "DEFAULT_LAWS",
    "REPORT_GENERATOR",
    "DefaultInput",
    "ReportInputs",
    "ReportOptions",
    "ReportResults",
    "auto_ks",
    "build_report",
    "compute_report",
    "default_input",
    "dense_ks",
    "load_report_inputs",
    "write_report",
]

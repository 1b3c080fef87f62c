"""lm-eval-scaling: pretraining scaling laws for generative evaluations (pass@k).

Public API (imported lazily, so ``import lm_eval_scaling`` is cheap)::

    pass_at_k(num_samples, num_correct, k)          # per-problem unbiased estimator
    maj_at_k(num_correct, wrong_counts, k, num_invalid)   # unbiased maj@k over k-subsets
    rescore_runs(run_dirs, extractor), import_monkeys(path)   # samples you already have
    benchmark_pass_at_k(...), passk_table(...)      # benchmark mean + bootstrap CI
    read_counts / read_ladder / read_gold            # validated tidy tables
    load_tables(paths) -> (counts, gold)             # tables or harness output directories
    passk_points(counts, ladder, ks=...)             # the points table, computed once
    fit_table(points, laws=..., options=FitOptions(...))   # one fit per (law, k)
    fit_law(law, y, C=...), law_names(), register_law(LawSpec(...))
    backtest(points, ...), build_report(...)
    envelope(E0, N0, beta, D0, gamma)               # compute-optimal envelope (N*, D*, Phi)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "pass_at_k": "passk.estimator",
    "maj_at_k": "passk.majority",
    "majority_table": "passk.majority",
    "rescore_runs": "collect.rescore",
    "import_monkeys": "collect.monkeys",
    "import_lighteval": "collect.lighteval",
    "benchmark_pass_at_k": "passk.benchmark",
    "BenchmarkPassAtK": "passk.benchmark",
    "passk_table": "passk.benchmark",
    "read_counts": "tables.schema",
    "read_ladder": "tables.schema",
    "read_gold": "tables.schema",
    "checkpoint_name": "tables.checkpoints",
    "parse_checkpoint": "tables.checkpoints",
    "LmEvalScalingError": "errors",
    "InputError": "errors",
    "TableError": "errors",
    "FitError": "errors",
    "ParameterError": "errors",
    "envelope": "analysis.envelope",
    "Envelope": "analysis.envelope",
    "envelope_from_fit": "analysis.envelope",
    "envelope_tables": "analysis.envelope_tables",
    "collect_tables": "collect",
    "CollectResult": "collect",
    "write_tables": "collect",
    "tasks_dir": "harness",
    "FitOptions": "analysis.options",
    "passk_points": "analysis.points",
    "fit_table": "analysis.fits",
    "load_tables": "collect.load",
    "law_names": "fit",
    "register_law": "fit",
    "fit_law": "fit",
    "FitResult": "fit",
    "get_law": "fit",
    "bootstrap_fit": "fit",
    "load_ladder": "tables.ladder",
    "backtest": "analysis.backtest",
    "BacktestResult": "analysis.backtest",
    "build_report": "report",
    "compute_report": "report",
    "write_report": "report",
    "ReportOptions": "report",
}

__all__ = ["__version__", *_EXPORTS]


def lazy_exports(package: str, exports: Mapping[str, str],
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` of a package whose public names (``exports``: name ->
    submodule) are imported on first use, so that importing the package stays cheap."""
    namespace = sys.modules[package].__dict__

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(namespace.get("__all__", exports))

    return getattr_, dir_


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""pass@k: the per-problem estimator, the benchmark mean with its interval, the gold covariate.

* :mod:`.estimator` -- :func:`pass_at_k`, exact unbiased estimator (pure numerics).
* :mod:`.benchmark` -- :func:`benchmark_pass_at_k` and :func:`passk_table`.
* :mod:`.gold` -- ``-log GoldProb`` and mean NLLs per checkpoint.
"""

from __future__ import annotations

from .benchmark import BenchmarkPassAtK, benchmark_pass_at_k, passk_table
from .estimator import pass_at_k
from .gold import gold_summary

__all__ = ["BenchmarkPassAtK", "benchmark_pass_at_k", "gold_summary", "pass_at_k", "passk_table"]

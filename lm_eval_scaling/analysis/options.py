"""``FitOptions``: how every fit of a run is made, declared once and passed as one value.

The fits table, its problem bootstrap, the backtest, the envelope tables and the report
all take one :class:`FitOptions`; the command line builds it once from the shared
arguments (:func:`lm_eval_scaling.cli._common.add_fit_arguments`).  The defaults are
those of every command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import InputError
from ..fit.laws import LawSpec, get_law, law_names

if TYPE_CHECKING:
    from ..passk.benchmark import ShortProblemPolicy

__all__ = ["POOLED_REFITS", "FitOptions"]

#: What a backtest with the pooled estimator refits the pooled model to (``FitOptions.pooled_refit``).
POOLED_REFITS = ("cap", "target")

Bounds = Mapping[str, tuple[float | None, float | None]]


@dataclass(frozen=True, kw_only=True)
class FitOptions:
    """Options of every scaling-law fit of a run (immutable; compare and hash by value).

    ``loss``/``delta``: ``"huber"`` with threshold ``delta`` on log residuals, or
    ``"squared"``.  ``grid``: starting points, ``"auto"``, ``"full"`` or a number of
    Latin-hypercube starts.  ``bounds``: ``{parameter: (low, high)}`` in natural units
    (``None`` = open), applied to every law that has that parameter; stored as a tuple
    of ``(parameter, (low, high))`` pairs sorted by name (``dict(options.bounds)`` gives
    the mapping).  ``policy``:
    problems with fewer samples than k (:func:`lm_eval_scaling.passk.benchmark.passk_table`).
    ``estimator``: ``"unbiased"``, ``"beta_binomial"`` (problems with fewer samples than
    k get their pass@k from a model of per-problem success probabilities, so every problem
    counts at every k and ``policy`` no longer applies) or ``"pooled"`` (the same, with one
    model fitted to all checkpoints of a task together).  ``hierarchical``: every bootstrap
    also redraws each problem's correct count given its samples.
    ``bootstrap``/``ci``/``seed``: problem-bootstrap refits for percentile CIs at level
    ``ci`` (0 = asymptotic standard errors only), seeded.  ``n_jobs``: worker processes
    (``None`` = up to 2 where it pays).  ``warm_start``: backtest fits start from the next
    richer cap's fit.  ``gold_problems``/``gold_covariate``: the gold law's covariate
    (:func:`lm_eval_scaling.analysis.points.passk_points`): over the problems each
    checkpoint was sampled on (``"same"``) or every gold problem (``"all"``), and which
    statistic (``-log GoldProb``, or the NLL per token / per byte).
    ``nonnegative_exponents``: bound exponents below by 0 (a law's signed exponents
    excepted).  ``min_extra_points``: a fit of a ``p``-parameter law needs ``p +
    min_extra_points`` points to count as identified.  ``basin_gap``: relative objective
    gap within which a competing optimum makes a fit not identified.  ``chance_level``:
    the task's chance level, against which the direct laws normalise pass@k (0 for
    generative tasks such as GSM8K; :func:`lm_eval_scaling.analysis.points.law_response`).
    """

    loss: Literal["huber", "squared"] = "huber"
    delta: float = 1e-3
    grid: Literal["auto", "full"] | int = "auto"
    bounds: Bounds | tuple[tuple[str, tuple[float | None, float | None]], ...] = ()
    policy: ShortProblemPolicy = "drop_problems"
    estimator: Literal["unbiased", "beta_binomial", "pooled"] = "unbiased"
    hierarchical: bool = False
    bootstrap: int = 0
    ci: float = 0.95
    seed: int = 0
    n_jobs: int | None = None
    warm_start: bool = True
    pooled_refit: Literal["cap", "target"] = "cap"
    gold_problems: Literal["same", "all"] = "same"
    gold_covariate: str = "neg_log_gold_prob"
    nonnegative_exponents: bool = True
    min_extra_points: int = 2
    basin_gap: float = 0.01
    chance_level: float = 0.0

    def __post_init__(self) -> None:
        if self.loss not in ("huber", "squared"):
            _bad("loss", self.loss, "'huber' or 'squared'")
        if not (_is_number(self.delta) and np.isfinite(self.delta) and self.delta > 0):
            _bad("delta", self.delta, "a finite number > 0")
        if not (self.grid in ("auto", "full") or (_is_int(self.grid) and int(self.grid) >= 1)):
            _bad("grid", self.grid, "'auto', 'full' or a number of starts >= 1")
        from ..passk.benchmark import SHORT_PROBLEM_POLICIES  # not imported by --help

        if self.policy not in SHORT_PROBLEM_POLICIES:
            _bad("policy", self.policy, f"one of {', '.join(SHORT_PROBLEM_POLICIES)}")
        from ..passk.benchmark import ESTIMATORS

        if self.estimator not in ESTIMATORS:
            _bad("estimator", self.estimator, f"one of {', '.join(ESTIMATORS)}")
        if not isinstance(self.hierarchical, bool):
            _bad("hierarchical", self.hierarchical, "True or False")
        if not (_is_int(self.bootstrap) and self.bootstrap >= 0):
            _bad("bootstrap", self.bootstrap, "an integer >= 0 (refits)")
        if not (_is_number(self.ci) and 0 < self.ci < 1):
            _bad("ci", self.ci, "a level in (0, 1)")
        if not (_is_int(self.seed) and self.seed >= 0):
            _bad("seed", self.seed, "an integer >= 0")
        if self.n_jobs is not None and not (_is_int(self.n_jobs) and self.n_jobs >= 1):
            _bad("n_jobs", self.n_jobs, "an integer >= 1 or None")
        if self.pooled_refit not in POOLED_REFITS:
            _bad("pooled_refit", self.pooled_refit, f"one of {', '.join(map(repr, POOLED_REFITS))}")
        object.__setattr__(self, "bounds", tuple(sorted(_check_bounds(self.bounds).items())))
        if not (_is_int(self.min_extra_points) and self.min_extra_points >= 0):
            _bad("min_extra_points", self.min_extra_points, "an integer >= 0")
        if not (_is_number(self.basin_gap) and np.isfinite(self.basin_gap)
                and self.basin_gap >= 0):
            _bad("basin_gap", self.basin_gap, "a finite number >= 0")
        if not (_is_number(self.chance_level) and 0 <= self.chance_level < 1):
            _bad("chance_level", self.chance_level, "a number in [0, 1)")
        if self.gold_problems not in ("same", "all"):
            _bad("gold_problems", self.gold_problems, "'same' or 'all'")
        from ..passk.gold import GOLD_COVARIATES  # not imported by --help

        if self.gold_covariate not in GOLD_COVARIATES:
            _bad("gold_covariate", self.gold_covariate, f"one of {', '.join(GOLD_COVARIATES)}")

    def with_(self, **changes: Any) -> FitOptions:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def points_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`lm_eval_scaling.analysis.points.passk_points`: the
        short-problem policy, the pass@k estimator and the gold covariate's problems and
        statistic."""
        return {"policy": self.policy, "estimator": self.estimator,
                "gold_problems": self.gold_problems,
                "gold_covariate": self.gold_covariate}

    def law_kwargs(self, law: str | LawSpec) -> dict[str, Any]:
        """Keyword arguments of :func:`lm_eval_scaling.fit.fit_law` for one law: loss,
        delta, grid and the bounds on that law's parameters."""
        spec = law if isinstance(law, LawSpec) else get_law(law)
        bounds = {p: b for p, b in _pairs(self.bounds) if p in spec.param_names}
        return {"loss": self.loss, "delta": self.delta, "grid": self.grid,
                "bounds": bounds or None, "nonnegative_exponents": self.nonnegative_exponents,
                "min_points": spec.n_params + self.min_extra_points,
                "basin_gap": self.basin_gap}


def _pairs(bounds: Any) -> tuple[tuple[str, tuple[float | None, float | None]], ...]:
    """The stored ``(parameter, (low, high))`` pairs (a mapping before validation)."""
    return tuple(bounds.items()) if isinstance(bounds, Mapping) else tuple(bounds)


def _bad(name: str, value: Any, expected: str) -> None:
    raise InputError(f"FitOptions field {name!r}: expected {expected}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_bounds(bounds: Any) -> dict[str, tuple[float | None, float | None]]:
    if isinstance(bounds, tuple):
        bounds = dict(bounds)
    if not isinstance(bounds, Mapping):
        _bad("bounds", bounds, "a mapping {parameter: (low, high)}")
    known = {p for name in law_names() for p in get_law(name).param_names}
    out = {}
    for name, pair in bounds.items():
        if name not in known:
            _bad("bounds", name, f"a parameter of a registered law ({', '.join(sorted(known))})")
        try:
            lo, hi = pair
            lo_f = None if lo is None else float(lo)
            hi_f = None if hi is None else float(hi)
        except (TypeError, ValueError):
            _bad("bounds", {name: pair}, "(low, high) numbers or None")
        if lo_f is not None and hi_f is not None and not lo_f <= hi_f:
            _bad("bounds", {name: pair}, "low <= high")
        out[str(name)] = (lo_f, hi_f)
    return out

"""Benchmark-level pass@k: the mean over problems, with a bootstrap CI over problems.

Pure numerics (:func:`benchmark_pass_at_k`) plus the table-level driver
(:func:`passk_table`) that applies it to every checkpoint of a counts table.

Two estimators:

* ``"unbiased"`` (default): the mean of the per-problem unbiased estimator.  Problems
  with ``num_samples < k`` have no defined pass@k and ``policy`` decides:

  * ``"drop_problems"`` (default): leave them out of that k's mean; the row reports
    ``num_problems`` used and ``num_problems_excluded``.
  * ``"drop_k"``: report NaN for that (checkpoint, k) as soon as any problem is short.
  * ``"error"``: raise.

  They are never counted as 1.0.
* ``"beta_binomial"``: every problem counts at every k.  Where ``k <= n_i`` a problem
  keeps its unbiased value; where ``k > n_i`` it gets its posterior expected pass@k under
  a model of per-problem success probabilities fitted to all problems of the checkpoint
  (:mod:`lm_eval_scaling.passk.model`; the model kind is chosen by held-out likelihood
  unless ``model`` names one).  At k values where every problem has ``k <= n_i`` both
  estimators agree exactly.  A checkpoint with no success at all cannot be resolved by
  the model: its pass@k is NaN, ``censored`` is True and the interval runs from 0 to an
  upper bound built from per-problem Clopper-Pearson limits.
* ``"pooled"`` (:func:`passk_table` only): like ``"beta_binomial"``, but one model of success
  probabilities is fitted to all checkpoints of a task together
  (:mod:`lm_eval_scaling.passk.pooled`: problem ease shared by the checkpoints), so a
  problem never solved in a checkpoint's few samples borrows from what the other
  checkpoints saw of it, and each checkpoint's factor of extrapolation beyond its own
  unbiased pass@n is taken from a curve across the checkpoints
  (:func:`~lm_eval_scaling.passk.pooled.smooth_extrapolation`).  Intervals refit the pooled
  model on every resample of problems (one resample for all checkpoints of the task).

``neg_log_pass_at_k`` is NaN and ``censored`` is True where pass@k = 0 (below the
resolution of the samples drawn): never ``inf``.

Bootstrap.  Resamples draw problems with replacement (``hierarchical=False``), or draw
problems and then redraw each drawn problem's ``c`` from Binomial(``n``, ``c / n``), or
with ``estimator="beta_binomial"`` or ``"pooled"`` from Binomial(``n``, ``p``) with ``p``
drawn from the problem's (the cell's) posterior under the model (``hierarchical=True``: adds
the sampling noise of the finite ``n`` to the spread over problems).  Resample weights come from :func:`bootstrap_weights`; in :func:`passk_table`
they are seeded from ``seed`` and the checkpoint's task and problem set, so checkpoints
that share a problem set share their resamples (a paired bootstrap), and results do not
depend on row order or on how checkpoints are batched.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import InputError
from ..tables.checkpoints import checkpoint_name, natural_key
from ._seeding import child_seed
from .estimator import pass_at_k

if TYPE_CHECKING:
    from .model import SuccessModel

__all__ = [
    "ESTIMATORS",
    "SHORT_PROBLEM_POLICIES",
    "BenchmarkPassAtK",
    "Estimator",
    "ShortProblemPolicy",
    "benchmark_pass_at_k",
    "bootstrap_weights",
    "count_matrices",
    "neg_log",
    "passk_table",
    "resampled_pass_at_k",
]

log = logging.getLogger(__name__)

ShortProblemPolicy = Literal["drop_problems", "drop_k", "error"]
SHORT_PROBLEM_POLICIES: Final = ("drop_problems", "drop_k", "error")
Estimator = Literal["unbiased", "beta_binomial", "pooled"]
ESTIMATORS: Final = ("unbiased", "beta_binomial", "pooled")
_MODEL_CHOICES: Final = ("auto", "beta_binomial", "zero_inflated", "mixture")
# Columns of (checkpoint, k) bootstrapped by one matrix product in passk_table.
_BATCH_ELEMENTS: Final = 4_000_000


@dataclass(frozen=True)
class BenchmarkPassAtK:
    """Benchmark pass@k at several k (arrays aligned with ``k``).

    ``source`` says where each value comes from: ``"unbiased"``, the model kind that
    filled problems with ``k > n`` (``"beta_binomial"``, ``"zero_inflated"``,
    ``"mixture"``, ``"pooled"``), or ``"not_resolved"`` (no success in the data: only an upper bound).
    """

    k: npt.NDArray[np.int64]
    pass_at_k: npt.NDArray[np.float64]
    ci_low: npt.NDArray[np.float64]
    ci_high: npt.NDArray[np.float64]
    num_problems: npt.NDArray[np.int64]
    num_problems_excluded: npt.NDArray[np.int64]
    source: tuple[str, ...] = field(default=())

    @property
    def neg_log_pass_at_k(self) -> npt.NDArray[np.float64]:
        return neg_log(self.pass_at_k)

    @property
    def censored(self) -> npt.NDArray[np.bool_]:
        return (self.pass_at_k == 0.0) | np.array([s == "not_resolved" for s in self.source]
                                                 if self.source else False, dtype=bool)


def neg_log(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``-log p`` with ``p = 0`` (censored) mapped to NaN, never ``inf``."""
    arr = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.log(arr)
    return np.where(arr > 0, out, np.nan)


def _child_rng(seed: int | np.random.SeedSequence, index: int) -> np.random.Generator:
    """Independent stream ``index`` of ``seed`` (0: problem resamples, 1: binomial redraws)."""
    return np.random.default_rng(child_seed(seed, index))


def bootstrap_weights(
    num_problems: int, n_boot: int, seed: int | np.random.SeedSequence
) -> npt.NDArray[np.float64]:
    """``(n_boot, num_problems)`` multiplicities of problems drawn with replacement.

    One ``integers`` draw for all resamples, counted with one ``np.bincount``.
    """
    rng = _child_rng(seed, 0)
    idx = rng.integers(0, num_problems, size=(n_boot, num_problems))
    idx += np.arange(n_boot)[:, None] * num_problems
    counts = np.bincount(idx.reshape(-1), minlength=n_boot * num_problems)
    return counts.reshape(n_boot, num_problems).astype(np.float64)


def _redraw_correct(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64], n_boot: int,
    seed: int | np.random.SeedSequence,
) -> npt.NDArray[np.int64]:
    """``(n_boot, P)`` correct counts redrawn from Binomial(n_i, c_i / n_i)."""
    rng = _child_rng(seed, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, c / np.maximum(n, 1), 0.0)
    return rng.binomial(n[None, :], rate[None, :], size=(n_boot, n.size)).astype(np.int64)


def _quantiles(boot: npt.NDArray[np.float64], ci: float) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Percentile interval per column; NaN resamples (no usable problem) are ignored."""
    alpha = (1.0 - ci) / 2.0
    low = np.full(boot.shape[1], np.nan)
    high = np.full(boot.shape[1], np.nan)
    has_nan = np.isnan(boot).any(axis=0)
    clean = ~has_nan
    if clean.any():
        q = np.quantile(boot[:, clean], [alpha, 1.0 - alpha], axis=0)
        low[clean], high[clean] = q[0], q[1]
    for j in np.flatnonzero(has_nan):
        col = boot[:, j]
        col = col[~np.isnan(col)]
        if col.size:
            low[j], high[j] = np.quantile(col, [alpha, 1.0 - alpha])
    return low, high


def _check_args(policy: str, ci: float | None, estimator: str, model: str) -> None:
    if policy not in SHORT_PROBLEM_POLICIES:
        raise InputError(f"policy must be one of {SHORT_PROBLEM_POLICIES}, got {policy!r}")
    if ci is not None and ci != 0 and not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1), got {ci!r}")
    if estimator not in ESTIMATORS:
        raise InputError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if model not in _MODEL_CHOICES:
        raise InputError(f"model must be one of {_MODEL_CHOICES}, got {model!r}")
    if model != "auto" and estimator != "beta_binomial":
        raise InputError(f"model {model!r} applies to estimator 'beta_binomial' only, "
                         f"got estimator {estimator!r}")


def _unbiased_point(
    n: npt.NDArray[np.int64], c: npt.ArrayLike, ks: npt.NDArray[np.int64], policy: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64],
           npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(filled (P, K), valid (P, K) as float, mean (K,), used (K,), excluded (K,))."""
    per = pass_at_k(n, c, ks)  # (P, K), NaN where k > n
    valid = ~np.isnan(per)
    used = valid.sum(axis=0)
    excluded = n.size - used
    if policy == "error" and excluded.any():
        j = int(np.flatnonzero(excluded)[0])
        raise InputError(
            f"{int(excluded[j])} problem(s) have num_samples < k={int(ks[j])} "
            f"(smallest num_samples is {int(n.min())}); choose policy 'drop_problems' or 'drop_k'"
        )
    filled = np.where(valid, per, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / used
    mean = np.where(used > 0, mean, np.nan)
    if policy == "drop_k":
        mean = np.where(excluded > 0, np.nan, mean)
        used = np.where(excluded > 0, 0, used)
    return filled, valid.astype(np.float64), mean, used.astype(np.int64), excluded.astype(np.int64)


def benchmark_pass_at_k(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    k: Sequence[int] | npt.ArrayLike,
    *,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.SeedSequence = 0,
    policy: ShortProblemPolicy = "drop_problems",
    estimator: Estimator = "unbiased",
    model: str = "auto",
    hierarchical: bool = False,
) -> BenchmarkPassAtK:
    """Mean pass@k over problems for each k, with a percentile bootstrap CI.

    ``ci=None`` (or 0) skips the bootstrap; ``ci_low``/``ci_high`` are then NaN.
    ``estimator``, ``model`` and ``hierarchical``: see the module docstring.
    """
    _check_args(policy, ci, estimator, model)
    if estimator == "pooled":
        raise InputError("estimator 'pooled' fits all checkpoints of a task together: use "
                         "passk_table(counts, ..., estimator='pooled') on a counts table")
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    n = np.asarray(num_samples, dtype=np.int64).reshape(-1)
    c = np.asarray(num_correct, dtype=np.int64).reshape(-1)
    boot_on = bool(ci) and n.size > 0 and n_boot > 0
    if estimator == "beta_binomial" and n.size > 0 and (ks > n.min()).any():
        return _model_pass_at_k(n, c, ks, ci=ci, n_boot=n_boot, seed=seed, model=model,
                                hierarchical=hierarchical, boot_on=boot_on)
    _, _, mean, used, excluded = _unbiased_point(n, c, ks, policy)
    low = np.full(ks.shape, np.nan)
    high = np.full(ks.shape, np.nan)
    if boot_on:
        assert ci is not None
        weights = bootstrap_weights(n.size, n_boot, seed)
        boot = resampled_pass_at_k(n, c, ks, weights, seed=seed, hierarchical=hierarchical)
        ok = used > 0
        if ok.any():
            low[ok], high[ok] = _quantiles(boot[:, ok], ci)
    return BenchmarkPassAtK(k=ks, pass_at_k=mean, ci_low=low, ci_high=high,
                            num_problems=used, num_problems_excluded=excluded,
                            source=("unbiased",) * ks.size)


def resampled_pass_at_k(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    k: Sequence[int] | npt.ArrayLike,
    weights: npt.NDArray[np.float64],
    *,
    seed: int | np.random.SeedSequence = 0,
    estimator: Estimator = "unbiased",
    model: str = "auto",
    hierarchical: bool = False,
    fitted: SuccessModel | None = None,
) -> npt.NDArray[np.float64]:
    """Benchmark pass@k of each resample, shape ``(B, K)``: the core of every bootstrap.

    ``weights`` (B, P) are problem multiplicities (:func:`bootstrap_weights`, or columns of
    a joint resample over a larger problem set).  ``hierarchical`` redraws each resample's
    correct counts (stream 1 of ``seed``): from Binomial(n, c / n) with the unbiased
    estimator; from Binomial(n, p) with ``p`` drawn from the problem's posterior under the
    model with ``"beta_binomial"`` (so that a problem never solved so far can be).  With
    ``estimator="beta_binomial"`` each resample refits the model (kind of ``fitted``, or
    chosen once on the full data) and fills problems with ``k > n``; with ``"unbiased"``
    such problems are left out of their resample's mean (NaN where none is left).
    """
    n = np.asarray(num_samples, dtype=np.int64).reshape(-1)
    c = np.asarray(num_correct, dtype=np.int64).reshape(-1)
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    if estimator == "beta_binomial" and (ks > n.min()).any() and c.sum() > 0:
        from .model import bootstrap_pass_at_k, fit_success_model, select_model

        if fitted is None:
            kind = select_model(n, c)[0] if model == "auto" else model
            fitted = fit_success_model(n, c, kind)  # type: ignore[arg-type]
        redrawn = None
        if hierarchical:  # c from Binomial(n, p), p from the problem's posterior under the model
            rng = _child_rng(seed, 1)
            p = fitted.sample_posterior(n, c, weights.shape[0], rng)
            redrawn = rng.binomial(n[None, :], p).astype(np.int64)
        return bootstrap_pass_at_k(fitted, n, c, ks, weights, redrawn)
    redrawn = _redraw_correct(n, c, weights.shape[0], seed) if hierarchical else None
    if redrawn is None:
        per = pass_at_k(n, c, ks)
        valid = ~np.isnan(per)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: npt.NDArray[np.float64] = (weights @ np.where(valid, per, 0.0)) / (weights @ valid)
        return out
    return _hierarchical_unbiased(n, ks, weights, redrawn)


def _hierarchical_unbiased(
    n: npt.NDArray[np.int64], ks: npt.NDArray[np.int64], weights: npt.NDArray[np.float64],
    redrawn: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Bootstrap means with each resample's c redrawn given n (cost: one estimator call per resample)."""
    boot = np.empty((weights.shape[0], ks.size))
    for b in range(weights.shape[0]):
        per = pass_at_k(n, redrawn[b], ks)
        valid = ~np.isnan(per)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot[b] = (weights[b] @ np.where(valid, per, 0.0)) / (weights[b] @ valid)
    return boot


def _model_pass_at_k(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64], ks: npt.NDArray[np.int64], *,
    ci: float | None, n_boot: int, seed: int | np.random.SeedSequence, model: str,
    hierarchical: bool, boot_on: bool,
) -> BenchmarkPassAtK:
    from .model import fill_pass_at_k, fit_success_model, select_model

    P = n.size
    low = np.full(ks.shape, np.nan)
    high = np.full(ks.shape, np.nan)
    everyone = np.full(ks.shape, P, dtype=np.int64)
    none = np.zeros(ks.shape, dtype=np.int64)
    if c.sum() == 0:
        # Nothing to fit: exact zeros where k <= n everywhere, an upper bound elsewhere.
        short = ks > n.min()
        mean = np.where(short, np.nan, 0.0)
        if ci:
            low[:] = 0.0
            high[:] = np.where(short, _zero_success_upper_bound(n, ks, ci), 0.0)
        return BenchmarkPassAtK(k=ks, pass_at_k=mean, ci_low=low, ci_high=high,
                                num_problems=everyone, num_problems_excluded=none,
                                source=tuple("not_resolved" if s else "unbiased" for s in short))
    kind = select_model(n, c)[0] if model == "auto" else model
    fitted = fit_success_model(n, c, kind)  # type: ignore[arg-type]
    mean = fill_pass_at_k(fitted, n, c, ks).mean(axis=0)
    if boot_on:
        assert ci is not None
        weights = bootstrap_weights(P, n_boot, seed)
        boot = resampled_pass_at_k(n, c, ks, weights, seed=seed, estimator="beta_binomial",
                                   hierarchical=hierarchical, fitted=fitted)
        low, high = _quantiles(boot, ci)
    short = ks > n.min()
    return BenchmarkPassAtK(k=ks, pass_at_k=mean, ci_low=low, ci_high=high,
                            num_problems=everyone, num_problems_excluded=none,
                            source=tuple(kind if s else "unbiased" for s in short))


def _zero_success_upper_bound(n: npt.NDArray[np.int64], ks: npt.NDArray[np.int64],
                              ci: float) -> npt.NDArray[np.float64]:
    """Mean over problems of 1 - (1 - p_up)^k, p_up the Clopper-Pearson upper limit at c = 0."""
    from statsmodels.stats.proportion import proportion_confint

    _, p_up = proportion_confint(np.zeros_like(n), n, alpha=1.0 - ci, method="beta")
    p_up = np.asarray(p_up, dtype=np.float64)
    out: npt.NDArray[np.float64] = (-np.expm1(ks[None, :] * np.log1p(-p_up[:, None]))).mean(axis=0)
    return out


def count_matrices(counts: pd.DataFrame) -> tuple[list[tuple[str, str]], list[str],
                                                  npt.NDArray[np.int64], npt.NDArray[np.int64],
                                                  npt.NDArray[np.bool_]]:
    """The counts of one task as ``(checkpoints, problems)`` matrices.

    Returns ``(keys, problem_ids, num_samples, num_correct, observed)``: ``keys`` the sorted
    ``(model, revision)`` pairs (rows), ``problem_ids`` the sorted problem ids (columns),
    ``observed`` False where a checkpoint has no row for a problem.
    """
    keys = sorted({(str(m), str(r)) for m, r in zip(counts["model"], counts["revision"])})
    ids = sorted(set(counts["problem_id"].astype(str)))
    row_of = {key: j for j, key in enumerate(keys)}
    col_of = {pid: i for i, pid in enumerate(ids)}
    n = np.zeros((len(keys), len(ids)), dtype=np.int64)
    c = np.zeros_like(n)
    observed = np.zeros(n.shape, dtype=bool)
    rows = np.array([row_of[(str(m), str(r))] for m, r in zip(counts["model"], counts["revision"])],
                    dtype=np.int64)
    cols = np.array([col_of[str(p)] for p in counts["problem_id"]], dtype=np.int64)
    n[rows, cols] = counts["num_samples"].to_numpy(np.int64)
    c[rows, cols] = counts["num_correct"].to_numpy(np.int64)
    observed[rows, cols] = True
    return keys, ids, n, c, observed


def _pooled_task(
    counts: pd.DataFrame, task: str, ks: npt.NDArray[np.int64], *, ci: float | None,
    n_boot: int, seed: int, hierarchical: bool, n_jobs: int | None,
) -> dict[tuple[str, str, str], BenchmarkPassAtK]:
    """``estimator="pooled"`` for the checkpoints of one task: one fit, one bootstrap."""
    from .pooled import (
        bootstrap_label,
        fit_pooled_model,
        pooled_benchmark_pass_at_k,
        resampled_pooled_pass_at_k,
    )

    keys, ids, n, c, observed = count_matrices(counts)
    J, P = n.shape
    short = ks[None, :] > np.where(observed, n, np.iinfo(np.int64).max).min(axis=1)[:, None]
    solved = (c * observed).sum(axis=1) > 0
    out: dict[tuple[str, str, str], BenchmarkPassAtK] = {}
    if not short.any():
        return out  # every value is the unbiased estimator: passk_table's own path
    fitted = fit_pooled_model(n, c, observed=observed)
    if not fitted.converged:
        log.warning("task %r: the pooled model stopped after %d iterations without converging",
                    task, fitted.iterations)
    mean = pooled_benchmark_pass_at_k(fitted, n, c, observed, ks)
    low = np.full(mean.shape, np.nan)
    high = np.full(mean.shape, np.nan)
    if ci:
        task_seed = _problem_set_seed(seed, task, ids)
        weights = bootstrap_weights(P, n_boot, task_seed)
        boot = resampled_pooled_pass_at_k(fitted, n, c, observed, ks, weights,
                                          progress=bootstrap_label(task),
                                          hierarchical=hierarchical,
                                          seed=child_seed(task_seed, 1), n_jobs=n_jobs)  # (B, J, K)
        for j in range(J):
            low[j], high[j] = _quantiles(boot[:, j, :], ci)
    for j, (model_name, revision) in enumerate(keys):
        count = np.full(ks.shape, int(observed[j].sum()), dtype=np.int64)
        if solved[j]:
            value, lo, hi = mean[j], low[j], high[j]
            source = tuple("pooled" if s else "unbiased" for s in short[j])
        else:  # no success anywhere: exact zeros where k <= n, an upper bound beyond
            value = np.where(short[j], np.nan, 0.0)
            lo = np.where(np.isnan(low[j]), np.nan, 0.0)
            bound = _zero_success_upper_bound(n[j][observed[j]], ks, ci) if ci else np.nan
            hi = np.where(short[j], bound, 0.0) if ci else np.full(ks.shape, np.nan)
            source = tuple("not_resolved" if s else "unbiased" for s in short[j])
        out[(model_name, revision, task)] = BenchmarkPassAtK(
            k=ks, pass_at_k=value, ci_low=lo, ci_high=hi, num_problems=count,
            num_problems_excluded=np.zeros(ks.shape, dtype=np.int64), source=source)
    return out


PASSK_TABLE_COLUMNS = (
    "model", "revision", "task", "checkpoint", "k", "pass_at_k", "neg_log_pass_at_k",
    "ci_low", "ci_high", "neg_log_ci_low", "neg_log_ci_high", "censored",
    "num_problems", "num_problems_excluded", "source",
)


def _problem_set_seed(seed: int, task: str, problem_ids: Sequence[str]) -> np.random.SeedSequence:
    """Seed of a checkpoint's resamples: the base seed, its task and its (sorted) problem set."""
    digest = zlib.crc32("\0".join([task, *problem_ids]).encode())
    return np.random.SeedSequence([seed, digest, len(problem_ids)])


def _checkpoints(counts: pd.DataFrame) -> Iterator[tuple[tuple[str, str, str], pd.DataFrame]]:
    """(model, revision, task) groups, problems in ``problem_id`` order (row order irrelevant)."""
    ordered = counts.sort_values(["model", "revision", "task", "problem_id"], kind="stable")
    yield from ordered.groupby(["model", "revision", "task"], sort=True)  # type: ignore[misc]


def passk_table(
    counts: pd.DataFrame,
    k: Sequence[int] | npt.ArrayLike,
    *,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    policy: ShortProblemPolicy = "drop_problems",
    estimator: Estimator = "unbiased",
    model: str = "auto",
    hierarchical: bool = False,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """pass@k per (model, revision, task) and k from a validated counts table.

    Columns: :data:`PASSK_TABLE_COLUMNS`.  Each checkpoint's resamples are seeded from
    ``seed``, its task and its problem set (see the module docstring): the result for a
    checkpoint equals :func:`benchmark_pass_at_k` on its problems in ``problem_id`` order
    with that seed, whatever the row order of ``counts``.  The default path (unbiased,
    problem bootstrap) bootstraps all checkpoints that share a problem set with one matrix
    product per batch.  ``n_jobs``: worker processes of the pooled bootstrap (``None``: up
    to 2; the result does not depend on it).
    """
    _check_args(policy, ci, estimator, model)
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    boot_on = bool(ci) and n_boot > 0
    pooled: dict[tuple[str, str, str], BenchmarkPassAtK] = {}
    if estimator == "pooled":
        for task, tgrp in counts.groupby("task", sort=True):
            pooled.update(_pooled_task(tgrp, str(task), ks, ci=ci if boot_on else None,
                                       n_boot=n_boot, seed=seed, hierarchical=hierarchical,
                                       n_jobs=n_jobs))
    rows: list[dict[str, object]] = []
    # Vectorised bootstrap: (problem-set seed key) -> pending columns of one batch.
    pending: dict[tuple[str, tuple[str, ...]], list[tuple[int, npt.NDArray[np.float64],
                                                         npt.NDArray[np.float64]]]] = {}
    for (model_name, revision, task), grp in _checkpoints(counts):
        name = checkpoint_name(model_name, revision)
        n = grp["num_samples"].to_numpy(np.int64)
        c = grp["num_correct"].to_numpy(np.int64)
        ids = tuple(grp["problem_id"].astype(str))
        group_seed = _problem_set_seed(seed, task, ids)
        fast = estimator == "unbiased" or n.size == 0 or not (ks > n.min()).any()
        if (model_name, revision, task) in pooled:
            res = pooled[(model_name, revision, task)]
        elif fast and not hierarchical:
            filled, valid, mean, used, excluded = _unbiased_point(n, c, ks, policy)
            res = BenchmarkPassAtK(k=ks, pass_at_k=mean, ci_low=np.full(ks.shape, np.nan),
                                   ci_high=np.full(ks.shape, np.nan), num_problems=used,
                                   num_problems_excluded=excluded, source=("unbiased",) * ks.size)
            if boot_on and n.size:
                pending.setdefault((task, ids), []).append((len(rows), filled, valid))
        else:
            res = benchmark_pass_at_k(n, c, ks, ci=ci, n_boot=n_boot, seed=group_seed,
                                      policy=policy, estimator=estimator, model=model,
                                      hierarchical=hierarchical)
        rows.append({"model": model_name, "revision": revision, "task": task,
                     "checkpoint": name, "res": res})
        key = (task, ids)
        if key in pending and _batch_full(pending[key], n_boot):
            _flush(pending.pop(key), rows, _problem_set_seed(seed, task, ids), n_boot, ci)
    for (task, ids), batch in pending.items():
        _flush(batch, rows, _problem_set_seed(seed, task, ids), n_boot, ci)
    if not rows:
        return pd.DataFrame(columns=list(PASSK_TABLE_COLUMNS))
    # checkpoints in natural order (pythia-70m before pythia-160m), then task, then k
    ordered = sorted(rows, key=lambda r: (natural_key(str(r["checkpoint"])), str(r["task"])))
    table = pd.concat([_frame(r) for r in ordered], ignore_index=True)
    short = table[table["num_problems_excluded"] > 0]
    if len(short):
        empty = short[short["num_problems"] == 0]
        log.warning(
            "%d of %d (checkpoint, k) rows leave out problems with num_samples < k "
            "(policy %r; see num_problems_excluded)%s",
            len(short), len(table), policy,
            f"; {len(empty)} rows have no usable problem at all (pass_at_k NaN)" if len(empty) else "",
        )
    return table


def _batch_full(batch: list[tuple[int, npt.NDArray[np.float64], npt.NDArray[np.float64]]],
                n_boot: int) -> bool:
    P, K = batch[0][1].shape
    return len(batch) * K * max(P, n_boot) >= _BATCH_ELEMENTS


def _flush(
    batch: list[tuple[int, npt.NDArray[np.float64], npt.NDArray[np.float64]]],
    rows: list[dict[str, object]], seed: np.random.SeedSequence, n_boot: int, ci: float | None,
) -> None:
    """Bootstrap the checkpoints of one batch (same problem set) with one matrix product."""
    assert ci
    P, K = batch[0][1].shape
    weights = bootstrap_weights(P, n_boot, seed)
    filled = np.concatenate([f for _, f, _ in batch], axis=1)
    valid = np.concatenate([v for _, _, v in batch], axis=1)
    total = weights @ filled
    if (valid == 1.0).all():
        boot = total / P
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = total / (weights @ valid)
    for j, (row, _, _) in enumerate(batch):
        res = rows[row]["res"]
        assert isinstance(res, BenchmarkPassAtK)
        cols = boot[:, j * K:(j + 1) * K]
        ok = res.num_problems > 0
        low = np.full(K, np.nan)
        high = np.full(K, np.nan)
        if ok.any():
            low[ok], high[ok] = _quantiles(cols[:, ok], ci)
        rows[row]["res"] = BenchmarkPassAtK(
            k=res.k, pass_at_k=res.pass_at_k, ci_low=low, ci_high=high,
            num_problems=res.num_problems, num_problems_excluded=res.num_problems_excluded,
            source=res.source)


def _frame(row: dict[str, object]) -> pd.DataFrame:
    res = row["res"]
    assert isinstance(res, BenchmarkPassAtK)
    return pd.DataFrame({
        "model": row["model"],
        "revision": row["revision"],
        "task": row["task"],
        "checkpoint": row["checkpoint"],
        "k": res.k,
        "pass_at_k": res.pass_at_k,
        "neg_log_pass_at_k": res.neg_log_pass_at_k,
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        # -log is decreasing: the upper pass@k bound gives the lower -log bound.
        "neg_log_ci_low": neg_log(res.ci_high),
        "neg_log_ci_high": neg_log(res.ci_low),
        "censored": res.censored,
        "num_problems": res.num_problems,
        "num_problems_excluded": res.num_problems_excluded,
        "source": list(res.source),
    })

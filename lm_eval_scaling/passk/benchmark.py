"""Benchmark-level pass@k: the mean over problems, with a bootstrap CI over problems.

Pure numerics (:func:`benchmark_pass_at_k`) plus the table-level driver
(:func:`passk_table`) that applies it to every checkpoint of a counts table.

Problems with ``num_samples < k`` have no defined pass@k.  ``policy`` decides:

* ``"drop_problems"`` (default): leave them out of that k's mean; the row reports
  ``num_problems`` used and ``num_problems_excluded``.
* ``"drop_k"``: report NaN for that (checkpoint, k) as soon as any problem is short.
* ``"error"``: raise.

They are never counted as 1.0.  ``neg_log_pass_at_k`` is NaN and ``censored`` is True
where pass@k = 0 (below the resolution of the samples drawn): never ``inf``.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import InputError
from ..tables.checkpoints import checkpoint_name
from .estimator import pass_at_k

__all__ = [
    "SHORT_PROBLEM_POLICIES",
    "BenchmarkPassAtK",
    "ShortProblemPolicy",
    "benchmark_pass_at_k",
    "neg_log",
    "passk_table",
]

log = logging.getLogger(__name__)

ShortProblemPolicy = Literal["drop_problems", "drop_k", "error"]
SHORT_PROBLEM_POLICIES: Final = ("drop_problems", "drop_k", "error")


@dataclass(frozen=True)
class BenchmarkPassAtK:
    """Benchmark pass@k at several k (arrays aligned with ``k``)."""

    k: npt.NDArray[np.int64]
    pass_at_k: npt.NDArray[np.float64]
    ci_low: npt.NDArray[np.float64]
    ci_high: npt.NDArray[np.float64]
    num_problems: npt.NDArray[np.int64]
    num_problems_excluded: npt.NDArray[np.int64]

    @property
    def neg_log_pass_at_k(self) -> npt.NDArray[np.float64]:
        return neg_log(self.pass_at_k)

    @property
    def censored(self) -> npt.NDArray[np.bool_]:
        return self.pass_at_k == 0.0


def neg_log(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``-log p`` with ``p = 0`` (censored) mapped to NaN, never ``inf``."""
    arr = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.log(arr)
    return np.where(arr > 0, out, np.nan)


def benchmark_pass_at_k(
    num_samples: npt.ArrayLike,
    num_correct: npt.ArrayLike,
    k: Sequence[int] | npt.ArrayLike,
    *,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.SeedSequence = 0,
    policy: ShortProblemPolicy = "drop_problems",
) -> BenchmarkPassAtK:
    """Mean pass@k over problems for each k, with a percentile bootstrap CI over problems.

    ``ci=None`` (or 0) skips the bootstrap; ``ci_low``/``ci_high`` are then NaN.
    """
    if policy not in SHORT_PROBLEM_POLICIES:
        raise InputError(f"policy must be one of {SHORT_PROBLEM_POLICIES}, got {policy!r}")
    if ci is not None and ci != 0 and not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1), got {ci!r}")
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    n = np.asarray(num_samples, dtype=np.int64).reshape(-1)
    per = pass_at_k(n, num_correct, ks)  # (P, K), NaN where k > n
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

    low = np.full(ks.shape, np.nan)
    high = np.full(ks.shape, np.nan)
    if ci and n.size > 0 and n_boot > 0:
        rng = np.random.default_rng(seed)
        weights = rng.multinomial(n.size, np.full(n.size, 1.0 / n.size), size=n_boot).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (weights @ filled) / (weights @ valid.astype(np.float64))
        alpha = (1.0 - ci) / 2.0
        ok = used > 0
        if ok.any():
            low[ok] = np.nanquantile(boot[:, ok], alpha, axis=0)
            high[ok] = np.nanquantile(boot[:, ok], 1.0 - alpha, axis=0)
    return BenchmarkPassAtK(
        k=ks,
        pass_at_k=mean,
        ci_low=low,
        ci_high=high,
        num_problems=used.astype(np.int64),
        num_problems_excluded=excluded.astype(np.int64),
    )


PASSK_TABLE_COLUMNS = (
    "model", "revision", "task", "checkpoint", "k", "pass_at_k", "neg_log_pass_at_k",
    "ci_low", "ci_high", "neg_log_ci_low", "neg_log_ci_high", "censored",
    "num_problems", "num_problems_excluded",
)


def passk_table(
    counts: pd.DataFrame,
    k: Sequence[int] | npt.ArrayLike,
    *,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    policy: ShortProblemPolicy = "drop_problems",
) -> pd.DataFrame:
    """pass@k per (model, revision, task) and k from a validated counts table.

    Columns: ``model, revision, task, checkpoint, k, pass_at_k, neg_log_pass_at_k,
    ci_low, ci_high, neg_log_ci_low, neg_log_ci_high, censored, num_problems,
    num_problems_excluded``.  The bootstrap of each checkpoint is seeded from ``seed``
    and the checkpoint's name, and problems are taken in ``problem_id`` order, so results
    do not depend on row order.
    """
    rows = []
    ks = np.atleast_1d(np.asarray(k, dtype=np.int64))
    for (model, revision, task), grp in counts.groupby(["model", "revision", "task"], sort=True):
        name = checkpoint_name(model, revision)
        grp = grp.sort_values("problem_id", kind="stable")  # bootstrap independent of row order
        group_seed = np.random.SeedSequence([seed, zlib.crc32(f"{name}\0{task}".encode())])
        res = benchmark_pass_at_k(
            grp["num_samples"].to_numpy(), grp["num_correct"].to_numpy(), ks,
            ci=ci, n_boot=n_boot, seed=group_seed, policy=policy,
        )
        rows.append(pd.DataFrame({
            "model": model,
            "revision": revision,
            "task": task,
            "checkpoint": name,
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
        }))
    if not rows:
        return pd.DataFrame(columns=list(PASSK_TABLE_COLUMNS))
    table = pd.concat(rows, ignore_index=True)
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

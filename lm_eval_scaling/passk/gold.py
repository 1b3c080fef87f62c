"""Gold-reference likelihood covariates (docs/formulas.md §3), pure numerics.

``GoldProb = (1/P) sum_i p(gold_i | problem_i)`` is averaged in probability space,
so ``-log GoldProb = -(logsumexp_i log p_i - log P)``: never ``exp()`` of a sum of
hundreds of nats.  The per-token and per-byte mean NLLs are reported beside it: they
are the more robust covariates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import logsumexp

from ..tables.checkpoints import checkpoint_name

__all__ = ["GOLD_COVARIATES", "GOLD_SUMMARY_COLUMNS", "gold_statistic", "gold_summary",
           "neg_log_mean_prob"]

#: The gold law's covariate choices: ``-log GoldProb`` (the paper's), or the mean NLL of
#: the gold references per token / per byte (need ``gold_tokens`` / ``gold_bytes``).
GOLD_COVARIATES = ("neg_log_gold_prob", "nll_per_token", "nll_per_byte")

GOLD_SUMMARY_COLUMNS = (
    "model", "revision", "task", "checkpoint", "num_problems", "neg_log_gold_prob",
    "mean_nll", "nll_per_token", "nll_per_byte",
)


def neg_log_mean_prob(logprobs: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """``-log((1/P) * sum_i exp(logprobs_i))`` computed with logsumexp.

    With ``weights`` (e.g. how often a bootstrap resample drew each problem) the mean is
    weighted: ``-log(sum_i w_i p_i / sum_i w_i)``.
    """
    lp = np.asarray(logprobs, dtype=np.float64).reshape(-1)
    if lp.size == 0:
        return float("nan")
    if weights is None:
        return float(-(logsumexp(lp) - np.log(lp.size)))
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    total = float(w.sum())
    if total <= 0:
        return float("nan")
    return float(-(logsumexp(lp, b=w) - np.log(total)))


def gold_statistic(name: str, logprobs: npt.ArrayLike, tokens: npt.ArrayLike | None = None,
                   nbytes: npt.ArrayLike | None = None,
                   weights: npt.ArrayLike | None = None) -> float:
    """One gold covariate (:data:`GOLD_COVARIATES`) of a set of gold references.

    ``nll_per_token`` / ``nll_per_byte`` are total NLL over total tokens / bytes (NaN
    without them); ``weights`` weight every problem (bootstrap resamples).
    """
    lp = np.asarray(logprobs, dtype=np.float64).reshape(-1)
    if name == "neg_log_gold_prob":
        return neg_log_mean_prob(lp, weights)
    if name not in GOLD_COVARIATES:
        raise ValueError(f"unknown gold covariate {name!r}; choose one of {GOLD_COVARIATES}")
    size = tokens if name == "nll_per_token" else nbytes
    if size is None:
        return float("nan")
    w = np.ones(lp.size) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    denom = float(w @ np.asarray(size, dtype=np.float64).reshape(-1))
    return float(-(w @ lp) / denom) if denom > 0 else float("nan")


def gold_summary(gold: pd.DataFrame) -> pd.DataFrame:
    """Per (model, revision, task): ``-log GoldProb`` and mean NLLs from a validated gold table.

    ``nll_per_token`` / ``nll_per_byte`` are total NLL over total tokens / bytes (NaN
    where the table has no ``gold_tokens`` / ``gold_bytes``).
    """
    rows = []
    for (model, revision, task), grp in gold.groupby(["model", "revision", "task"], sort=True):
        lp = grp["gold_logprob"].to_numpy(np.float64)
        nll = -lp.sum()
        tokens = grp["gold_tokens"].to_numpy(np.float64).sum() if "gold_tokens" in grp else np.nan
        nbytes = grp["gold_bytes"].to_numpy(np.float64).sum() if "gold_bytes" in grp else np.nan
        rows.append({
            "model": model,
            "revision": revision,
            "task": task,
            "checkpoint": checkpoint_name(model, revision),
            "num_problems": int(lp.size),
            "neg_log_gold_prob": neg_log_mean_prob(lp),
            "mean_nll": float(nll / lp.size),
            "nll_per_token": float(nll / tokens) if not np.isnan(tokens) else float("nan"),
            "nll_per_byte": float(nll / nbytes) if not np.isnan(nbytes) else float("nan"),
        })
    return pd.DataFrame(rows, columns=list(GOLD_SUMMARY_COLUMNS))

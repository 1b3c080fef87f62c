"""The points table: pass@k per (checkpoint, k) joined to its covariates.

:func:`passk_points` joins benchmark pass@k (:func:`lm_eval_scaling.passk.benchmark.passk_table`)
to the ladder (parameters, tokens, compute) and, where given, to ``-log GoldProb``
(:func:`lm_eval_scaling.passk.gold.gold_summary`).  :func:`usable_mask` says which rows
can enter a fit of a law: censored points (pass@k = 0, below the resolution of the
samples), points with undefined pass@k, pass@k = 1 (``y = 0``), points without gold (gold
law) and user-excluded checkpoints cannot.

Joining rule (counts to ladder, counts to gold): on ``(model, revision)``; where the
counts carry no revision and the other table's model names are unique, on ``model``
alone (the shared Pythia data names checkpoints ``Pythia_12B_300B`` in the counts and
gives the Hugging Face revision in the ladder).  A counts checkpoint missing from the
ladder is an error that lists it.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import InputError
from ..fit.laws import get_law
from ..passk.benchmark import ShortProblemPolicy, passk_table
from ..tables.checkpoints import checkpoint_name

__all__ = ["CI_COLUMNS", "COVARIATE_COLUMNS", "POINTS_COLUMNS", "passk_points", "usable_mask"]

log = logging.getLogger(__name__)

POINTS_COLUMNS: Final = (
    "model", "revision", "task", "checkpoint", "k", "pass_at_k", "neg_log_pass_at_k",
    "censored", "num_problems", "num_problems_excluded", "compute", "parameters", "tokens",
    "neg_log_gold_prob", "user_excluded",
)
#: Bootstrap CI columns of a pass@k table, kept by :func:`passk_points` where given.
CI_COLUMNS: Final = ("ci_low", "ci_high", "neg_log_ci_low", "neg_log_ci_high")
#: Law covariate -> column of the points table.
COVARIATE_COLUMNS: Final = {"C": "compute", "N": "parameters", "D": "tokens",
                            "gold": "neg_log_gold_prob", "k": "k"}


def passk_points(
    counts: pd.DataFrame,
    ladder: pd.DataFrame,
    *,
    ks: Sequence[int] | npt.ArrayLike,
    gold: pd.DataFrame | None = None,
    exclude: Sequence[str] = (),
    policy: ShortProblemPolicy = "drop_problems",
    passk: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (checkpoint, k) with pass@k, its covariates and exclusion flags.

    ``counts``, ``ladder`` and ``gold`` are validated tidy tables (``read_counts``,
    :func:`lm_eval_scaling.tables.ladder.load_ladder`, ``read_gold``).  ``exclude`` holds glob
    patterns matched against the checkpoint name (``MODEL`` or ``MODEL@REVISION``); matches
    are kept with ``user_excluded=True``.  ``passk``: the pass@k table of ``counts`` at
    ``ks`` under ``policy`` where it was computed already (``passk_table``, e.g. with
    bootstrap CIs); its CI columns are kept.  Columns: :data:`POINTS_COLUMNS` (then the CI
    columns, where ``passk`` has them).
    """
    ks_arr = np.atleast_1d(np.asarray(ks, dtype=np.int64))
    if ks_arr.size == 0 or (ks_arr < 1).any():
        raise InputError(f"ks must be integers >= 1, got {ks_arr.tolist()}")
    if passk is None:
        table = passk_table(counts, ks_arr, ci=None, policy=policy)
    else:
        if set(np.unique(passk["k"])) != set(ks_arr.tolist()):
            raise InputError(f"passk: the pass@k table holds k = {sorted(set(passk['k']))}, "
                             f"not the k values asked for ({sorted(set(ks_arr.tolist()))})")
        table = passk
    ci_cols = [c for c in CI_COLUMNS if c in table.columns]
    table = table.drop(columns=ci_cols)
    meta = _join_keys(table[["model", "revision"]].drop_duplicates(), ladder, "ladder")
    missing = meta[meta["_row"] < 0]
    if len(missing):
        names = _names(missing)
        raise InputError(f"{len(names)} checkpoint(s) of the counts are missing from the ladder: "
                         f"{', '.join(names[:10])}{' ...' if len(names) > 10 else ''}")
    lad = ladder.iloc[meta["_row"].to_numpy()].reset_index(drop=True)
    meta = meta.reset_index(drop=True)
    meta["compute"] = lad["compute"].to_numpy(np.float64)
    meta["parameters"] = lad["parameters"].to_numpy(np.float64)
    meta["tokens"] = lad["tokens"].to_numpy(np.float64)
    out = table.merge(meta.drop(columns="_row"), on=["model", "revision"], how="left")

    out["neg_log_gold_prob"] = np.nan
    if gold is not None:
        from ..passk.gold import gold_summary

        summary = gold_summary(gold)
        keys = out[["model", "revision", "task"]].drop_duplicates()
        g = _join_gold(keys, summary)
        out = out.drop(columns="neg_log_gold_prob").merge(g, on=["model", "revision", "task"],
                                                          how="left")
    patterns = tuple(exclude)
    out["user_excluded"] = [any(fnmatch.fnmatchcase(c, p) for p in patterns)
                            for c in out["checkpoint"]]
    for p in patterns:
        if not any(fnmatch.fnmatchcase(c, p) for c in out["checkpoint"].unique()):
            log.warning("--exclude pattern %r matches no checkpoint", p)
    out = out[list(POINTS_COLUMNS)]
    if passk is not None and ci_cols:
        out = out.merge(passk[["checkpoint", "task", "k", *ci_cols]],
                        on=["checkpoint", "task", "k"], how="left")
    return out.reset_index(drop=True)


def usable_mask(points: pd.DataFrame, law: str) -> npt.NDArray[np.bool_]:
    """Rows that can enter a fit of ``law``: 0 < pass@k < 1, covariates present, not excluded."""
    spec = get_law(law)
    p = points["pass_at_k"].to_numpy(np.float64)
    ok = (p > 0) & (p < 1) & ~points["user_excluded"].to_numpy(bool)
    for c in spec.covariates:
        v = points[COVARIATE_COLUMNS[c]].to_numpy(np.float64)
        ok &= np.isfinite(v) & (v > 0)
    return ok


# --------------------------------------------------------------------------- joining


def _names(df: pd.DataFrame) -> list[str]:
    return [checkpoint_name(m, r) for m, r in zip(df["model"], df["revision"])]


def _join_keys(keys: pd.DataFrame, other: pd.DataFrame, what: str) -> pd.DataFrame:
    """``keys`` (model, revision) with ``_row``: the matching row of ``other`` (-1 if none)."""
    other_models = other["model"].to_numpy()
    unique_models = len(set(other_models)) == len(other_models)
    exact = {(m, r): i for i, (m, r) in enumerate(zip(other["model"], other["revision"]))}
    by_model = {m: i for i, m in enumerate(other_models)} if unique_models else {}
    rows = []
    for m, r in zip(keys["model"], keys["revision"]):
        i = exact.get((m, r), -1)
        if i < 0 and r == "":
            i = by_model.get(m, -1)
        rows.append(i)
    out = keys.copy()
    out["_row"] = np.asarray(rows, dtype=np.int64)
    return out


def _join_gold(keys: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """-log GoldProb per (model, revision, task) of ``keys`` (NaN where the gold has none).

    For each checkpoint, the gold rows of the same task are used; failing that, the gold
    rows of its only gold task (the gold log-likelihood task is usually named differently
    from the sampling task, or carries no task at all).
    """
    out = keys.copy()
    vals = np.full(len(out), np.nan)
    by_ckpt: dict[int, list[int]] = {}
    matched = _join_keys(out[["model", "revision"]], summary[["model", "revision"]]
                         .drop_duplicates().reset_index(drop=True), "gold")
    ckpt_rows = summary[["model", "revision"]].drop_duplicates().reset_index(drop=True)
    for j, i in enumerate(matched["_row"]):
        by_ckpt.setdefault(int(i), []).append(j)
    ambiguous = []
    for i, js in by_ckpt.items():
        if i < 0:
            continue
        m, r = ckpt_rows.iloc[i]["model"], ckpt_rows.iloc[i]["revision"]
        cand = summary[(summary["model"] == m) & (summary["revision"] == r)]
        for j in js:
            same = cand[cand["task"] == out["task"].iloc[j]]
            if len(same) == 1:
                vals[j] = float(same["neg_log_gold_prob"].iloc[0])
            elif len(cand) == 1:
                vals[j] = float(cand["neg_log_gold_prob"].iloc[0])
            else:
                ambiguous.append(checkpoint_name(m, r))
    if ambiguous:
        log.warning("gold: several gold tasks and none named like the counts' task for %s; "
                    "no gold covariate for them", ", ".join(sorted(set(ambiguous))[:5]))
    out["neg_log_gold_prob"] = vals
    return out

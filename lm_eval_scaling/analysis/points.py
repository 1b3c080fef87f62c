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
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import InputError
from ..fit.laws import get_law
from ..passk.benchmark import Estimator, ShortProblemPolicy, passk_table
from ..passk.gold import GOLD_COVARIATES, gold_statistic
from ..tables.checkpoints import checkpoint_name

__all__ = ["CI_COLUMNS", "COVARIATE_COLUMNS", "GOLD_PROBLEMS", "POINTS_COLUMNS", "GoldProblems",
           "gold_problem_sets", "law_response", "passk_points", "usable_mask"]

log = logging.getLogger(__name__)

POINTS_COLUMNS: Final = (
    "model", "revision", "task", "checkpoint", "k", "pass_at_k", "neg_log_pass_at_k",
    "censored", "num_problems", "num_problems_excluded", "compute", "parameters", "tokens",
    "neg_log_gold_prob", "gold", "gold_num_problems", "user_excluded",
)
#: Bootstrap CI columns of a pass@k table, kept by :func:`passk_points` where given.
CI_COLUMNS: Final = ("ci_low", "ci_high", "neg_log_ci_low", "neg_log_ci_high")
#: Law covariate -> column of the points table.
COVARIATE_COLUMNS: Final = {"C": "compute", "N": "parameters", "D": "tokens",
                            "gold": "gold", "k": "k"}
#: Which problems the gold covariate averages over (see :func:`passk_points`).
GOLD_PROBLEMS: Final = ("same", "all")
GoldProblems = Literal["same", "all"]


def passk_points(
    counts: pd.DataFrame,
    ladder: pd.DataFrame,
    *,
    ks: Sequence[int] | npt.ArrayLike,
    gold: pd.DataFrame | None = None,
    exclude: Sequence[str] = (),
    policy: ShortProblemPolicy = "drop_problems",
    passk: pd.DataFrame | None = None,
    gold_problems: GoldProblems = "same",
    gold_covariate: str = "neg_log_gold_prob",
    estimator: Estimator = "unbiased",
) -> pd.DataFrame:
    """One row per (checkpoint, k) with pass@k, its covariates and exclusion flags.

    pass@k comes from :func:`lm_eval_scaling.passk.benchmark.passk_table` with ``policy``
    and ``estimator`` (``"beta_binomial"``: every problem at every k).

    The gold law's covariate (column ``gold``) is ``gold_covariate`` (one of
    :data:`~lm_eval_scaling.passk.gold.GOLD_COVARIATES`) over the problems chosen by
    ``gold_problems``: ``"same"`` (default) restricts the gold references to the problems
    the checkpoint was sampled on (those its pass@k averages over); ``"all"`` uses every
    problem of the gold table.  ``gold_num_problems`` says how many entered;
    ``neg_log_gold_prob`` is ``-log GoldProb`` over the same problems.

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
        table = passk_table(counts, ks_arr, ci=None, policy=policy, estimator=estimator)
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

    if gold is not None:
        keys = out[["model", "revision", "task"]].drop_duplicates()
        g = _join_gold(keys, gold, counts, gold_problems, gold_covariate)
        out = out.merge(g, on=["model", "revision", "task"], how="left")
    else:
        out["neg_log_gold_prob"] = np.nan
        out["gold"] = np.nan
        out["gold_num_problems"] = 0
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


#: Points within this fraction of the chance level are left out of chance-normalised laws.
CHANCE_MARGIN: Final = 0.05


def law_response(pass_at_k: npt.ArrayLike, law: str, chance: float = 0.0,
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """``(y, ok)``: the response a law models and where it is defined.

    ``y = -log pass@k`` (``ok``: 0 < pass@k < 1); for a chance-normalised law
    (:attr:`LawSpec.chance_normalised`, the direct laws) ``y = -log Q`` with
    ``Q = (pass@k - chance) / (1 - chance)``, and points within 5% of the chance level
    (``pass@k <= 1.05 chance``) are not ok, as in arXiv 2512.08894.  ``chance`` is the
    task's chance level: 0 for generative tasks such as GSM8K, where nothing changes.
    """
    spec = get_law(law)
    p = np.asarray(pass_at_k, dtype=np.float64)
    if not 0 <= chance < 1:
        raise InputError(f"the chance level must be in [0, 1), got {chance!r}")
    if spec.chance_normalised:
        q = (p - chance) / (1.0 - chance)
        ok = (p > chance * (1.0 + CHANCE_MARGIN)) & (q > 0) & (q < 1)
    else:
        q = p
        ok = (p > 0) & (p < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(ok, -np.log(np.where(ok, q, 1.0)), np.nan)
    return y, ok


def usable_mask(points: pd.DataFrame, law: str, chance: float = 0.0) -> npt.NDArray[np.bool_]:
    """Rows that can enter a fit of ``law``: its response defined (:func:`law_response`),
    covariates present, not excluded."""
    spec = get_law(law)
    _, ok = law_response(points["pass_at_k"].to_numpy(np.float64), law, chance)
    ok = ok & ~points["user_excluded"].to_numpy(bool)
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


def gold_problem_sets(keys: pd.DataFrame, gold: pd.DataFrame, counts: pd.DataFrame | None,
                      problems: GoldProblems = "same") -> dict[int, pd.DataFrame]:
    """For each row ``j`` of ``keys`` (model, revision, task): the gold rows that make its
    covariate (absent where the gold table has none for it).

    A checkpoint's gold rows are those of the same task; failing that, those of its only
    gold task (the gold log-likelihood task is usually named differently from the
    sampling task, or carries no task at all).  With ``problems="same"`` they are
    restricted to the problems the checkpoint was sampled on in ``counts`` (the problems
    its pass@k averages over); ``"all"`` keeps every gold problem.
    """
    if problems not in GOLD_PROBLEMS:
        raise InputError(f"gold problems must be one of {GOLD_PROBLEMS}, got {problems!r}")
    ckpt_rows = gold[["model", "revision"]].drop_duplicates().reset_index(drop=True)
    matched = _join_keys(keys[["model", "revision"]].reset_index(drop=True), ckpt_rows, "gold")
    by_ckpt = {(m, r): grp for (m, r), grp in gold.groupby(["model", "revision"], sort=False)}
    sampled: dict[tuple[str, str, str], npt.NDArray[Any]] = {}
    if problems == "same" and counts is not None:
        sampled = {key: grp["problem_id"].to_numpy()
                   for key, grp in counts.groupby(["model", "revision", "task"], sort=False)}
    out: dict[int, pd.DataFrame] = {}
    ambiguous = []
    for j, i in enumerate(matched["_row"]):
        if i < 0:
            continue
        m, r = ckpt_rows.iloc[int(i)]["model"], ckpt_rows.iloc[int(i)]["revision"]
        cand = by_ckpt[(m, r)]
        task = keys["task"].iloc[j]
        same = cand[cand["task"] == task]
        if len(same) == 0:
            if cand["task"].nunique() != 1:
                ambiguous.append(checkpoint_name(m, r))
                continue
            same = cand
        if problems == "same" and counts is not None:
            key = (keys["model"].iloc[j], keys["revision"].iloc[j], task)
            same = same[same["problem_id"].isin(sampled.get(key, ()))]
        if len(same):
            out[j] = same
    if ambiguous:
        log.warning("gold: several gold tasks and none named like the counts' task for %s; "
                    "no gold covariate for them", ", ".join(sorted(set(ambiguous))[:5]))
    return out


def _join_gold(keys: pd.DataFrame, gold: pd.DataFrame, counts: pd.DataFrame,
               problems: GoldProblems, covariate: str) -> pd.DataFrame:
    """``keys`` with ``neg_log_gold_prob``, the chosen ``gold`` covariate and
    ``gold_num_problems`` (NaN / 0 where the gold table has nothing for a checkpoint)."""
    if covariate not in GOLD_COVARIATES:
        raise InputError(f"gold covariate must be one of {GOLD_COVARIATES}, got {covariate!r}")
    need = {"nll_per_token": "gold_tokens", "nll_per_byte": "gold_bytes"}.get(covariate)
    if need is not None and (need not in gold.columns or gold[need].isna().all()):
        raise InputError(f"gold covariate {covariate!r} needs the gold table's {need!r} column")
    keys = keys.reset_index(drop=True)
    out = keys.copy()
    nlgp = np.full(len(out), np.nan)
    chosen = np.full(len(out), np.nan)
    used = np.zeros(len(out), dtype=np.int64)
    for j, rows in gold_problem_sets(keys, gold, counts, problems).items():
        lp = rows["gold_logprob"].to_numpy(np.float64)
        nlgp[j] = gold_statistic("neg_log_gold_prob", lp)
        chosen[j] = gold_statistic(covariate, lp, *_sizes(rows))
        used[j] = len(rows)
    out["neg_log_gold_prob"] = nlgp
    out["gold"] = chosen
    out["gold_num_problems"] = used
    return out


def _sizes(rows: pd.DataFrame) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    return tuple(rows[c].to_numpy(np.float64) if c in rows.columns and rows[c].notna().all()
                 else None for c in ("gold_tokens", "gold_bytes"))  # type: ignore[return-value]

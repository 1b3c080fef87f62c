"""Import the public "Large Language Monkeys" pass@k parquet files (counts + Pythia ladder).

The data of "How Do Large Language Monkeys Get Their Power (Laws)?" (Schaeffer et al.,
2025), drawn from the samples of "Large Language Monkeys" (Brown et al., 2024), is
published as one parquet file per benchmark (e.g. ``gsm8k_pass_at_k.parquet``) with
one row per (checkpoint, problem, k)::

    Model Nickname | prompt_idx | Num. Samples | Num. Samples Correct | k | pass@k | ...

so a problem's counts repeat across its k rows.  :func:`import_monkeys` keeps one row
per (checkpoint, problem), checking that the repeats agree, and maps the Pythia
nicknames ``Pythia_<size>_<tokens>`` (e.g. ``Pythia_1.4B_200B``) to the checkpoint
``EleutherAI/pythia-1.4b`` at revision ``step100000``.  The ladder gives the exact
parameter counts and tokens of the :mod:`~lm_eval_scaling.tables.ladder` Pythia preset
(``parameters``, ``non_embedding_parameters``, ``tokens``) plus the nominal values of
the nickname (``nominal_parameters``, ``nominal_tokens``) and the ``nickname``.

Nickname tokens are nominal: ``step * 2M`` (``2M`` = step 1, ``64M`` = step 32, ...,
``200B`` = step 100000), and ``300B`` is the final checkpoint step 143000 (exactly
299.9B tokens).  Other nicknames keep their name as the model, get no ladder row, and
are listed in :attr:`MonkeysImport.unmatched`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from ..errors import TableError
from ..tables.files import read_table_file
from ..tables.ladder import PYTHIA_SIZES, PYTHIA_STEPS, PYTHIA_TOKENS_PER_STEP
from ..tables.schema import read_counts, read_ladder

__all__ = ["MONKEYS_COLUMNS", "MonkeysImport", "import_monkeys", "pythia_checkpoint"]

#: Columns read from the parquet file.
MONKEYS_COLUMNS: Final = ("Model Nickname", "prompt_idx", "Num. Samples", "Num. Samples Correct")
_NICKNAME_RE: Final = re.compile(r"Pythia_(\d+(?:\.\d+)?)([MB])_(\d+(?:\.\d+)?)([MB])")
_UNIT: Final = {"M": 10**6, "B": 10**9}
#: The nominal token count of a nickname is ``step * 2M``.
_NOMINAL_TOKENS_PER_STEP: Final = 2_000_000


@dataclass(frozen=True)
class PythiaCheckpoint:
    """What a ``Pythia_<size>_<tokens>`` nickname stands for."""

    nickname: str
    model: str
    revision: str
    tokens: int
    parameters: int
    non_embedding_parameters: int
    nominal_parameters: int
    nominal_tokens: int


@dataclass(frozen=True)
class MonkeysImport:
    """Tables from one monkeys parquet file: validated ``counts`` and ``ladder``, and the
    nicknames that are not Pythia checkpoints (kept as model names, no ladder row)."""

    counts: pd.DataFrame
    ladder: pd.DataFrame
    unmatched: tuple[str, ...] = ()


def pythia_checkpoint(nickname: str) -> PythiaCheckpoint | None:
    """The checkpoint of a Pythia nickname (``Pythia_1.4B_200B``), None if not one."""
    match = _NICKNAME_RE.fullmatch(nickname.strip())
    if match is None:
        return None
    size = f"{match.group(1)}{match.group(2).lower()}"
    if size not in PYTHIA_SIZES:
        return None
    nominal_params = _nominal(match.group(1), match.group(2))
    nominal_tokens = _nominal(match.group(3), match.group(4))
    step = _step_of(nominal_tokens)
    if step is None:
        return None
    total, non_embedding = PYTHIA_SIZES[size]
    return PythiaCheckpoint(
        nickname=nickname, model=f"EleutherAI/pythia-{size}", revision=f"step{step}",
        tokens=step * PYTHIA_TOKENS_PER_STEP, parameters=total,
        non_embedding_parameters=non_embedding, nominal_parameters=nominal_params,
        nominal_tokens=nominal_tokens,
    )


def import_monkeys(path: str | os.PathLike[str], *, task: str | None = None) -> MonkeysImport:
    """Counts and ladder from a monkeys parquet file.

    ``task`` defaults to the file name before ``_pass_at_k`` (``gsm8k_pass_at_k.parquet``
    -> ``gsm8k``).  Raises :class:`~lm_eval_scaling.errors.TableError` naming the row,
    field and value of anything it cannot read; counts are never filled in.
    """
    source = Path(path)
    df = read_table_file(source)
    label = str(source)
    missing = [c for c in MONKEYS_COLUMNS if c not in df.columns]
    if missing:
        raise TableError(f"not a monkeys pass@k file: missing columns {missing}; found "
                         f"{list(df.columns)}", source=label, field=missing[0])
    if task is None:
        task = re.sub(r"_pass_at_k$", "", source.stem)
    nick = df["Model Nickname"]
    bad = np.flatnonzero(nick.isna().to_numpy() | (nick.astype(str).str.strip() == "").to_numpy())
    if bad.size:
        i = int(bad[0])
        raise TableError("empty model nickname", source=label, row=i + 1,
                         field="Model Nickname", value=nick.iloc[i])
    counts = pd.DataFrame({
        "nickname": nick.astype(str).to_numpy(),
        "problem_id": _whole(df, "prompt_idx", label, minimum=0),
        "num_samples": _whole(df, "Num. Samples", label, minimum=1),
        "num_correct": _whole(df, "Num. Samples Correct", label, minimum=0),
    })
    _check_repeats_agree(counts, label)
    counts = counts.drop_duplicates(ignore_index=True)

    checkpoints = {name: pythia_checkpoint(name) for name in counts["nickname"].unique()}
    unmatched = tuple(sorted(name for name, cp in checkpoints.items() if cp is None))
    model = {name: cp.model if cp else name for name, cp in checkpoints.items()}
    revision = {name: cp.revision if cp else "" for name, cp in checkpoints.items()}
    out = pd.DataFrame({
        "model": counts["nickname"].map(model),
        "revision": counts["nickname"].map(revision),
        "task": task,
        "problem_id": counts["problem_id"].astype(str),
        "num_samples": counts["num_samples"],
        "num_correct": counts["num_correct"],
    })
    out = read_counts(out, name=label)
    order = np.lexsort((out["problem_id"].map(int).to_numpy(), out["revision"].map(
        lambda r: int(r[4:]) if r.startswith("step") else -1).to_numpy(), out["model"].to_numpy()))
    out = out.iloc[order].reset_index(drop=True)
    ladder_rows = [vars(cp) for cp in checkpoints.values() if cp is not None]
    ladder = pd.DataFrame(ladder_rows, columns=[
        "model", "revision", "parameters", "tokens", "non_embedding_parameters",
        "nominal_parameters", "nominal_tokens", "nickname"])
    ladder = ladder.sort_values(["parameters", "tokens"], ignore_index=True)
    if len(ladder):
        ladder = read_ladder(ladder, name=f"{label} (ladder)")
        for col in ("parameters", "tokens", "non_embedding_parameters"):  # exact integers
            ladder[col] = ladder[col].astype(np.int64)
    return MonkeysImport(counts=out, ladder=ladder, unmatched=unmatched)


def _nominal(number: str, unit: str) -> int:
    return round(float(number) * _UNIT[unit])


def _step_of(nominal_tokens: int) -> int | None:
    """``step * 2M`` when that step is public; else the public step whose exact token
    count rounds to the nominal one (``300B`` -> 143000: 299.9B tokens)."""
    step, remainder = divmod(nominal_tokens, _NOMINAL_TOKENS_PER_STEP)
    if remainder == 0 and step in PYTHIA_STEPS:
        return step
    for candidate in PYTHIA_STEPS:
        exact = candidate * PYTHIA_TOKENS_PER_STEP
        unit = 10**9 if nominal_tokens >= 10**9 else 10**6
        if round(exact / unit) * unit == nominal_tokens:
            return candidate
    return None


def _whole(df: pd.DataFrame, col: str, label: str, *, minimum: int) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)) | (values < minimum))
    if bad.size:
        i = int(bad[0])
        rule = "a whole number" + (f" >= {minimum}" if minimum else " >= 0")
        raw = df[col].iloc[i]
        raise TableError(f"expected {rule}", source=label, row=i + 1, field=col,
                         value=raw.item() if hasattr(raw, "item") else raw)
    return values.astype(np.int64)


def _check_repeats_agree(counts: pd.DataFrame, label: str) -> None:
    """Every (nickname, problem) must carry one (num_samples, num_correct) on all its rows."""
    over = np.flatnonzero((counts["num_correct"] > counts["num_samples"]).to_numpy())
    if over.size:
        i = int(over[0])
        raise TableError(f"exceeds 'Num. Samples' ({int(counts['num_samples'].iloc[i])})",
                         source=label, row=i + 1, field="Num. Samples Correct",
                         value=int(counts["num_correct"].iloc[i]))
    key = ["nickname", "problem_id"]
    first = counts.groupby(key, sort=False)[["num_samples", "num_correct"]].transform("first")
    differ = np.flatnonzero(((first["num_samples"] != counts["num_samples"])
                             | (first["num_correct"] != counts["num_correct"])).to_numpy())
    if differ.size:
        i = int(differ[0])
        row = counts.iloc[i]
        raise TableError(
            f"the counts of ({row['nickname']}, prompt_idx {row['problem_id']}) differ "
            f"between its rows (first: {int(first['num_samples'].iloc[i])} samples, "
            f"{int(first['num_correct'].iloc[i])} correct)",
            source=label, row=i + 1, field="Num. Samples Correct",
            value=int(row["num_correct"]),
        )

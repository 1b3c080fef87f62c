"""A ladder table from checkpoints' configs: no weights are loaded.

For each checkpoint ``MODEL`` or ``MODEL@REVISION`` (a Hub name or a local directory):

* ``parameters``: every parameter of ``AutoModelForCausalLM.from_config(config)``
  built on the meta device (shapes only), shared (tied) tensors counted once;
* ``non_embedding_parameters``: the same without the input embedding and, when it is
  not tied to it, the output projection (the convention of the ``pythia`` preset);
* ``tokens``: the training step x tokens per step.  The step is the number in a
  revision ``stepN`` (Pythia's names), else in the last path component of a local
  checkpoint (``.../step1000``); tokens per step are given or come from a preset
  (``pythia``: 1024 sequences x 2048 tokens = 2,097,152).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import pandas as pd

from ..errors import InputError
from ..tables.checkpoints import parse_checkpoint
from ..tables.ladder import PYTHIA_TOKENS_PER_STEP
from ..tables.schema import read_ladder

__all__ = ["TOKENS_PER_STEP_PRESETS", "count_parameters", "ladder_table", "training_step"]

#: preset name -> tokens per optimiser step
TOKENS_PER_STEP_PRESETS: Final = {"pythia": PYTHIA_TOKENS_PER_STEP}

_STEP: Final = re.compile(r"(?:^|[^A-Za-z0-9])step[-_]?(\d+)$|^step(\d+)$", re.IGNORECASE)


def count_parameters(config: Any) -> tuple[int, int]:
    """``(total, non-embedding)`` parameters of the causal LM a transformers config
    describes, built on the meta device (no memory, no weights)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    total = sum(p.numel() for p in model.parameters())  # shared tensors once
    embedding = model.get_input_embeddings().weight
    excluded = embedding.numel()
    output = model.get_output_embeddings()
    if output is not None and output.weight is not embedding:
        excluded += output.weight.numel()
    return int(total), int(total - excluded)


def training_step(model: str, revision: str) -> int | None:
    """The step in ``stepN`` of the revision, else of the last path component."""
    for text in (revision, model.rstrip("/").rsplit("/", 1)[-1]):
        match = _STEP.search(text or "")
        if match:
            return int(match.group(1) or match.group(2))
    return None


def ladder_table(checkpoints: Iterable[str], *, tokens_per_step: int | str,
                 trust_remote_code: bool = False) -> pd.DataFrame:
    """The ladder table (model, revision, parameters, tokens, non_embedding_parameters,
    compute) of the given checkpoints, validated like any ladder table."""
    from transformers import AutoConfig

    per_step = _tokens_per_step(tokens_per_step)
    rows = []
    for name in checkpoints:
        model, revision = parse_checkpoint(name)
        step = training_step(model, revision)
        if step is None:
            raise InputError(f"checkpoint {name!r}: no training step in its revision or path "
                             "(expected stepN, e.g. EleutherAI/pythia-70m@step1000)")
        try:
            config = AutoConfig.from_pretrained(model, revision=revision or None,
                                                trust_remote_code=trust_remote_code)
        except (OSError, ValueError) as exc:
            raise InputError(f"checkpoint {name!r}: cannot read its config ({exc})") from exc
        total, non_embedding = count_parameters(config)
        rows.append({"model": model, "revision": revision, "parameters": total,
                     "tokens": step * per_step, "non_embedding_parameters": non_embedding})
    if not rows:
        raise InputError("ladder init: give at least one checkpoint")
    return read_ladder(pd.DataFrame(rows), name="ladder init")  # refuses duplicates


def _tokens_per_step(value: int | str) -> int:
    if isinstance(value, str):
        key = value.strip().lower()
        if key in TOKENS_PER_STEP_PRESETS:
            return TOKENS_PER_STEP_PRESETS[key]
        try:
            value = int(float(key)) if float(key).is_integer() else -1
        except ValueError as exc:
            raise InputError(f"--tokens-per-step: expected an integer or one of "
                             f"{sorted(TOKENS_PER_STEP_PRESETS)} (got {value!r})") from exc
    if value < 1:
        raise InputError(f"--tokens-per-step: must be a positive integer (got {value!r})")
    return int(value)

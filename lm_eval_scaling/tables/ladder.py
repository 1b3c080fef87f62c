"""Ladder metadata (parameters N, tokens D, compute C = 6 N D per checkpoint).

:func:`load_ladder` takes a ladder table (path or DataFrame, validated by
:func:`lm_eval_scaling.tables.schema.read_ladder`) or the built-in preset ``"pythia"``.

The ``pythia`` preset lists the 9 Pythia sizes (``EleutherAI/pythia-14m`` ...
``EleutherAI/pythia-12b``, the standard, non-deduplicated models) at every public
checkpoint revision ``stepN`` (N = 1, 2, 4, ..., 512, 1000, 2000, ..., 143000; ``step0``
has seen no token and is left out), with ``tokens = N * 2,097,152`` (1024 sequences of
2048 tokens per step) and the exact parameter counts of the released models: total
(``parameters``) and non-embedding (``non_embedding_parameters``, which excludes the
input embedding and the untied output projection).  Counts must name checkpoints
``EleutherAI/pythia-<size>@step<N>`` to use it.

Which parameter count?  The pretraining-scaling-laws paper (2509.24012) uses the total
parameter count in ``C = 6 N D``, as does this package by default.  Kaplan et al. use
non-embedding parameters; ``parameters="non_embedding"`` switches ``N`` (and recomputes
``C``) for users who want to compare.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import pandas as pd

from ..errors import InputError, TableError
from .schema import TableSource, read_ladder

__all__ = ["PYTHIA_SIZES", "PYTHIA_STEPS", "PYTHIA_TOKENS_PER_STEP", "ParameterCount",
           "load_ladder", "pythia_ladder"]

ParameterCount = Literal["total", "non_embedding"]

#: size -> (total parameters, non-embedding parameters) of the released Pythia models.
PYTHIA_SIZES: Final[dict[str, tuple[int, int]]] = {
    "14m": (14_067_712, 1_189_888),
    "70m": (70_426_624, 18_915_328),
    "160m": (162_322_944, 85_056_000),
    "410m": (405_334_016, 302_311_424),
    "1b": (1_011_781_632, 805_736_448),
    "1.4b": (1_414_647_808, 1_208_602_624),
    "2.8b": (2_775_208_960, 2_517_652_480),
    "6.9b": (6_857_302_016, 6_444_163_072),
    "12b": (11_846_072_320, 11_327_027_200),
}
#: 1024 sequences x 2048 tokens per optimiser step.
PYTHIA_TOKENS_PER_STEP: Final = 2_097_152
#: Public checkpoint steps with at least one token seen.
PYTHIA_STEPS: Final[tuple[int, ...]] = tuple([2**i for i in range(10)]
                                             + list(range(1000, 143_001, 1000)))


def pythia_ladder() -> pd.DataFrame:
    """The ``pythia`` preset as a DataFrame (validated like any ladder table)."""
    rows = []
    for size, (total, non_emb) in PYTHIA_SIZES.items():
        for step in PYTHIA_STEPS:
            rows.append({"model": f"EleutherAI/pythia-{size}", "revision": f"step{step}",
                         "parameters": total, "tokens": step * PYTHIA_TOKENS_PER_STEP,
                         "non_embedding_parameters": non_emb})
    return read_ladder(pd.DataFrame(rows), name="pythia preset")


def load_ladder(spec: TableSource, *, parameters: ParameterCount = "total") -> pd.DataFrame:
    """A validated ladder table from a path, a DataFrame, or the preset name ``"pythia"``.

    ``parameters="non_embedding"`` uses the ``non_embedding_parameters`` column as ``N``
    and recomputes ``compute = 6 N D`` (a ``compute`` column given in the file is
    replaced); the total count is kept in ``total_parameters``.
    """
    if parameters not in ("total", "non_embedding"):
        raise InputError(f"parameters must be 'total' or 'non_embedding', got {parameters!r}")
    if isinstance(spec, str) and spec.strip().lower() == "pythia":
        ladder = pythia_ladder()
        label = "pythia preset"
    else:
        ladder = read_ladder(spec)
        label = str(spec) if not isinstance(spec, pd.DataFrame) else "<DataFrame>"
    if parameters == "non_embedding":
        if "non_embedding_parameters" not in ladder.columns:
            raise TableError("parameters='non_embedding' needs a non_embedding_parameters column; "
                             f"found columns {list(ladder.columns)}", source=label,
                             field="non_embedding_parameters")
        ladder = ladder.copy()
        ladder["total_parameters"] = ladder["parameters"]
        ladder["parameters"] = ladder["non_embedding_parameters"].to_numpy(np.float64)
        ladder["compute"] = (6.0 * ladder["parameters"].to_numpy(np.float64)
                             * ladder["tokens"].to_numpy(np.float64))
    return ladder

"""Ladder loading and the built-in Pythia preset.

Oracle for the preset's parameter counts: the GPT-NeoX architecture of each Pythia size
(layers, width, padded vocabulary), counted independently here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.errors import InputError, TableError
from lm_eval_scaling.tables.ladder import PYTHIA_SIZES, load_ladder

# size -> (layers, d_model, padded vocabulary) from the Pythia configs
ARCH = {"14m": (6, 128, 50304), "70m": (6, 512, 50304), "160m": (12, 768, 50304),
        "410m": (24, 1024, 50304), "1b": (16, 2048, 50304), "1.4b": (24, 2048, 50304),
        "2.8b": (32, 2560, 50304), "6.9b": (32, 4096, 50432), "12b": (36, 5120, 50688)}


def neox_params(layers: int, d: int, vocab: int) -> tuple[int, int]:
    """(total, non-embedding) parameters of a GPT-NeoX model with untied embeddings."""
    per_layer = (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d) + 4 * d
    non_embedding = layers * per_layer + 2 * d  # + final layer norm
    return non_embedding + 2 * vocab * d, non_embedding


@pytest.mark.parametrize("size", list(ARCH))
def test_pythia_preset_parameter_counts_match_architecture(size: str) -> None:
    assert PYTHIA_SIZES[size] == neox_params(*ARCH[size])


def test_pythia_preset_rows() -> None:
    lad = load_ladder("pythia")
    assert lad["model"].nunique() == 9
    row = lad[(lad["model"] == "EleutherAI/pythia-12b") & (lad["revision"] == "step143000")].iloc[0]
    assert row["tokens"] == 143000 * 2_097_152
    assert row["parameters"] == 11_846_072_320
    assert row["compute"] == pytest.approx(6 * 11_846_072_320 * 143000 * 2_097_152, rel=1e-15)
    assert (lad["tokens"] > 0).all() and "step0" not in set(lad["revision"])
    assert len(lad) == 9 * (10 + 143)


def test_non_embedding_switch_recomputes_compute() -> None:
    lad = load_ladder("pythia", parameters="non_embedding")
    row = lad[(lad["model"] == "EleutherAI/pythia-70m") & (lad["revision"] == "step1000")].iloc[0]
    assert row["parameters"] == 18_915_328 and row["total_parameters"] == 70_426_624
    assert row["compute"] == pytest.approx(6.0 * 18_915_328 * 1000 * 2_097_152)


def test_load_pythia_ladder_file(pythia_dir: Path) -> None:
    lad = load_ladder(pythia_dir / "ladder.csv")
    assert len(lad) == 81
    np.testing.assert_allclose(lad["compute"], 6.0 * lad["parameters"] * lad["tokens"])


def test_load_dataframe_and_errors(tmp_path: Path) -> None:
    df = pd.DataFrame({"model": ["a", "b"], "parameters": [1e6, 2e6], "tokens": [1e8, 1e8]})
    before = df.copy()
    out = load_ladder(df)
    pd.testing.assert_frame_equal(df, before)
    assert list(out["revision"]) == ["", ""]
    with pytest.raises(TableError, match="non_embedding_parameters"):
        load_ladder(df, parameters="non_embedding")
    with pytest.raises(InputError, match="total"):
        load_ladder(df, parameters="embedding")  # type: ignore[arg-type]

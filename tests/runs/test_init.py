"""Ladder tables from checkpoints' configs (lm_eval_scaling.runs.init)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_eval_scaling.cli import main
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.tables.ladder import PYTHIA_SIZES
from lm_eval_scaling.tables.schema import read_ladder

transformers = pytest.importorskip("transformers")
pytest.importorskip("torch")

from lm_eval_scaling.runs.init import count_parameters, ladder_table, training_step

# the published architectures of three Pythia models (their config.json files)
PYTHIA = {"14m": (128, 6, 4), "70m": (512, 6, 8), "1b": (2048, 16, 8)}


@pytest.mark.parametrize("size", sorted(PYTHIA))
def test_meta_device_counts_equal_the_published_pythia_counts(size: str) -> None:
    hidden, layers, heads = PYTHIA[size]
    config = transformers.GPTNeoXConfig(
        vocab_size=50304, hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=4 * hidden, rotary_pct=0.25,
        max_position_embeddings=2048, tie_word_embeddings=False)
    assert count_parameters(config) == PYTHIA_SIZES[size]


def test_tied_embeddings_count_once() -> None:
    config = transformers.GPTNeoXConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
                                        num_attention_heads=2, intermediate_size=64,
                                        tie_word_embeddings=True)
    untied = transformers.GPTNeoXConfig(**(config.to_dict() | {"tie_word_embeddings": False}))
    total, non_emb = count_parameters(config)
    assert count_parameters(untied) == (total + 100 * 16, non_emb)


@pytest.mark.parametrize(("model", "revision", "step"), [
    ("EleutherAI/pythia-70m", "step1000", 1000), ("/ckpts/run1/step_250", "", 250),
    ("/ckpts/run1/step250", "", 250), ("x", "main", None), ("/ckpts/mystep3x", "", None),
])
def test_training_step(model: str, revision: str, step: int | None) -> None:
    assert training_step(model, revision) == step


def test_ladder_init_from_local_checkpoints(tmp_path: Path) -> None:
    dirs = []
    for name, hidden in (("small/step100", 16), ("large/step300", 32)):
        cfg = transformers.GPTNeoXConfig(vocab_size=64, hidden_size=hidden, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=4 * hidden)
        (tmp_path / name).mkdir(parents=True)
        cfg.save_pretrained(tmp_path / name)  # a config only: no weights anywhere
        dirs.append(str(tmp_path / name))
    out = tmp_path / "ladder.csv"
    assert main(["ladder", "init", *dirs, "--tokens-per-step", "pythia", "-o", str(out)]) == 0
    ladder = read_ladder(out)
    assert list(ladder["tokens"]) == [100 * 2_097_152, 300 * 2_097_152]
    expected = [count_parameters(transformers.AutoConfig.from_pretrained(d)) for d in dirs]
    assert list(zip(ladder["parameters"], ladder["non_embedding_parameters"],
                    strict=True)) == expected
    table = ladder_table([dirs[0]], tokens_per_step=1000)
    assert table["tokens"].tolist() == [100_000]
    with pytest.raises(InputError, match="no training step"):
        ladder_table([str(tmp_path)], tokens_per_step=1)
    with pytest.raises(InputError, match="tokens-per-step"):
        ladder_table(dirs, tokens_per_step="chinchilla")

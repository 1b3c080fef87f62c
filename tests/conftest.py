"""Shared test fixtures.

* ``gsm8k_dir`` -- the local GSM8K copy in ``../shared/data/gsm8k`` (skips when absent).
* ``pythia_dir`` -- the shared Pythia GSM8K tables in ``../shared/data/pythia_gsm8k``
  (``counts.csv``, ``ladder.csv``, ``gold.csv``; skips when absent).
* ``monkeys_gsm8k`` -- the public Large Language Monkeys GSM8K parquet in
  ``../shared/data/monkeys`` (skips when absent).
* ``tiny_model_dir`` -- a tiny random GPT-NeoX with a byte-level BPE tokenizer trained on
  the spot with ``tokenizers``, saved with ``save_pretrained`` so that lm_eval's ``hf``
  backend loads it with ``pretrained=<dir>``.  Built once per session (a few seconds).

:func:`build_tiny_model` is importable by benchmark scripts
(``benchmarks/hf_throughput.py`` loads this file by path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
SHARED_DIR: Final = REPO_ROOT.parent / "shared"
GSM8K_DIR: Final = SHARED_DIR / "data" / "gsm8k"
PYTHIA_DIR: Final = SHARED_DIR / "data" / "pythia_gsm8k"
MONKEYS_GSM8K: Final = SHARED_DIR / "data" / "monkeys" / "gsm8k_pass_at_k.parquet"

#: special tokens of the tiny tokenizer
EOS_TOKEN: Final = "<|endoftext|>"


def _training_lines(limit: int = 2000) -> list[str]:
    """Text the tiny tokenizer is trained on: GSM8K train (if present) + arith problems."""
    import json

    from lm_eval_scaling.harness import arith
    from lm_eval_scaling.harness.prompt import training_text

    lines = [training_text(p["question"], p["answer"]) for p in arith.generate("train", 500, 0)]
    path = GSM8K_DIR / "train.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i >= limit:
                    break
                row = json.loads(line)
                lines.append(training_text(row["question"], row["answer"]))
    return lines


def build_tiny_model(
    out_dir: Path,
    *,
    vocab_size: int = 512,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 4,
    seed: int = 0,
) -> Path:
    """Write a tiny random GPT-NeoX + trained BPE tokenizer to ``out_dir``; return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_training_lines(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS_TOKEN, bos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN, pad_token=EOS_TOKEN,
    )
    fast.save_pretrained(out_dir)

    torch.manual_seed(seed)
    config = GPTNeoXConfig(
        vocab_size=len(fast),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=4 * hidden_size,
        max_position_embeddings=4096,
        rotary_pct=1.0,
        bos_token_id=fast.eos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.eos_token_id,
        tie_word_embeddings=False,
    )
    model = GPTNeoXForCausalLM(config)
    model.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def gsm8k_dir() -> Path:
    if not (GSM8K_DIR / "test.jsonl").is_file():
        pytest.skip(f"local GSM8K copy not found at {GSM8K_DIR}")
    return GSM8K_DIR


@pytest.fixture(scope="session")
def pythia_dir() -> Path:
    if not all((PYTHIA_DIR / f"{name}.csv").is_file() for name in ("counts", "ladder", "gold")):
        pytest.skip(f"shared Pythia data not found at {PYTHIA_DIR}")
    return PYTHIA_DIR


@pytest.fixture(scope="session")
def monkeys_gsm8k() -> Path:
    """The public Large Language Monkeys GSM8K pass@k parquet, as published."""
    if not MONKEYS_GSM8K.is_file():
        pytest.skip(f"Large Language Monkeys parquet not found at {MONKEYS_GSM8K}")
    return MONKEYS_GSM8K


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    return build_tiny_model(tmp_path_factory.mktemp("tiny_gpt_neox"))


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny local checkpoints of different sizes, ``.../small/step100`` and
    ``.../large/step100`` (a ladder of two)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    root = tmp_path_factory.mktemp("ckpts")
    return [build_tiny_model(root / name / "step100", hidden_size=hidden, seed=seed)
            for name, hidden, seed in (("small", 16, 1), ("large", 32, 2))]

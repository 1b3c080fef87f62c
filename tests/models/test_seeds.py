"""The per-sample seed scheme (lm_eval_scaling.models._seeds)."""

from __future__ import annotations

import hashlib

from lm_eval_scaling.models._seeds import base_seed, run_seed_key, sample_seeds


def _oracle(run: str, prompt: str, i: int) -> int:
    """The documented formula, written out independently."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    head = hashlib.sha256(f"lm-eval-scaling/v1|{run}|{digest}".encode()).digest()[:8]
    return (int.from_bytes(head, "big") >> 2) + i


def test_seeds_follow_the_documented_formula() -> None:
    run = run_seed_key(1234, 7)
    prompts = ["Question: 1+1?\nAnswer:", "Question: 2+2?\nAnswer:", ""]
    for prompt in prompts:
        assert sample_seeds(run, prompt, range(5)) == [_oracle(run, prompt, i) for i in range(5)]
        assert 0 <= base_seed(run, prompt) < 2**62


def test_chunks_with_different_seeds_draw_distinct_seeds() -> None:
    prompts = [f"Question: problem {p}\nAnswer:" for p in range(200)]
    n = 100
    chunks = [run_seed_key(torch_seed, None) for torch_seed in range(1, 6)]
    chunks.append(run_seed_key(1, 2))  # same --seed, another model seed
    seen: set[int] = set()
    for run in chunks:
        seeds = {s for prompt in prompts for s in sample_seeds(run, prompt, range(n))}
        assert len(seeds) == len(prompts) * n      # distinct within a chunk
        assert not seeds & seen                    # and across chunks
        seen |= seeds


def test_seeds_are_reproducible_and_depend_on_the_prompt() -> None:
    run = run_seed_key(0, None)
    assert sample_seeds(run, "a", [3, 4]) == sample_seeds(run, "a", [3, 4])
    assert sample_seeds(run, "a", [0]) != sample_seeds(run, "b", [0])

"""``vllm-repeats``: lm_eval's ``vllm`` model with one request per problem.

The N identical ``generate_until`` requests of a problem become one vLLM request with
``SamplingParams(n=N, seed=base)``; vLLM prefills the prompt once and derives the seed
of child ``i`` as ``base + i``, which is the per-sample seed of :mod:`._seeds`.  Samples
of a problem already stored by an earlier run (``--use_cache``) are not redrawn: the
missing indices are requested in contiguous runs ``SamplingParams(n=len, seed=base +
start)``.  Sampling settings are passed explicitly; ``top_k`` 0 (off, the task's value)
is sent as -1, which every vLLM version reads as off.

Requests are sent in blocks of about :data:`BLOCK_SAMPLES` samples (vLLM schedules
each block itself); the samples of a block are stored when it returns.
``--model_args`` are those of ``vllm`` (``seed`` is part of the run seed, with lm_eval's
torch seed from ``--seed``).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import torch
from lm_eval.api.registry import register_model
from lm_eval.models.utils import maybe_truncate, postprocess_generated_text
from lm_eval.models.vllm_causallms import VLLM
from tqdm import tqdm

from ._groups import RequestGroup, group_requests
from ._seeds import base_seed, run_seed_key
from ._store import SampleStore

__all__ = ["BLOCK_SAMPLES", "VLLMRepeatsLM", "contiguous_runs"]

log = logging.getLogger(__name__)

#: samples per block sent to vLLM (the unit of storing finished samples)
BLOCK_SAMPLES: Final = 8192


def contiguous_runs(indices: list[int]) -> list[tuple[int, int]]:
    """``[(start, length), ...]`` of the maximal runs of consecutive sorted indices."""
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


@register_model("vllm-repeats")
class VLLMRepeatsLM(VLLM):
    """lm_eval ``vllm`` + ``SamplingParams(n=N)`` per problem, per-sample seeds, resume."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        torch_seed = torch.initial_seed()  # lm_eval seeds torch (--seed) before this
        super().__init__(*args, **kwargs)
        self.run_seed = run_seed_key(torch_seed, int(self.model_args["seed"]))
        self.sample_counts: dict[str, int] = {}

    @property
    def model_identity(self) -> str:
        args = self.model_args
        return f"{args.get('model')}@{args.get('revision')}|{args.get('dtype')}"

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        from vllm import SamplingParams

        groups = group_requests([req.args for req in requests])
        store = SampleStore(getattr(self.cache_hook, "dbdict", None), self.model_identity,
                            self.run_seed)
        results: list[str | None] = [None] * len(requests)
        counts = {"stored": 0, "generated": 0}
        eos = self.tokenizer.decode(self.eot_token_id)
        if not eos and getattr(self.tokenizer, "eos_token", None):
            eos = self.tokenizer.eos_token
        pbar = tqdm(total=len(requests), disable=disable_tqdm or self.rank != 0,
                    desc="vllm-repeats: sampling")

        pending: list[tuple[RequestGroup, list[str | None], list[Any]]] = []
        block: list[tuple[int, list[int], Any]] = []  # (pending index, indices, params)
        block_size = 0

        def flush() -> None:
            nonlocal block, block_size
            if not block:
                return
            prompts = [pending[p][2] for p, _, _ in block]
            outputs = self._model_generate(requests=prompts, generate=True,
                                           sampling_params=[sp for _, _, sp in block])
            for (p, indices, _), output in zip(block, outputs, strict=True):
                group, texts, _ = pending[p]
                until = group_until[p]
                completions = sorted(output.outputs, key=lambda c: c.index)
                if len(completions) == 1 and len(indices) > 1:  # greedy: one for all
                    completions = completions * len(indices)
                new = []
                for i, completion in zip(indices, completions, strict=True):
                    text = postprocess_generated_text(completion.text, until,
                                                      self.think_end_token)
                    texts[i] = text
                    new.append((i, text))
                store.put(group.context, group.gen_kwargs, new)
                counts["generated"] += len(new)
                pbar.update(len(new))
            block, block_size = [], 0

        group_until: list[list[str]] = []
        for group in groups:
            stored = store.get(group.context, group.gen_kwargs, group.size)
            missing = [i for i, text in enumerate(stored) if text is None]
            counts["stored"] += group.size - len(missing)
            pbar.update(group.size - len(missing))
            kwargs, until, max_gen_toks = self.modify_gen_kwargs(
                group.gen_kwargs, eos=eos, default_max_gen_toks=self.max_gen_toks)
            kwargs = _explicit_sampling(kwargs)
            tokens, max_gen_toks = maybe_truncate(
                self.tok_encode(group.context), max_gen_toks=max_gen_toks,
                max_model_len=self.max_length, side=self.truncation_side, verbose=True)
            stop = [s for s in until if s == eos] if self.think_end_token else until
            pending.append((group, list(stored), tokens))
            group_until.append(until)
            p = len(pending) - 1
            if not missing:
                continue
            greedy = float(kwargs.get("temperature", 0.0) or 0.0) == 0.0
            if greedy:
                params = SamplingParams(n=1, max_tokens=max_gen_toks, stop=stop, **kwargs)
                block.append((p, missing, params))
                block_size += 1
            else:
                base = base_seed(self.run_seed, group.context)
                for start, length in contiguous_runs(missing):
                    params = SamplingParams(n=length, seed=base + start, max_tokens=max_gen_toks,
                                            stop=stop, **kwargs)
                    block.append((p, list(range(start, start + length)), params))
                    block_size += length
            if block_size >= BLOCK_SAMPLES:
                flush()
        flush()
        pbar.close()

        for (group, texts, _) in pending:
            for pos, text in zip(group.positions, texts, strict=True):
                results[pos] = text
        self.sample_counts = counts
        if store.enabled:
            log.info("vllm-repeats: %d samples from the cache, %d generated",
                     counts["stored"], counts["generated"])
        return [r if r is not None else "" for r in results]


def _explicit_sampling(kwargs: dict[str, Any]) -> dict[str, Any]:
    """vLLM kwargs with top_k off written as -1 (older vLLM refuses 0)."""
    out = dict(kwargs)
    if out.get("top_k") in (0, None) and "top_k" in out:
        out["top_k"] = -1
    return out

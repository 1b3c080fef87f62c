"""``hf-repeats``: lm_eval's ``hf`` model that prefills each problem once.

Identical ``generate_until`` requests (same context, same generation kwargs: the N
repeats of one problem) are served by one call:

1. the prompt is run through the model once (batch 1);
2. its keys/values are copied into a fixed-size (static) cache holding a sub-batch of
   continuations, so that decoding never reallocates or copies the cache;
3. the continuations are decoded as one batch, in sub-batches of at most
   ``--batch_size`` rows (``auto``: as many as half the free GPU memory holds; on CPU,
   all N), each row sampled with its own seed (:mod:`._seeds`).

Sampling uses transformers' own logits warpers for the settings the request asks for
(temperature, top-k, top-p; nothing else is applied: no defaults of the checkpoint's
generation config), and draws each token as ``argmax(p / E)`` with ``E ~ Exp(1)`` from
the row's own generator (the exponential race, equivalent to sampling from ``p``).
Stop sequences are detected with lm_eval's own criteria and removed as lm_eval does, so
the responses have exactly stock ``hf``'s format and ``collect`` reads them unchanged.

Requests that are not sampled identically (log-likelihoods, greedy requests with other
kwargs the engine does not know, seq2seq models, thinking models) go through the parent
class.  With ``--use_cache PATH`` every finished sample is stored (:mod:`._store`), and
a rerun of the same command resumes where the last one stopped.

``--model_args`` are those of ``hf`` plus ``seed`` (an extra run seed; the other one is
lm_eval's torch seed, set by ``--seed``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import torch
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from lm_eval.models.utils import (
    handle_stop_sequences,
    normalize_gen_kwargs,
    postprocess_generated_text,
)
from tqdm import tqdm

from ..errors import InputError
from ._groups import RequestGroup, group_requests
from ._seeds import run_seed_key, sample_seeds
from ._store import SampleStore

__all__ = ["HFRepeatsLM", "UnsupportedSampling", "build_warpers"]

log = logging.getLogger(__name__)

#: generation kwargs that change nothing at these values (anything else -> parent class)
_NEUTRAL: Final[Mapping[str, Any]] = {
    "repetition_penalty": 1.0, "typical_p": 1.0, "min_p": 0.0, "no_repeat_ngram_size": 0,
    "num_beams": 1, "num_return_sequences": 1,
}


class UnsupportedSampling(Exception):
    """Generation kwargs the prefill-once engine does not implement (parent class serves)."""


def build_warpers(kwargs: Mapping[str, Any]) -> list[Any]:
    """transformers logits warpers for ``temperature`` / ``top_k`` / ``top_p`` of a request
    (none of them at temperature 1, top_k 0/None, top_p 1/None).  Other kwargs must be at
    a neutral value, else :class:`UnsupportedSampling`."""
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    rest = dict(kwargs)
    temperature = float(rest.pop("temperature", 1.0) or 1.0)
    top_k = rest.pop("top_k", None)
    top_p = rest.pop("top_p", None)
    for key, value in rest.items():
        if value is not None and key in _NEUTRAL and value == _NEUTRAL[key]:
            continue
        if value is None:
            continue
        raise UnsupportedSampling(f"{key}={value!r}")
    warpers: list[Any] = []
    if temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(temperature))
    if top_k not in (None, 0, -1):
        warpers.append(TopKLogitsWarper(int(top_k)))
    if top_p is not None and float(top_p) < 1.0:
        warpers.append(TopPLogitsWarper(float(top_p)))
    return warpers


@register_model("hf-repeats")
class HFRepeatsLM(HFLM):
    """lm_eval ``hf`` + prefill once per problem, per-sample seeds, resumable samples."""

    def __init__(self, *args: Any, seed: int | str | None = None, **kwargs: Any) -> None:
        # lm_eval seeds torch (--seed) before it builds the model
        torch_seed = torch.initial_seed()
        super().__init__(*args, **kwargs)
        try:
            model_seed = None if seed is None else int(seed)
        except ValueError as exc:
            raise InputError(f"--model_args seed: expected an integer (got {seed!r})") from exc
        self.run_seed = run_seed_key(torch_seed, model_seed)
        params = inspect.signature(self.model.forward).parameters
        #: forward() argument taking the KV cache (``cache`` in transformers 5)
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        #: prefill computes the logits of the last position only, where supported
        self._prefill_kw = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self._warned_batch = False
        #: counts of the last generate_until call: {"stored": ..., "generated": ...}
        self.sample_counts: dict[str, int] = {}

    # -- identity of the samples --------------------------------------------------------

    @property
    def model_identity(self) -> str:
        name = getattr(self.model.config, "_name_or_path", "") or str(self.pretrained)
        return f"{name}@{self.revision}|{self.model.dtype}"

    # -- lm_eval API ----------------------------------------------------------------------

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        args = [req.args for req in requests]
        groups = group_requests(args)
        results: list[str | None] = [None] * len(requests)
        store = SampleStore(getattr(self.cache_hook, "dbdict", None), self.model_identity,
                            self.run_seed)
        parent: list[RequestGroup] = []
        counts = {"stored": 0, "generated": 0}
        pbar = tqdm(total=len(requests), disable=disable_tqdm or self.rank != 0,
                    desc="hf-repeats: sampling")
        for group in groups:
            if not self._can_serve(group):
                parent.append(group)
                continue
            try:
                texts = self._serve_group(group, store, counts, pbar)
            except UnsupportedSampling as exc:
                log.warning("hf-repeats: %s is not supported by the prefill-once engine; "
                            "these requests go through lm_eval's hf", exc)
                parent.append(group)
                continue
            for pos, text in zip(group.positions, texts, strict=True):
                results[pos] = text
        if parent:
            positions = [pos for group in parent for pos in group.positions]
            served = super().generate_until([requests[p] for p in positions],
                                            disable_tqdm=disable_tqdm)
            for pos, text in zip(positions, served, strict=True):
                results[pos] = text
            pbar.update(len(positions))
        pbar.close()
        self.sample_counts = counts
        if store.enabled:
            log.info("hf-repeats: %d samples from the cache, %d generated",
                     counts["stored"], counts["generated"])
        return [r if r is not None else "" for r in results]

    # -- the engine -----------------------------------------------------------------------

    def _can_serve(self, group: RequestGroup) -> bool:
        return self.backend == "causal" and self.think_end_token is None

    def _serve_group(self, group: RequestGroup, store: SampleStore, counts: dict[str, int],
                     pbar: Any) -> list[str]:
        kwargs = dict(normalize_gen_kwargs(group.gen_kwargs, self.max_gen_toks))
        eos = self.tok_decode(self.eot_token_id, skip_special_tokens=False)
        until = handle_stop_sequences(kwargs.pop("until", None), eos=eos)
        max_gen_toks = int(kwargs.pop("max_gen_toks"))
        kwargs.pop("max_length", None)
        do_sample = bool(kwargs.pop("do_sample", False))
        temperature = float(kwargs.get("temperature", 0.0) or 0.0)
        greedy = not do_sample or temperature == 0.0
        warpers = [] if greedy else build_warpers(kwargs)
        if greedy:
            # greedy decoding ignores the sampling kwargs, as transformers does
            build_warpers({k: v for k, v in kwargs.items()
                           if k not in ("temperature", "top_k", "top_p")})

        stored = store.get(group.context, group.gen_kwargs, group.size)
        missing = [i for i, text in enumerate(stored) if text is None]
        counts["stored"] += group.size - len(missing)
        pbar.update(group.size - len(missing))
        out: list[str | None] = list(stored)
        if missing:
            context_ids, _ = self.tok_batch_encode(
                [group.context], left_truncate_len=self.max_length - max_gen_toks,
                truncation=self.truncation,
            )
            context_ids = context_ids.to(self.device)
            if greedy:
                text = self._decode(context_ids, [0], warpers, until, max_gen_toks,
                                    greedy=True)[0]
                for i in missing:
                    out[i] = text
                store.put(group.context, group.gen_kwargs, [(i, text) for i in missing])
                counts["generated"] += len(missing)
                pbar.update(len(missing))
            else:
                seeds = sample_seeds(self.run_seed, group.context, missing)
                size = self._sub_batch_size(len(missing), context_ids.shape[1] + max_gen_toks)
                if size == 1 and len(missing) > 1 and not self._warned_batch:
                    self._warned_batch = True
                    log.warning("hf-repeats decodes --batch_size rows at once (now 1): pass "
                                "--batch_size N, or auto on a GPU, to decode the N samples of "
                                "a problem together")
                for start in range(0, len(missing), size):
                    idx = missing[start:start + size]
                    texts = self._decode(context_ids, seeds[start:start + size], warpers,
                                         until, max_gen_toks, greedy=False)
                    for i, text in zip(idx, texts, strict=True):
                        out[i] = text
                    store.put(group.context, group.gen_kwargs, zip(idx, texts, strict=True))
                    counts["generated"] += len(idx)
                    pbar.update(len(idx))
        return [text if text is not None else "" for text in out]

    def _sub_batch_size(self, n: int, cache_len: int) -> int:
        """Rows decoded at once: ``--batch_size``; for ``auto``, what half the free GPU
        memory holds (the static cache and the logits of each row), all on CPU."""
        size = self.batch_size
        if isinstance(size, int) or (isinstance(size, str) and size.isdigit()):
            return max(1, min(n, int(size)))
        if self.device.type != "cuda":
            return n
        cfg = self.model.config.get_text_config(decoder=True)
        heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        width = torch.finfo(self.model.dtype).bits // 8
        per_row = (2 * cfg.num_hidden_layers * heads * head_dim * cache_len * width
                   + 3 * 4 * self.model.config.vocab_size)
        free, _ = torch.cuda.mem_get_info(self.device)
        return max(1, min(n, int(0.5 * free // per_row)))

    @torch.no_grad()
    def _decode(self, context_ids: torch.Tensor, seeds: Sequence[int], warpers: list[Any],
                until: list[str], max_gen_toks: int, *, greedy: bool) -> list[str]:
        """Prefill ``context_ids`` (1 x L) once, decode ``len(seeds)`` continuations."""
        from transformers import StaticCache

        rows = len(seeds)
        length = context_ids.shape[1]
        model = self.model
        with torch.autocast(device_type=self.device.type, dtype=self.mixed_precision_dtype,
                            enabled=self.mixed_precision_dtype is not None):
            prefill = model(input_ids=context_ids, use_cache=True, **self._prefill_kw)
            prompt_cache = _output_cache(prefill)
            cache = StaticCache(config=model.config, max_cache_len=length + max_gen_toks)
            if not hasattr(cache, "layers") or not hasattr(prompt_cache, "layers"):
                raise InputError("hf-repeats needs a transformers version whose caches have "
                                 "`layers` (upgrade transformers)")
            for src, dst in zip(prompt_cache.layers, cache.layers, strict=True):
                keys, values = src.keys.expand(rows, -1, -1, -1), src.values.expand(rows, -1, -1, -1)
                dst.update(keys, values)  # type: ignore[union-attr]
            del prompt_cache
            logits = prefill.logits[:, -1, :].expand(rows, -1)
            gens = [torch.Generator(device=self.device).manual_seed(s) for s in seeds]
            stop = _StopCheck(self.tokenizer, until)
            eos_ids = _eos_ids(model, self.eot_token_id)
            seq = context_ids.expand(rows, -1)
            generated: list[list[int]] = [[] for _ in range(rows)]
            finished = [False] * rows
            for step in range(max_gen_toks):
                tokens = _next_tokens(logits, seq, warpers, gens, greedy=greedy)
                seq = torch.cat([seq, tokens[:, None]], dim=1)
                open_rows = [r for r in range(rows) if not finished[r]]
                token_list = tokens.tolist()
                for r in open_rows:
                    generated[r].append(token_list[r])
                for r, hit in zip(open_rows, stop([generated[r] for r in open_rows]), strict=True):
                    finished[r] = hit or generated[r][-1] in eos_ids
                if all(finished) or step + 1 == max_gen_toks:
                    break
                out = model(input_ids=tokens[:, None], use_cache=True,
                            **{self._cache_kw: cache})
                logits = out.logits[:, -1, :]
        return [postprocess_generated_text(self.tok_decode(tokens), until, None)
                for tokens in generated]


class _StopCheck:
    """lm_eval's stop-sequence check, once per step for all stop strings.

    lm_eval (``MultiTokenEOSCriteria``, one per stop string) stops a row when the string
    appears in the decoded last ``len(its tokens) + 2`` generated tokens, decoding every
    row once per string and step.  This decodes each open row's last ``max`` of those
    windows once per step: a string found there was also found, at the step that completed
    it, in its own window, or lies wholly in text that ``postprocess_generated_text`` cuts
    at the first stop string anyway, so the texts returned are the same."""

    def __init__(self, tokenizer: Any, until: Sequence[str]) -> None:
        self.tokenizer = tokenizer
        self.until = [s for s in until if s]
        self.lookback = max((len(tokenizer.encode(s, add_special_tokens=False)) + 2
                             for s in self.until), default=0)

    def __call__(self, rows: list[list[int]]) -> list[bool]:
        if not self.until or not rows:
            return [False] * len(rows)
        tails = self.tokenizer.batch_decode([tokens[-self.lookback:] for tokens in rows])
        return [any(s in tail for s in self.until) for tail in tails]


def _next_tokens(logits: torch.Tensor, seq: torch.Tensor, warpers: list[Any],
                 gens: list[torch.Generator], *, greedy: bool) -> torch.Tensor:
    scores = logits.float()
    if greedy:
        return scores.argmax(dim=-1)
    for warper in warpers:
        scores = warper(seq, scores)
    probs = torch.softmax(scores, dim=-1)
    race = torch.empty_like(probs)
    for r, gen in enumerate(gens):
        race[r].exponential_(generator=gen)
    return (probs / race).argmax(dim=-1)


def _output_cache(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def _eos_ids(model: Any, eot_token_id: int) -> set[int]:
    ids = {int(eot_token_id)}
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif isinstance(eos, (list, tuple)):
        ids.update(int(i) for i in eos if i is not None)
    return ids

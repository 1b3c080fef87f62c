"""Where ``hf-repeats``' decode loop spends its time, against stock ``generate``, in one run.

Random GPT-NeoX (``--hidden`` 768, ``--layers`` 14, vocabulary 512: the model of
``gpu_check.py``), a prompt of ``--prompt`` tokens, ``--rows`` continuations of ``--steps``
tokens each (no stop sequence: every row runs to the end).  Times per decode step:

* ``generate``: stock ``model.generate(num_return_sequences=rows, do_sample=True)``,
  prompt prefilled ``rows`` times;
* ``repeats``: the loop of ``hf-repeats`` (one prefill, keys/values copied into a static
  cache, one token per step, a per-row generator drawing each row's Gumbel race);
* ``repeats, one noise draw``: the same with one exponential draw for all rows per step
  (what the per-row draws cost);
* ``repeats, dynamic cache``: the same loop with a growing ``DynamicCache`` instead of the
  static cache (what the static cache costs without ``torch.compile``).

Prints each time and its ratio to ``generate`` (above 1: slower than stock).

    python benchmarks/decode_profile.py [--device cuda] [--prompt 16] [--rows 64] [--steps 128]
"""

from __future__ import annotations

import argparse
import inspect
import time
from typing import Any, cast

import torch
from transformers import DynamicCache, GPTNeoXConfig, GPTNeoXForCausalLM, StaticCache


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _loop(model: Any, ctx: torch.Tensor, rows: int, steps: int, *, static: bool,
          per_row_noise: bool, cache_kw: str) -> None:
    device = ctx.device
    prefill = model(input_ids=ctx, use_cache=True)
    prompt_cache = getattr(prefill, "cache", None) or prefill.past_key_values
    cache: StaticCache | DynamicCache
    if static:
        cache = StaticCache(config=model.config, max_cache_len=ctx.shape[1] + steps)
    else:
        cache = DynamicCache()
    for i, (src, dst) in enumerate(zip(prompt_cache.layers, cache.layers if static else
                                       [None] * len(prompt_cache.layers), strict=True)):
        keys = src.keys.expand(rows, -1, -1, -1)
        values = src.values.expand(rows, -1, -1, -1)
        if static:
            cast(Any, dst).update(keys, values)
        else:
            cache.update(keys.contiguous(), values.contiguous(), i)
    logits = prefill.logits[:, -1, :].expand(rows, -1)
    gens = [torch.Generator(device=device).manual_seed(r) for r in range(rows)]
    one = torch.Generator(device=device).manual_seed(0)
    seq = ctx.expand(rows, -1)
    for _ in range(steps):
        probs = torch.softmax(logits.float(), dim=-1)
        race = torch.empty_like(probs)
        if per_row_noise:
            for r, gen in enumerate(gens):
                race[r].exponential_(generator=gen)
        else:
            race.exponential_(generator=one)
        tokens = (probs / race).argmax(dim=-1)
        seq = torch.cat([seq, tokens[:, None]], dim=1)
        tokens.tolist()  # the loop reads the tokens back every step (stop checks)
        out = model(input_ids=tokens[:, None], use_cache=True, **{cache_kw: cache})
        logits = out.logits[:, -1, :]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--prompt", type=int, default=16, help="prompt tokens")
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--layers", type=int, default=14)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per variant (the best is kept)")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    rotary: dict[str, Any] = {"rotary_pct": 1.0}  # partial_rotary_factor in transformers 5
    config = GPTNeoXConfig(vocab_size=512, hidden_size=args.hidden, num_hidden_layers=args.layers,
                           num_attention_heads=args.heads, intermediate_size=4 * args.hidden,
                           max_position_embeddings=4096, bos_token_id=0,
                           eos_token_id=0, pad_token_id=0, tie_word_embeddings=False,
                           **rotary)
    with device:  # built on the device
        model = GPTNeoXForCausalLM(config).eval()
    cache_kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    ctx = torch.randint(1, 512, (1, args.prompt), device=device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{name}; torch {torch.__version__}; prompt {args.prompt} tokens, {args.rows} rows x "
          f"{args.steps} steps; model {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M")

    def stock() -> None:
        model.generate(ctx.expand(args.rows, -1), do_sample=True, max_new_tokens=args.steps,
                       min_new_tokens=args.steps, attention_mask=torch.ones_like(ctx).expand(args.rows, -1),
                       pad_token_id=0)

    variants = {
        "generate": stock,
        "repeats": lambda: _loop(model, ctx, args.rows, args.steps, static=True,
                                 per_row_noise=True, cache_kw=cache_kw),
        "repeats, one noise draw": lambda: _loop(model, ctx, args.rows, args.steps, static=True,
                                                 per_row_noise=False, cache_kw=cache_kw),
        "repeats, dynamic cache": lambda: _loop(model, ctx, args.rows, args.steps, static=False,
                                                per_row_noise=True, cache_kw=cache_kw),
        "repeats, dynamic cache, one noise draw": lambda: _loop(model, ctx, args.rows, args.steps,
                                                                static=False, per_row_noise=False,
                                                                cache_kw=cache_kw),
    }
    best: dict[str, float] = {}
    with torch.inference_mode():
        for label, fn in variants.items():
            fn()  # warm-up
            times = []
            for _ in range(args.repeat):
                _sync(device)
                t0 = time.perf_counter()
                fn()
                _sync(device)
                times.append(time.perf_counter() - t0)
            best[label] = min(times)
            print(f"  {label:<40s} {1e3 * best[label] / args.steps:7.2f} ms/step   "
                  f"{best[label] / best['generate']:5.2f}x of generate", flush=True)


if __name__ == "__main__":
    main()

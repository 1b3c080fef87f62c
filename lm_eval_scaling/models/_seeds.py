"""Per-sample seeds: one seed per (run seed, problem, sample index).

The scheme, shared by every backend of this package::

    base(run, prompt)  = first 62 bits of SHA-256("lm-eval-scaling/v1" | run | SHA-256(prompt))
    seed(run, prompt, i) = base(run, prompt) + i

``run`` is the run's seed (see :func:`run_seed_key`), ``prompt`` the exact context
string of the request (the problem, as the model sees it) and ``i`` the index of the
sample of that problem (0 .. N-1).  ``base + i`` is vLLM's own rule for the children of
a request with ``n > 1`` and a ``seed``, so ``SamplingParams(n=N, seed=base)`` draws the
same N per-sample seeds as N requests with seeds ``base + i``.  A sample therefore
depends only on its seed and the model: a run is reproducible, a run cut short and
resumed redraws exactly the missing samples, and two chunks run with different seeds
have different bases (62-bit hashes; overlapping seed ranges have probability about
N / 2**62).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["SEED_SCHEME", "base_seed", "canonical_kwargs", "prompt_hash", "run_seed_key",
           "sample_seeds"]

#: Name of the scheme, recorded with every stored sample.
SEED_SCHEME: Final = "lm-eval-scaling/v1"
_SEED_BITS: Final = 62


def prompt_hash(context: str) -> str:
    """SHA-256 (hex) of the request's context string."""
    return hashlib.sha256(context.encode("utf-8")).hexdigest()


def canonical_kwargs(gen_kwargs: Mapping[str, Any]) -> str:
    """Generation kwargs as canonical JSON (sorted keys): equal kwargs, equal text."""
    return json.dumps(dict(gen_kwargs), sort_keys=True, default=str)


def run_seed_key(torch_seed: int | None, model_seed: int | None) -> str:
    """The run seed: lm_eval's torch seed (``--seed``) and ``seed=`` of ``--model_args``."""
    return f"torch={torch_seed},model={model_seed}"


def base_seed(run_seed: str, context: str) -> int:
    """``base(run, prompt)`` of the scheme (a non-negative 62-bit integer)."""
    text = f"{SEED_SCHEME}|{run_seed}|{prompt_hash(context)}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> (64 - _SEED_BITS)


def sample_seeds(run_seed: str, context: str, indices: range | list[int]) -> list[int]:
    """The seeds of the given sample indices of one problem."""
    base = base_seed(run_seed, context)
    return [base + int(i) for i in indices]

"""vllm-repeats (lm_eval_scaling.models.vllm_repeats) with a fake vLLM engine.

vLLM needs a GPU; here a fake ``vllm`` module stands in for it.  Its engine records every
request and answers child ``i`` of a request with ``n`` and ``seed`` from the seed
``seed + i`` (vLLM's rule for parallel sampling), so the tests can check the requests
sent, the per-sample seeds and resuming.  The real engine is exercised by
``benchmarks/gpu_check.py``.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

pytest.importorskip("transformers")
if importlib.util.find_spec("vllm") is not None:  # pragma: no cover - GPU machines
    pytest.skip("a real vllm is installed: the fake engine would shadow it",
                allow_module_level=True)

from lm_eval.api.instance import Instance
from lm_eval.api.model import CacheHook

STOP = ["\n\n", "Question:"]
GEN = {"until": STOP, "do_sample": True, "temperature": 1.0, "max_gen_toks": 32,
       "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0}
A = "Question: What is 2 + 3?\nAnswer:"
B = "Question: What is 7 - 4?\nAnswer:"


def _fake_text(seed: int | None) -> str:
    return f" #### {seed}\n\nQuestion: continues past the stop"


class FakeEngine:
    """Stands in for ``vllm.LLM``."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **model_args: Any) -> None:
        self.model_args = model_args
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=2048))

    def generate(self, prompts: list[Any], sampling_params: list[Any], use_tqdm: bool = False,
                 lora_request: Any = None) -> list[Any]:
        out = []
        for prompt, sp in zip(prompts, sampling_params, strict=True):
            self.calls.append({"prompt": list(prompt["prompt_token_ids"]), "n": sp.n,
                               "seed": sp.seed, **sp.kwargs})
            seeds = [None if sp.seed is None else sp.seed + i for i in range(sp.n)]
            if sp.kwargs.get("temperature") == 0:
                seeds = [-1] * sp.n
            children = [SimpleNamespace(index=i, text=_fake_text(s)) for i, s in enumerate(seeds)]
            out.append(SimpleNamespace(outputs=children[::-1]))  # child order not guaranteed
        return out


class FakeSamplingParams:
    def __init__(self, n: int = 1, seed: int | None = None, **kwargs: Any) -> None:
        self.n, self.seed, self.kwargs = n, seed, kwargs


@pytest.fixture(scope="module")
def vllm_repeats(tiny_model_dir: Path) -> Iterator[Any]:
    """The real ``VLLMRepeatsLM`` class, imported against the fake ``vllm`` module (the
    lm_eval module that imported it stays loaded for the session: vllm is not installed)."""
    from transformers import AutoTokenizer

    def module(name: str, **attrs: Any) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        mod.__dict__.update(attrs)
        return mod

    fakes = {
        "vllm": module("vllm", LLM=FakeEngine, SamplingParams=FakeSamplingParams,
                       TokensPrompt=lambda **kw: dict(kw)),
        "vllm.lora": module("vllm.lora"),
        "vllm.lora.request": module("vllm.lora.request", LoRARequest=object),
        "vllm.tokenizers": module(
            "vllm.tokenizers", get_tokenizer=lambda name, **kw: AutoTokenizer.from_pretrained(name)),
    }
    real_version = importlib.metadata.version
    with pytest.MonkeyPatch.context() as mp:
        for name, mod in fakes.items():
            mp.setitem(sys.modules, name, mod)
        mp.setattr(importlib.metadata, "version",
                   lambda name: "0.8.0" if name == "vllm" else real_version(name))
        import lm_eval_scaling.models  # noqa: F401
        from lm_eval_scaling.models.vllm_repeats import VLLMRepeatsLM

        yield VLLMRepeatsLM


def _oracle_seed(run: str, prompt: str, i: int) -> int:
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    head = hashlib.sha256(f"lm-eval-scaling/v1|{run}|{digest}".encode()).digest()[:8]
    return (int.from_bytes(head, "big") >> 2) + i


def _lm(cls: Any, model_dir: Path, db: Any = None) -> Any:
    import torch

    torch.manual_seed(1234)
    lm = cls(pretrained=str(model_dir), seed=7, max_model_len=2048)
    if db is not None:
        hook = CacheHook(None)
        hook.dbdict = db
        lm.set_cache_hook(hook)
    FakeEngine.calls.clear()
    return lm


def _interleaved(n_a: int, n_b: int, gen: dict[str, Any] = GEN) -> list[Any]:
    ia = Instance("generate_until", {}, (A, gen), 0)
    ib = Instance("generate_until", {}, (B, gen), 1)
    out: list[Any] = []
    for k in range(max(n_a, n_b)):
        out += ([ia] if k < n_a else []) + ([ib] if k < n_b else [])
    return out


def test_one_request_per_problem_with_per_sample_seeds(vllm_repeats: Any,
                                                       tiny_model_dir: Path) -> None:
    lm = _lm(vllm_repeats, tiny_model_dir)
    out = lm.generate_until(_interleaved(6, 4))
    run = "torch=1234,model=7"
    assert [(c["n"], c["seed"]) for c in FakeEngine.calls] == [
        (6, _oracle_seed(run, A, 0)), (4, _oracle_seed(run, B, 0))]
    call = FakeEngine.calls[0]
    assert call["prompt"] == lm.tok_encode(A)
    # explicit untruncated sampling; top_k off sent as -1 (accepted by every vLLM)
    assert (call["temperature"], call["top_k"], call["top_p"], call["repetition_penalty"]) == (
        1.0, -1, 1.0, 1.0)
    assert call["max_tokens"] == 32 and set(STOP) <= set(call["stop"])
    # results back in lm_eval's order: the j-th request of a problem gets sample j
    expected_a = [f" #### {_oracle_seed(run, A, j)}" for j in range(6)]
    expected_b = [f" #### {_oracle_seed(run, B, j)}" for j in range(4)]
    assert out[0::2][:4] == expected_a[:4] and out[1::2][:4] == expected_b
    assert out[8:] == expected_a[4:]


def test_resume_requests_only_missing_samples(vllm_repeats: Any, tiny_model_dir: Path) -> None:
    full = _lm(vllm_repeats, tiny_model_dir).generate_until(_interleaved(10, 3))
    db: dict[str, str] = {}
    lm = _lm(vllm_repeats, tiny_model_dir, db)
    lm.generate_until(_interleaved(10, 3))
    assert len(db) == 13
    # forget samples 5, 6 and 8.. of problem A (as if killed) and all of problem B
    base = _oracle_seed("torch=1234,model=7", A, 0)
    a_index = {f" #### {base + j}": j for j in range(10)}
    for key in list(db):
        if a_index.get(db[key], 5) in (5, 6, 8, 9):
            del db[key]
    lm2 = _lm(vllm_repeats, tiny_model_dir, db)
    resumed = lm2.generate_until(_interleaved(10, 3))
    assert [(c["n"], c["seed"]) for c in FakeEngine.calls] == [
        (2, base + 5), (2, base + 8), (3, _oracle_seed("torch=1234,model=7", B, 0))]
    assert resumed == full
    assert lm2.sample_counts == {"stored": 6, "generated": 7}


def test_greedy_is_one_completion_for_all(vllm_repeats: Any, tiny_model_dir: Path) -> None:
    gen = {"until": STOP, "do_sample": False, "max_gen_toks": 8}
    out = _lm(vllm_repeats, tiny_model_dir).generate_until(_interleaved(3, 0, gen))
    assert [c["n"] for c in FakeEngine.calls] == [1]
    assert out == [" #### -1"] * 3


def test_through_lm_eval_evaluator(vllm_repeats: Any, tiny_model_dir: Path) -> None:
    """lm_eval's own evaluator with the task: N responses per problem, pass@k logged."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from lm_eval_scaling.harness import tasks_dir

    tm = TaskManager(include_path=str(tasks_dir()), include_defaults=False,
                     metadata={"n_samples": 5, "max_gen_toks": 16})
    lm = _lm(vllm_repeats, tiny_model_dir)
    results = simple_evaluate(model=lm, tasks=["arith_passk"], task_manager=tm, limit=3,
                              log_samples=True)
    samples = results["samples"]["arith_passk"]
    assert [len(s["resps"][0]) for s in samples] == [5, 5, 5]
    assert all(len(set(s["resps"][0])) == 5 for s in samples)
    assert [s["num_samples"] for s in samples] == [5, 5, 5]
    assert [c["n"] for c in FakeEngine.calls] == [5, 5, 5]

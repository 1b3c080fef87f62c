"""The sampling engine: lm_eval models ``hf-repeats`` and ``vllm-repeats``.

Importing this package registers both names in lm_eval's model registry (lazily: torch,
transformers and vllm are imported only when a model is built), so Python users of
``lm_eval.simple_evaluate(model="hf-repeats", ...)`` need only ``import
lm_eval_scaling.models``; ``lm-eval-scaling run`` does it for the command line.

Modules
    hf_repeats    ``hf`` + prefill once per problem, static KV cache, per-sample seeds
    vllm_repeats  ``vllm`` + one ``SamplingParams(n=N)`` request per problem
    _groups       grouping identical generate_until requests
    _seeds        the per-sample seed scheme (run seed, problem, sample index)
    _store        finished samples in lm_eval's ``--use_cache`` database (resume)
"""

from __future__ import annotations

from typing import Final

__all__ = ["MODEL_NAMES", "register_models"]

#: lm_eval model name -> "module:class"
MODEL_NAMES: Final = {
    "hf-repeats": "lm_eval_scaling.models.hf_repeats:HFRepeatsLM",
    "vllm-repeats": "lm_eval_scaling.models.vllm_repeats:VLLMRepeatsLM",
}


def register_models() -> None:
    """Register :data:`MODEL_NAMES` with lm_eval (idempotent)."""
    # lm_eval's own names first: lm_eval fills only an empty registry by itself
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import model_registry

    for name, target in MODEL_NAMES.items():
        if name not in model_registry:
            model_registry.register(name, target=target)


register_models()

"""``ScalingTask``: the lm_eval task class of every YAML in this package.

A plain ``ConfigurableTask`` whose constructor first applies the ``--metadata``
options (:mod:`.options`) to the YAML config: ``n_samples`` -> ``repeats``,
``temperature`` / ``max_gen_toks`` / ``top_p`` / ``top_k`` -> ``generation_kwargs``,
``answer_extraction`` -> the extractor of the :class:`~.filters.ExtractAnswers` filter.  It also
reports pass@k for every power of two up to the number of samples, and refuses a
``seed`` in ``generation_kwargs`` (with vLLM it would make all N samples identical).
"""

from __future__ import annotations

import copy
from typing import Any

from lm_eval.api.metrics import mean
from lm_eval.api.task import ConfigurableTask

try:  # lm_eval 0.5: one Task class per output type, built from the config alone
    from lm_eval.api.task import GenerateTask as _GenerateTask05
    from lm_eval.api.task import Task as _Task05
except ImportError:  # lm_eval 0.4.x
    _Task05 = _GenerateTask05 = None

from ..errors import InputError
from .filters import ExtractAnswers
from .metrics import passk_ks
from .options import sampling_options

__all__ = ["ScalingTask"]


class _PassKDefaults(dict):  # type: ignore[type-arg]
    """A metric table that answers every ``pass@<k>`` key (lm_eval 0.5's ``--repeats``
    may change N after construction)."""

    def __init__(self, base: dict[str, Any], value: Any) -> None:
        super().__init__(base)
        self._value = value

    def __missing__(self, key: str) -> Any:
        if isinstance(key, str) and key.startswith("pass@"):
            return self._value
        raise KeyError(key)


class _ScalingMixin:
    """The methods ScalingTask adds, shared by the lm_eval 0.4 and 0.5 task classes."""

    def aggregation(self) -> dict[str, Any]:
        base = dict(super().aggregation())  # type: ignore[misc]
        if self.OUTPUT_TYPE == "generate_until":  # type: ignore[attr-defined]
            base.update({f"pass@{k}": mean
                         for k in passk_ks(int(self.config.repeats or 1))})  # type: ignore[attr-defined]
            return _PassKDefaults(base, mean)
        return base

    def higher_is_better(self) -> dict[str, Any]:
        base = dict(super().higher_is_better())  # type: ignore[misc]
        if self.OUTPUT_TYPE == "generate_until":  # type: ignore[attr-defined]
            base.update({f"pass@{k}": True
                         for k in passk_ks(int(self.config.repeats or 1))})  # type: ignore[attr-defined]
            return _PassKDefaults(base, True)
        return base

    def construct_requests(self, doc: dict[str, Any], ctx: Any, **kwargs: Any) -> Any:
        gen = self.config.generation_kwargs or {}  # type: ignore[attr-defined]
        if self.OUTPUT_TYPE == "generate_until" and "seed" in gen:  # type: ignore[attr-defined]
            raise InputError(
                f"task {self.config.task}: generation_kwargs contains seed={gen['seed']!r}; "  # type: ignore[attr-defined]
                "remove it (with vLLM every one of the N samples would be identical). "
                "Vary the run seed with --seed (and seed= in --model_args for vllm) instead."
            )
        return super().construct_requests(doc, ctx, **kwargs)  # type: ignore[misc]


_CLASSES_05: dict[type, type] = {}


def _task_05(config: dict[str, Any]) -> Any:
    """lm_eval 0.5: an instance of the registered class of the config's output type
    (GenerateTask, LoglikelihoodTask, ...) with the ScalingTask methods mixed in."""
    cfg = _apply_options(dict(config))
    base = _Task05._registry[cfg.get("output_type") or "generate_until"]  # type: ignore[union-attr]
    cls = _CLASSES_05.get(base)
    if cls is None:
        cls = _CLASSES_05[base] = type(f"Scaling{base.__name__}", (_ScalingMixin, base), {})
    return cls(cfg)


class ScalingTask(_ScalingMixin, ConfigurableTask):
    """ConfigurableTask + the ``--metadata`` options of lm-eval-scaling.

    On lm_eval 0.5 (where the task class is chosen by output type and built from the
    config alone) constructing it returns an instance of that class with the same
    methods mixed in.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if _GenerateTask05 is not None and cls is ScalingTask:
            config = kwargs.get("config", args[-1] if args else None)
            return _task_05(dict(config or {}))
        return super().__new__(cls)

    def __init__(
        self,
        data_dir: str | None = None,
        cache_dir: str | None = None,
        download_mode: Any = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        cfg = _apply_options(dict(config or {}))
        super().__init__(data_dir=data_dir, cache_dir=cache_dir, download_mode=download_mode,
                         config=cfg)



def _apply_options(cfg: dict[str, Any]) -> dict[str, Any]:
    cfg.pop("class", None)
    task = cfg.get("task", "<task>")
    if cfg.get("output_type", "generate_until") != "generate_until":
        return cfg
    options = sampling_options(cfg.get("metadata"))
    if options.n_samples is not None:
        cfg["repeats"] = options.n_samples
    gen = options.generation_kwargs(cfg.get("generation_kwargs") or {})
    if "seed" in gen:
        raise InputError(
            f"task {task}: generation_kwargs contains seed={gen['seed']!r}; remove it "
            "(with vLLM every one of the N samples would be identical)"
        )
    cfg["generation_kwargs"] = gen
    if options.answer_extraction is not None:
        filters = copy.deepcopy(cfg.get("filter_list") or [])
        for pipeline in filters:
            for step in pipeline.get("filter", []):
                if step.get("function") is ExtractAnswers:
                    step["extractor"] = options.answer_extraction
        cfg["filter_list"] = filters
    return cfg

"""Run-time options of the tasks, read from lm_eval's ``--metadata`` JSON.

lm_eval 0.4.x has no command-line flag that overrides ``repeats`` (the number of
samples per problem), so :class:`~lm_eval_scaling.harness.task.ScalingTask` reads it
and the sampling settings from the task metadata::

    --metadata '{"n_samples": 1000, "temperature": 0.8, "max_gen_toks": 512}'

lm_eval merges ``--model_args`` into the same metadata, so values may arrive as
strings (``"512"``); they are validated here, with errors naming the key and value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, overload

from ..errors import InputError
from .extractors import extractor_names

__all__ = [
    "OPTION_KEYS",
    "RUN_DEFINING_METADATA",
    "UNTRUNCATED",
    "SamplingOptions",
    "float_option",
    "int_option",
    "sampling_options",
]

#: The metadata keys :func:`sampling_options` understands.
OPTION_KEYS: Final = ("n_samples", "temperature", "max_gen_toks", "top_p", "top_k",
                      "answer_extraction")

#: Sampling settings written explicitly into every sampling task's generation_kwargs
#: (unless set): the full distribution, whatever a backend's or checkpoint's defaults are
#: (transformers' default generation config has top_k = 50).  top_k 0 = off.  Being part
#: of the task config, they are logged with the run and compared by ``collect``.
UNTRUNCATED: Final = {"top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0}

#: ``--metadata`` keys that define what a task generates or how it scores (the task
#: version, answer extraction, the arith problem set): two runs that differ in one of
#: them do not merge.  The others (``n_samples``, sampling settings that lm_eval records
#: in ``generation_kwargs``, local data paths, the model_args lm_eval merges in) may
#: differ between chunks.
RUN_DEFINING_METADATA: Final = ("version", "answer_extraction", "arith_train_size",
                                "arith_test_size", "arith_seed", "arith_mix")


@dataclass(frozen=True)
class SamplingOptions:
    """Options of a sampling task; None means "keep the YAML's value"."""

    n_samples: int | None = None
    temperature: float | None = None
    max_gen_toks: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    answer_extraction: str | None = None

    def generation_kwargs(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """``base`` (the YAML's generation_kwargs) updated with the options that are set;
        when sampling, :data:`UNTRUNCATED` fills in the settings left unset."""
        out = dict(base)
        for key in ("temperature", "max_gen_toks", "top_p", "top_k"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.temperature is not None:
            out["do_sample"] = self.temperature > 0
        if out.get("do_sample"):
            for key, value in UNTRUNCATED.items():
                out.setdefault(key, value)
        return out


def sampling_options(metadata: Mapping[str, Any] | None) -> SamplingOptions:
    """Validated :class:`SamplingOptions` from a task's metadata dict."""
    meta = dict(metadata or {})
    extraction = meta.get("answer_extraction")
    if extraction is not None and extraction not in extractor_names():
        raise InputError(
            f"--metadata answer_extraction: expected one of {', '.join(extractor_names())} "
            f"(got {extraction!r})"
        )
    return SamplingOptions(
        n_samples=int_option(meta, "n_samples", None, minimum=1),
        temperature=float_option(meta, "temperature", None, minimum=0.0),
        max_gen_toks=int_option(meta, "max_gen_toks", None, minimum=1),
        top_p=float_option(meta, "top_p", None, minimum=0.0, maximum=1.0, open_low=True),
        top_k=int_option(meta, "top_k", None, minimum=-1),
        answer_extraction=extraction,
    )


@overload
def int_option(
    metadata: Mapping[str, Any], key: str, default: int, *, minimum: int | None = None
) -> int: ...


@overload
def int_option(
    metadata: Mapping[str, Any], key: str, default: None, *, minimum: int | None = None
) -> int | None: ...


def int_option(
    metadata: Mapping[str, Any], key: str, default: int | None, *, minimum: int | None = None
) -> int | None:
    """``metadata[key]`` as an int (``default`` when absent); InputError when malformed."""
    raw = metadata.get(key)
    if raw is None:
        return default
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
    if value is None:
        raise InputError(f"--metadata {key}: expected an integer (got {raw!r})")
    if minimum is not None and value < minimum:
        raise InputError(f"--metadata {key}: must be >= {minimum} (got {raw!r})")
    return value


def float_option(
    metadata: Mapping[str, Any],
    key: str,
    default: float | None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    open_low: bool = False,
) -> float | None:
    """``metadata[key]`` as a finite float within bounds; InputError when malformed."""
    raw = metadata.get(key)
    if raw is None:
        return default
    try:
        value = float(raw) if not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"--metadata {key}: expected a finite number (got {raw!r})")
    if minimum is not None and (value < minimum or (open_low and value == minimum)):
        bound = f"> {minimum}" if open_low else f">= {minimum}"
        raise InputError(f"--metadata {key}: must be {bound} (got {raw!r})")
    if maximum is not None and value > maximum:
        raise InputError(f"--metadata {key}: must be <= {maximum} (got {raw!r})")
    return value

"""--metadata options (lm_eval_scaling.harness.options)."""

from __future__ import annotations

import pytest

from lm_eval_scaling.errors import InputError
from lm_eval_scaling.harness.options import UNTRUNCATED, SamplingOptions, sampling_options


def test_defaults_keep_yaml_values_and_sample_untruncated() -> None:
    opts = sampling_options({"pretrained": "x", "version": 1.0})
    assert opts == SamplingOptions()
    base = {"until": ["\n\n"], "do_sample": True, "temperature": 1.0, "max_gen_toks": 256}
    assert opts.generation_kwargs(base) == base | {"top_k": 0, "top_p": 1.0,
                                                   "repetition_penalty": 1.0}
    assert set(UNTRUNCATED) == {"top_k", "top_p", "repetition_penalty"}


def test_greedy_gets_no_sampling_settings() -> None:
    base = {"until": ["x"], "do_sample": False}
    assert SamplingOptions().generation_kwargs(base) == base


def test_values_from_json_or_model_args_strings() -> None:
    opts = sampling_options({"n_samples": "1000", "temperature": 0.7, "max_gen_toks": 64.0,
                             "top_p": "0.9", "top_k": 40, "answer_extraction": "flexible"})
    assert opts.n_samples == 1000
    gen = opts.generation_kwargs({"until": ["x"], "do_sample": True, "temperature": 1.0})
    assert gen == {"until": ["x"], "do_sample": True, "temperature": 0.7, "max_gen_toks": 64,
                   "top_p": 0.9, "top_k": 40, "repetition_penalty": 1.0}


def test_temperature_zero_switches_sampling_off() -> None:
    assert sampling_options({"temperature": 0}).generation_kwargs({})["do_sample"] is False


def test_inputs_not_mutated() -> None:
    meta = {"n_samples": "8"}
    base = {"temperature": 1.0}
    sampling_options(meta).generation_kwargs(base)
    assert meta == {"n_samples": "8"} and base == {"temperature": 1.0}


@pytest.mark.parametrize(("meta", "message"), [
    ({"n_samples": 0}, "n_samples: must be >= 1"),
    ({"n_samples": "many"}, "n_samples: expected an integer"),
    ({"n_samples": 2.5}, "n_samples: expected an integer"),
    ({"n_samples": True}, "n_samples: expected an integer"),
    ({"temperature": -1}, "temperature: must be >= 0"),
    ({"temperature": "nan"}, "temperature: expected a finite number"),
    ({"top_p": 0}, "top_p: must be > 0"),
    ({"top_p": 1.5}, "top_p: must be <= 1"),
    ({"max_gen_toks": 0}, "max_gen_toks: must be >= 1"),
    ({"answer_extraction": "loose"}, "answer_extraction"),
])
def test_bad_values_name_key_and_value(meta: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        sampling_options(meta)
    assert repr(next(iter(meta.values()))) in str(info.value)

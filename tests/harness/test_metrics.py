"""process_results hooks and aggregations (lm_eval_scaling.harness.metrics) against closed forms."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lm_eval_scaling.errors import InputError
from lm_eval_scaling.harness.extractors import INVALID
from lm_eval_scaling.harness.filters import ExtractAnswers
from lm_eval_scaling.harness.metrics import (
    neg_log_gold_prob,
    nll_per_byte,
    passk_ks,
    process_results_gold,
    process_results_passk,
)


def _exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def test_passk_ks() -> None:
    assert passk_ks(0) == []
    assert passk_ks(1) == [1]
    assert passk_ks(8) == [1, 2, 4, 8]
    assert passk_ks(100) == [1, 2, 4, 8, 16, 32, 64]


@given(n=st.integers(1, 300), data=st.data())
def test_process_results_passk_counts_and_exact_passk(n: int, data: st.DataObject) -> None:
    correct = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    answers = ["7" if ok else data.draw(st.sampled_from(["8", INVALID, "-7", "70"]))
               for ok in correct]
    out = process_results_passk({"final_answer": "7"}, [answers])
    c = sum(correct)
    assert out["num_samples"] == n
    assert out["num_correct"] == c
    assert sorted(k for k in out if k.startswith("pass@")) == sorted(f"pass@{k}" for k in passk_ks(n))
    for k in passk_ks(n):
        assert out[f"pass@{k}"] == pytest.approx(float(_exact_pass_at_k(n, c, k)), abs=1e-12)


def test_filter_then_process_results_compare_values_not_strings() -> None:
    doc = {"final_answer": "5"}
    answers = ExtractAnswers().apply([["#### 5.00", "#### 5", "#### 05", "#### 5.5"]], [doc])
    assert process_results_passk(doc, answers)["num_correct"] == 3


def test_filter_keeps_every_response() -> None:
    resps = [["#### 1", "no", "The answer is 2."], ["#### 3"]]
    docs = [{"final_answer": "2"}, {"final_answer": "4"}]
    assert ExtractAnswers().apply(resps, docs) == [["1", INVALID, "2"], ["3"]]
    assert ExtractAnswers(extractor="flexible").apply([["so 4 then 5"]], [docs[1]]) == [["5"]]
    with pytest.raises(InputError, match="loose"):
        ExtractAnswers(extractor="loose")


def test_process_results_gold_fields() -> None:
    doc = {"solution": "He has 2 + 2 = 4 pens.\n#### 4"}
    out = process_results_gold(doc, [(-12.5, False)])
    assert out["gold_logprob"] == -12.5
    assert out["gold_nll"] == 12.5
    # bytes of the scored continuation, leading space included
    assert out["gold_bytes"] == len((" " + doc["solution"]).encode("utf-8"))
    assert out["gold_is_greedy"] == 0
    assert out["gold_nll_per_byte"] == (-12.5, out["gold_bytes"])


def test_gold_aggregations_closed_forms() -> None:
    lps = [-1.0, -2.0, -3.0]
    expected = -math.log(sum(math.exp(v) for v in lps) / 3)
    assert neg_log_gold_prob(lps) == pytest.approx(expected, rel=1e-14)
    # no underflow for realistic solution log-probabilities of hundreds of nats
    assert neg_log_gold_prob([-800.0, -800.0]) == pytest.approx(800.0, rel=1e-14)
    assert nll_per_byte([[-10.0, 4], [-2.0, 2]]) == pytest.approx(2.0)
    assert np.isnan(nll_per_byte([]))


def test_both_lm_eval_result_shapes_give_the_same_counts() -> None:
    """lm_eval 0.4.x passes ``[responses]``; 0.5 flattens them into ``responses``."""
    doc = {"final_answer": "7", "answer": "so 7\n#### 7", "solution": "so 7\n#### 7"}
    answers = ["7", INVALID, "7", "3"]
    v04 = process_results_passk(doc, [answers])
    v05 = process_results_passk(doc, answers)
    assert v04 == v05
    assert (v05["num_samples"], v05["num_correct"]) == (4, 2)
    gold04 = process_results_gold(doc, [(-3.5, False)])
    gold05 = process_results_gold(doc, [-3.5, False])
    assert gold04 == gold05 and gold05["gold_logprob"] == -3.5

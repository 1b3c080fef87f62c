"""Gold-reference covariates: closed forms written out with ``math`` (no logsumexp)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lm_eval_scaling.passk.gold import gold_statistic, neg_log_mean_prob


def test_weighted_mean_probability_is_a_resample() -> None:
    lp = np.array([-3.0, -10.0, -1.5, -7.0])
    w = np.array([2.0, 0.0, 1.0, 1.0])  # problem 0 drawn twice, problem 1 not at all
    resampled = np.array([-3.0, -3.0, -1.5, -7.0])
    assert neg_log_mean_prob(lp, w) == pytest.approx(neg_log_mean_prob(resampled), rel=1e-14)
    want = -math.log((2 * math.exp(-3) + math.exp(-1.5) + math.exp(-7)) / 4)
    assert neg_log_mean_prob(lp, w) == pytest.approx(want, rel=1e-14)


def test_per_token_and_per_byte_nll() -> None:
    lp = np.array([-12.0, -30.0])
    tokens, nbytes = np.array([4.0, 6.0]), np.array([20.0, 25.0])
    assert gold_statistic("nll_per_token", lp, tokens, nbytes) == pytest.approx(42 / 10)
    assert gold_statistic("nll_per_byte", lp, tokens, nbytes) == pytest.approx(42 / 45)
    assert gold_statistic("nll_per_token", lp, tokens, nbytes, weights=[3, 1]) == \
        pytest.approx((36 + 30) / (12 + 6))
    assert math.isnan(gold_statistic("nll_per_byte", lp, tokens, None))
    with pytest.raises(ValueError, match="unknown gold covariate"):
        gold_statistic("mean_nll_squared", lp)

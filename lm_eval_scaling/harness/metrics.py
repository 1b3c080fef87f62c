"""``process_results`` hooks and aggregations of the harness tasks.

Sampling tasks log per problem ``num_samples`` and ``num_correct`` (what ``collect``
reads) and ``pass@k`` for ``k = 1, 2, 4, ... <= num_samples`` (the unbiased estimator
:func:`lm_eval_scaling.pass_at_k`); the results JSON reports their means over problems,
i.e. benchmark pass@k.

Gold tasks log per problem ``gold_logprob`` (summed log-probability of the reference
solution, with its leading space), ``gold_bytes`` (UTF-8 bytes of that scored
continuation) and aggregate to ``gold_nll`` (mean NLL), ``gold_nll_per_byte`` (total NLL
/ total bytes) and ``neg_log_gold_prob`` (``-log mean_i p_i``, via logsumexp).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..passk.estimator import pass_at_k, passk_ks
from ..passk.gold import neg_log_mean_prob
from .prompt import doc_to_target

__all__ = [
    "neg_log_gold_prob",
    "nll_per_byte",
    "passk_ks",
    "process_results_gold",
    "process_results_passk",
]


def _per_problem(results: Sequence[Any]) -> list[Any]:
    """The one problem's filtered responses, whichever lm_eval passed them: 0.4.x passes
    ``[responses]`` (one entry per request), 0.5 the responses themselves (flattened)."""
    if not results:
        return []
    first = results[0]
    if isinstance(first, (list, tuple)):  # 0.4.x: [[a1, ..., aN]] or [(logprob, is_greedy)]
        return list(first)
    return list(results)  # 0.5: [a1, ..., aN] or [logprob, is_greedy]


def process_results_passk(doc: Mapping[str, Any], results: Sequence[Any]) -> dict[str, float | int]:
    """Per-problem counts and pass@k from the N filtered answers of one problem.

    The filter writes an answer that matches the reference as the reference itself
    (:meth:`~.extractors.Extractor.judge`), so correct means equal to ``final_answer``.
    """
    answers = _per_problem(results)
    gold = str(doc["final_answer"])
    n = len(answers)
    c = sum(1 for a in answers if a == gold)
    out: dict[str, float | int] = {"num_samples": n, "num_correct": c}
    ks = passk_ks(n)
    if ks:
        values = pass_at_k(n, c, np.asarray(ks))
        out.update({f"pass@{k}": float(v) for k, v in zip(ks, np.ravel(values))})
    return out


def process_results_gold(doc: Mapping[str, Any], results: Sequence[Any]) -> dict[str, Any]:
    """Per-problem gold log-likelihood from one ``(logprob, is_greedy)`` result."""
    first = _per_problem(results)
    logprob, is_greedy = (first[0], first[1] if len(first) > 1 else False)
    logprob = float(logprob)
    nbytes = len(doc_to_target(doc).encode("utf-8"))
    return {
        "gold_logprob": logprob,
        "gold_bytes": nbytes,
        "gold_is_greedy": int(bool(is_greedy)),
        "gold_nll": -logprob,
        # a tuple: lm_eval 0.5 reads a list as one score per repeat and averages it
        "gold_nll_per_byte": (logprob, nbytes),
        "neg_log_gold_prob": logprob,
    }


def nll_per_byte(pairs: Sequence[Sequence[float]]) -> float:
    """Total NLL over total bytes from per-problem ``[logprob, bytes]`` pairs."""
    arr = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
    return float(-arr[:, 0].sum() / arr[:, 1].sum()) if arr.size else float("nan")


def neg_log_gold_prob(logprobs: Sequence[float]) -> float:
    """``-log((1/P) sum_i p_i)`` over problems, with logsumexp."""
    return neg_log_mean_prob(logprobs)


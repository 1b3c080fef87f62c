"""The sampling planner: allocations spend the budget on unresolved problems only, widths
match the Wilson interval, samples needed for a width, lm_eval --samples rounds."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.analysis.plan import (
    allocate_samples,
    problem_widths,
    samples_needed,
    samples_rounds,
)
from lm_eval_scaling.cli import main
from lm_eval_scaling.errors import InputError


def _wilson(c: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    centre = (c + z * z / 2) / (n + z * z)
    half = z * math.sqrt(c * (n - c) / n + z * z / 4) / (n + z * z)
    return max(0.0, centre - half), min(1.0, centre + half)


def test_widths_are_wilson_intervals_mapped_to_pass_at_k() -> None:
    n = np.array([128, 128, 1000, 50])
    c = np.array([0, 3, 500, 50])
    for k in (1, 10, 1000):
        got = problem_widths(n, c, k)
        for i in range(n.size):
            lo, hi = _wilson(float(c[i]), float(n[i]))
            want = (1 - (1 - hi) ** k) - (1 - (1 - lo) ** k)
            assert got[i] == pytest.approx(want, abs=1e-12)


def test_allocation_spends_the_budget_on_unresolved_problems() -> None:
    # problems 0-2: solved half the time (resolved at k = 100); 3-7: rare or unsolved.
    n = np.full(8, 128)
    c = np.array([64, 70, 60, 1, 0, 0, 2, 0])
    for chunk, budget in ((1, 3000), (16, 3200), (16, 3210)):
        alloc = allocate_samples(n, c, 100, budget, chunk=chunk)
        assert alloc.spent == alloc.n_more.sum() == chunk * (budget // chunk)
        assert (alloc.n_more % chunk == 0).all()
        assert (alloc.n_more[:3] == 0).all() and alloc.resolved[:3].all()
        assert (alloc.n_more[3:] > 0).all()
        assert alloc.width_after < alloc.width_before
    # PassUntil: the unresolved problems advance together (within one chunk)
    alloc = allocate_samples(n, c, 100, 16 * 5 * 7, chunk=16)
    assert alloc.n_more[3:].max() - alloc.n_more[3:].min() <= 16 and alloc.n_more[3:].min() >= 96
    # widest first: one chunk goes to a widest problem (never solved: 4, 5, 7)
    alloc = allocate_samples(n, c, 100, 16, chunk=16, priority="width")
    assert alloc.n_more.tolist() == [0, 0, 0, 0, 16, 0, 0, 0]
    assert np.argmax(problem_widths(n, c, 100)) == 4


def test_allocation_stops_when_everything_is_resolved_or_capped() -> None:
    n = np.full(4, 1000)
    c = np.array([500, 600, 700, 800])
    alloc = allocate_samples(n, c, 10, 10_000)
    assert alloc.spent == 0 and alloc.resolved.all()
    capped = allocate_samples(np.full(3, 100), np.zeros(3, dtype=int), 1000, 10_000, cap=150)
    assert capped.spent == 150 and (capped.n_more == 50).all()


def test_samples_needed_for_a_width() -> None:
    n = np.full(60, 128)
    c = np.r_[np.full(30, 100), np.array([0, 1, 2, 5] * 7 + [0, 3])]
    need = samples_needed(n, c, 200, 0.05, chunk=32)
    u = need["uniform_per_problem"]
    assert u is not None

    def width(m: int) -> float:
        total = np.maximum(n, m)
        return float(np.sqrt((problem_widths(total, c / n * total, 200) ** 2).sum()) / n.size)

    assert width(u) <= 0.05 < width(int(u * 0.99))
    assert need["uniform_more"] == int(np.maximum(u - n, 0).sum())
    # half the problems are resolved already: the allocation needs much less
    assert need["allocated_more"] is not None and need["allocated_more"] < 0.7 * need["uniform_more"]
    with pytest.raises(InputError, match="width"):
        samples_needed(n, c, 200, 0.0)


def test_samples_rounds() -> None:
    rounds = samples_rounds(["3", "1", "7"], [128, 0, 64], 64, "gsm8k_scaling")
    assert rounds == [{"gsm8k_scaling": [3, 7]}, {"gsm8k_scaling": [3]}]
    with pytest.raises(InputError, match="doc index"):
        samples_rounds(["a"], [64], 64, "t")
    with pytest.raises(InputError, match="multiples"):
        samples_rounds(["1"], [10], 64, "t")


def test_plan_cli(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"model": "m", "task": "gsm8k_scaling", "problem_id": np.arange(40),
                       "num_samples": 128, "num_correct": rng.binomial(128, rng.beta(0.3, 3, 40))})
    src = tmp_path / "counts.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "plan.csv"
    rounds = tmp_path / "rounds"
    assert main(["plan", str(src), "--k", "1000", "--budget", "2560", "--chunk", "64",
                 "-o", str(out), "--samples-dir", str(rounds), "--width", "0.1"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["problem_id", "num_samples", "num_correct", "n_more", "resolved"]
    assert table["n_more"].sum() == 2560 and (table.loc[table["resolved"], "n_more"] == 0).all()
    files = sorted(rounds.glob("round_*.json"))
    assert len(files) == table["n_more"].max() // 64
    first = json.loads(files[0].read_text())
    assert first == {"gsm8k_scaling": sorted(table.loc[table["n_more"] > 0, "problem_id"].tolist())}
    text = capsys.readouterr().out
    assert "interval width 0.1 at k=1000" in text
    # outputs are checked before the work: a directory with rounds already is refused
    assert main(["plan", str(src), "--k", "1000", "--budget", "64", "--samples-dir", str(rounds)]) == 2

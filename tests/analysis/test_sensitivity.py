"""The sensitivity table: every variant equals an independent refit with that one change.

Oracle: fit_table on inputs changed by hand (an --exclude pattern for a model size, the
options changed), on counts simulated from a known compute law (tests/support.py).
"""

from __future__ import annotations

import pandas as pd
import pytest

from lm_eval_scaling.analysis.fits import fit_table
from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.analysis.points import passk_points
from lm_eval_scaling.analysis.sensitivity import SENSITIVITY_COLUMNS, sensitivity_table
from tests.support import TRUTH, law_tables


@pytest.fixture(scope="module")
def table():
    counts, ladder = law_tables(n_samples=20_000, problems=40)
    return counts, ladder, sensitivity_table(counts, ladder, laws=["compute"], ks=[1, 4])


def _value(t: pd.DataFrame, variant: str, k: int, parameter: str) -> float:
    row = t[(t["variant"] == variant) & (t["k"] == k) & (t["parameter"] == parameter)]
    assert len(row) == 1
    return float(row["value"].iloc[0])


def test_variants_and_columns(table) -> None:
    _, _, t = table
    assert tuple(t.columns) == SENSITIVITY_COLUMNS
    assert list(dict.fromkeys(t["variant"])) == [
        "baseline", "loss=squared", "delta=0.01", "delta=0.0001", "without smallest size",
        "without largest size", "N=non_embedding", "policy=drop_k"]
    # the simulated ladder has no non-embedding counts: said, not silently skipped
    note = t.loc[t["variant"] == "N=non_embedding", "note"].iloc[0]
    assert "non_embedding_parameters" in note
    base = t[t["variant"] == "baseline"]
    assert (base["change"] == 0).all()
    assert _value(t, "baseline", 1, "alpha") == pytest.approx(TRUTH["alpha"], rel=0.05)


def test_each_variant_is_an_independent_refit(table) -> None:
    counts, ladder, t = table
    points = passk_points(counts, ladder, ks=[1, 4], exclude=["m0@*"])
    fits = fit_table(points, laws=["compute"])
    assert _value(t, "without smallest size", 4, "alpha") == pytest.approx(
        fits[1].params["alpha"], rel=1e-6)
    squared = fit_table(passk_points(counts, ladder, ks=[1, 4]), laws=["compute"],
                        options=FitOptions(loss="squared"))
    assert _value(t, "loss=squared", 1, "alpha") == pytest.approx(squared[0].params["alpha"],
                                                                   rel=1e-6)
    row = t[(t["variant"] == "without smallest size") & (t["k"] == 1)].iloc[0]
    assert row["n_points"] == 28 - 4  # 7 sizes x 4 token counts, one size left out

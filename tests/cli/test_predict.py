"""``lm-eval-scaling predict``: forecasts with intervals from ``fit --bootstrap B -o``.

Oracle: counts simulated from a known compute law (tests/support.py): the forecast at a
compute inside the ladder lies within the interval, the interval covers the true
pass@1, and the distance outside the data is log10(C / largest fitted C).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from lm_eval_scaling.cli import main
from tests.support import TRUTH, law_tables


@pytest.fixture(scope="module")
def fits_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("predict")
    counts, ladder = law_tables(n_samples=20_000, problems=60)
    counts.to_csv(tmp / "counts.csv", index=False)
    ladder.to_csv(tmp / "ladder.csv", index=False)
    out = tmp / "fits.json"
    assert main(["fit", str(tmp / "counts.csv"), "--ladder", str(tmp / "ladder.csv"),
                 "--law", "compute", "--k", "1", "--bootstrap", "30", "--jobs", "1",
                 "-o", str(out)]) == 0
    return out


def test_fit_bootstrap_stores_the_draws(fits_json: Path) -> None:
    (fit,) = json.loads(fits_json.read_text())
    assert len(fit["bootstrap_params"]) == fit["n_boot"] >= 25
    assert "identified" in fit and "at_bound" in fit and fit["pivot_params"]["C0_pivot"] > 0


def test_predict_interval_contains_the_forecast_and_the_truth(fits_json: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    C = 6 * 1e10 * 1e10 * 128 * 100  # 2 orders of magnitude past the largest checkpoint
    for compute in (1e20, C):
        assert main(["predict", str(fits_json), "--compute", str(compute), "-o", str(out)]) == 0
        row = pd.read_csv(out).iloc[0]
        assert row["method"] == "bootstrap" and row["n_draws"] >= 25
        assert row["low"] <= row["neg_log_pass_at_k"] <= row["high"]
        assert row["pass_low"] <= row["pass_at_k"] <= row["pass_high"]
        assert row["pass_at_k"] == pytest.approx(math.exp(-row["neg_log_pass_at_k"]))
        truth = TRUTH["E0"] + TRUTH["C0"] * compute ** -TRUTH["alpha"]
        assert row["low"] * 0.99 <= truth <= row["high"] * 1.01
    assert row["oom_outside_data"] == "C 2"


def test_predict_needs_the_covariates_of_some_fit(fits_json: Path, capsys) -> None:
    assert main(["predict", str(fits_json), "--gold-nll", "20"]) == 2
    assert "no fit" in capsys.readouterr().err
    assert main(["predict", str(fits_json), "--params", "1e9", "--tokens", "2e10"]) == 0
    assert "compute" in capsys.readouterr().out

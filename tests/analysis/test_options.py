"""FitOptions: one frozen value, validated field by field, built once by the CLI."""

from __future__ import annotations

import argparse
import pickle

import pytest

from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.cli._common import add_fit_arguments, add_pooled_refit_argument, fit_options
from lm_eval_scaling.errors import InputError


@pytest.mark.parametrize(("field", "value"), [
    ("loss", "l1"), ("delta", 0.0), ("delta", float("nan")), ("grid", "some"), ("grid", 0),
    ("policy", "drop"), ("bootstrap", -1), ("bootstrap", 1.5), ("ci", 1.0), ("ci", 0),
    ("seed", -2), ("n_jobs", 0), ("bounds", {"nope": (0, 1)}), ("bounds", {"E0": (2, 1)}),
    ("bounds", {"E0": "x"}), ("pooled_refit", "checkpoint"),
])
def test_a_bad_field_is_named_with_its_value(field: str, value: object) -> None:
    with pytest.raises(InputError, match=f"FitOptions field '{field}'"):
        FitOptions(**{field: value})


def test_options_are_frozen_hashable_picklable_and_give_each_law_its_bounds() -> None:
    o = FitOptions(loss="squared", grid=20, bounds={"E0": (0, 1.5), "alpha": (None, 1)})
    with pytest.raises(AttributeError):
        o.loss = "huber"  # type: ignore[misc]
    assert hash(o) == hash(FitOptions(loss="squared", grid=20,
                                      bounds={"alpha": (None, 1), "E0": (0, 1.5)}))
    assert pickle.loads(pickle.dumps(o)) == o  # sent to worker processes
    assert o.law_kwargs("compute") == {"loss": "squared", "delta": 1e-3, "grid": 20,
                                       "bounds": {"E0": (0.0, 1.5), "alpha": (None, 1.0)},
                                       "nonnegative_exponents": True, "min_points": 5,
                                       "basin_gap": 0.01}
    assert o.with_(min_extra_points=0).law_kwargs("gold")["min_points"] == 3
    assert o.law_kwargs("gold")["bounds"] is None  # xi0, K0, kappa: none bounded
    assert o.with_(seed=4).seed == 4 and o.seed == 0


def test_the_cli_builds_one_options_value_with_the_same_defaults() -> None:
    p = argparse.ArgumentParser()
    add_fit_arguments(p, bootstrap="--bootstrap")
    assert fit_options(p.parse_args([])) == FitOptions()
    args = p.parse_args(["--loss", "squared", "--grid", "full", "--bound", "E0=0:2",
                         "--bound", "alpha=:1", "--bootstrap", "5", "--jobs", "1"])
    assert fit_options(args) == FitOptions(loss="squared", grid="full", bootstrap=5, n_jobs=1,
                                           bounds={"E0": (0, 2), "alpha": (None, 1)})
    with pytest.raises(SystemExit):
        p.parse_args(["--bound", "E0"])
    add_pooled_refit_argument(p)  # commands that backtest
    assert fit_options(p.parse_args([])) == FitOptions()
    assert fit_options(p.parse_args(["--pooled-refit", "target"])) == FitOptions(pooled_refit="target")

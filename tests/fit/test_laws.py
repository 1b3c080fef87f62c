"""The law registry: a law is one ``LawSpec`` and every stage reads it from the registry.

A toy law registered here (and removed after) shows up in the fits, the backtest,
figures 2 and 6, the report and ``--help`` without touching any other module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.analysis.backtest import backtest
from lm_eval_scaling.analysis.fits import fit_table
from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.analysis.points import passk_points
from lm_eval_scaling.cli import main
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.fit import fit_law
from lm_eval_scaling.fit.laws import LawSpec, get_law, law_names, register_law, unregister_law
from lm_eval_scaling.fit.laws.spec import stack
from tests.support import law_tables

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "examples" / "simulated"

#: y = E0 + D0 D^-gamma: the tokens-only law, as a plug-in would define it.
TOY = LawSpec(
    name="toy_tokens",
    param_names=("E0", "D0", "gamma"),
    covariates=("D",),
    formula="y = E0 + D0 * D^(-gamma)",
    design=lambda lc: stack(lc, 3, [{0: 1.0}, {1: 1.0, 2: -lc["D"]}]),
    log_params=("E0", "D0"),
    irreducible="E0",
    exponents=("gamma",),
    label="toy tokens",
    tex=r"y = E_0 + D_0 D^{-\gamma}",
    param_tex={"E0": r"$E_0$", "D0": r"$D_0$", "gamma": r"$\gamma$"},
)


@pytest.fixture
def toy_law() -> Iterator[LawSpec]:
    register_law(TOY)
    try:
        yield TOY
    finally:
        unregister_law(TOY.name)


def test_registry_holds_the_built_in_laws_in_order() -> None:
    assert law_names() == ("compute", "params_tokens", "gold", "direct_compute",
                           "direct_params_tokens", "direct_joint")
    assert [get_law(n).backtestable for n in law_names()] == [True] * 5 + [False]
    assert [get_law(n).per_k for n in law_names()] == [True] * 5 + [False]
    assert get_law("gold").needs_gold and not get_law("compute").needs_gold
    spec = get_law("params_tokens")
    assert [spec.role(p) for p in spec.param_names] == [
        "irreducible", "prefactor", "exponent", "prefactor", "exponent"]
    with pytest.raises(InputError, match="unknown law 'nope'; choose one of compute"):
        get_law("nope")


def test_registering_checks_the_spec(toy_law: LawSpec) -> None:
    assert law_names()[-1] == "toy_tokens"
    with pytest.raises(InputError, match="registered already"):
        register_law(toy_law)
    with pytest.raises(InputError, match="built in"):
        unregister_law("compute")
    with pytest.raises(InputError, match="field 'covariates'"):
        LawSpec(name="bad", param_names=("A",), covariates=("Z",), formula="y = A",
                design=lambda lc: stack(lc, 1, [{0: 1.0}]))
    with pytest.raises(InputError, match="field 'log_params' names unknown parameter"):
        LawSpec(name="bad", param_names=("A",), covariates=("C",), formula="y = A",
                design=lambda lc: stack(lc, 1, [{0: 1.0}]), log_params=("B",))


def test_the_toy_law_is_fitted_from_its_spec_alone(toy_law: LawSpec) -> None:
    """Oracle: data simulated from the toy law; the fit recovers its parameters."""
    rng = np.random.default_rng(0)
    D = np.geomspace(1e8, 1e12, 12)
    truth = {"E0": 0.5, "D0": 300.0, "gamma": 0.3}
    y = (truth["E0"] + truth["D0"] * D ** -truth["gamma"]) * np.exp(rng.normal(0, 1e-3, D.size))
    fit = fit_law("toy_tokens", y, D=D, k=1)
    assert fit.converged, fit.message
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=0.05)


def test_a_registered_law_reaches_fits_backtest_and_figures(toy_law: LawSpec) -> None:
    from lm_eval_scaling.plots.backtest import plot_parameter_trajectories
    from lm_eval_scaling.plots.laws import plot_parameters_vs_k

    counts, ladder = law_tables(n_samples=20_000, problems=40)
    points = passk_points(counts, ladder, ks=[1, 4])
    fits = fit_table(points, laws=["compute", "toy_tokens"])
    assert [(f.law, f.k) for f in fits] == [("compute", 1), ("compute", 4),
                                            ("toy_tokens", 1), ("toy_tokens", 4)]
    bt = backtest(points, laws=["compute", "toy_tokens"], options=FitOptions(n_jobs=1), fits=fits)
    assert set(bt.rows["law"]) == {"compute", "toy_tokens", "persistence", "trend"}
    assert {"D0", "gamma"} <= set(bt.rows.columns)
    assert {(f.law, f.k) for f in bt.full_fits} == {(f.law, f.k) for f in fits}

    fig2 = plot_parameters_vs_k(fits)
    titles2 = [ax.get_title(loc="left") for ax in fig2.axes]
    assert "toy tokens" in titles2
    assert any(r"$D_0$ (prefactor)" == ax.get_ylabel() for ax in fig2.axes)
    fig6 = plot_parameter_trajectories(bt.rows, bt.full_fits)
    assert "toy tokens" in [ax.get_title(loc="left") for ax in fig6.axes]
    assert any(r"$\gamma$ (exponent)" == ax.get_ylabel() for ax in fig6.axes)


def test_a_registered_law_reaches_the_report_and_help(toy_law: LawSpec, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from lm_eval_scaling.report import ReportOptions, build_report

    out = tmp_path / "r"
    build_report([SIM / "counts.csv"], out, ladder=SIM / "ladder.csv",
                 options=ReportOptions(ks=(1,), laws=("compute", "toy_tokens"), n_boot=0,
                                       dpi=60, fit=FitOptions(n_jobs=1)))
    fits = json.loads((out / "fits.json").read_text())
    assert {f["law"] for f in fits} == {"compute", "toy_tokens"}
    manifest = json.loads((out / "report.json").read_text())
    figures = {f["number"]: f for f in manifest["figures"]}
    assert not figures[2]["skipped"] and not figures[6]["skipped"]
    page = (out / "index.html").read_text()
    assert "toy_tokens" in page and "y = E0 + D0 * D^(-gamma)" in page
    assert "toy_tokens" in set(pd.read_csv(out / "backtest.csv")["law"])

    for command in ("fit", "backtest", "report"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "toy_tokens" in capsys.readouterr().out

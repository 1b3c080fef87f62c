"""fit_law against independent oracles.

Oracles: parameters recovered from data simulated from each law (with and without
noise, over a range of true values); ordinary least squares (numpy) for the laws that
are linear in their parameters; finite differences for the analytic gradient; the law
written out by hand for ``predict``; exact invariances of the laws (rescaling a
covariate only moves a prefactor).
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_eval_scaling.errors import FitError, InputError
from lm_eval_scaling.fit import FitResult, FitWarning, fit_law, get_law, law_names
from lm_eval_scaling.fit import core as fit_core
from lm_eval_scaling.fit._objective import Objective

RNG_SEED = 12345


def _ladder(n_sizes: int = 6, n_tokens: int = 6) -> tuple[np.ndarray, np.ndarray]:
    N = np.geomspace(1e7, 1e10, n_sizes)
    D = np.geomspace(1e9, 3e11, n_tokens)
    NN, DD = np.meshgrid(N, D)
    return NN.ravel(), DD.ravel()


def _simulate(law: str, p: dict[str, float], noise: float, seed: int = RNG_SEED):
    """(y, covariates) drawn from ``law`` with multiplicative log-normal noise."""
    rng = np.random.default_rng(seed)
    N, D = _ladder()
    C = 6 * N * D
    k = np.tile([1.0, 10.0, 100.0], N.size // 3 + 1)[: N.size]
    gold = np.geomspace(20.0, 120.0, N.size)
    if law == "compute":
        y = p["E0"] + p["C0"] * C ** -p["alpha"]
    elif law == "params_tokens":
        y = p["E0"] + p["N0"] * N ** -p["beta"] + p["D0"] * D ** -p["gamma"]
    elif law == "gold":
        y = p["xi0"] + p["K0"] * gold ** p["kappa"]
    elif law == "direct_compute":
        y = p["A"] * C ** -p["alpha"]
    elif law == "direct_params_tokens":
        y = p["A"] * N ** -p["alpha"] + p["B"] * D ** -p["beta"]
    else:  # direct_joint
        lc, lk = np.log(C), np.log(k)
        y = np.exp(np.log(p["A"]) + p["alpha"] * lc + p["beta"] * lk + p["delta"] * lc * lk)
    y = y * np.exp(rng.normal(0.0, noise, y.size))
    return y, {"C": C, "N": N, "D": D, "gold": gold, "k": k}


def _kw(law: str, cov: dict[str, np.ndarray], k: int) -> dict[str, object]:
    """Covariates for fit_law: the law's own, with k an int (or per point for direct_joint)."""
    out: dict[str, object] = {c: v for c, v in cov.items() if c != "k"}
    out["k"] = cov["k"] if law == "direct_joint" else k
    return out


TRUE = {
    "compute": [{"E0": 0.05, "C0": 300.0, "alpha": 0.15}, {"E0": 1.5, "C0": 2e4, "alpha": 0.25},
                {"E0": 0.2, "C0": 5e6, "alpha": 0.4}],
    "params_tokens": [{"E0": 0.1, "N0": 400.0, "beta": 0.34, "D0": 410.0, "gamma": 0.28},
                      {"E0": 1.0, "N0": 3e4, "beta": 0.5, "D0": 3e3, "gamma": 0.3}],
    "gold": [{"xi0": 0.5, "K0": 2e-4, "kappa": 2.0}, {"xi0": 2.0, "K0": 5e-3, "kappa": 1.5}],
    "direct_compute": [{"A": 1e4, "alpha": 0.2}, {"A": 50.0, "alpha": 0.05}],
    "direct_params_tokens": [{"A": 400.0, "alpha": 0.3, "B": 2e3, "beta": 0.35}],
    "direct_joint": [{"A": 1e6, "alpha": -0.3, "beta": -0.2, "delta": 0.002}],
}
CASES = [(law, p) for law, ps in TRUE.items() for p in ps]


@pytest.mark.parametrize(("law", "true"), CASES)
def test_recovers_parameters_without_noise(law: str, true: dict[str, float]) -> None:
    y, cov = _simulate(law, true, noise=0.0)
    fit = fit_law(law, y, **_kw(law, cov, 1))
    assert fit.converged, fit.message
    for name, value in true.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-4, abs=1e-7), name
    assert fit.objective < 1e-12


@pytest.mark.parametrize(("law", "true"), CASES)
def test_recovers_parameters_with_noise(law: str, true: dict[str, float]) -> None:
    y, cov = _simulate(law, true, noise=0.01)
    fit = fit_law(law, y, **_kw(law, cov, 10))
    assert fit.converged, fit.message
    spec = get_law(law)
    for name in spec.exponents:
        assert fit.params[name] == pytest.approx(true[name], rel=0.1, abs=2e-3), name
    # the fitted curve is within the noise of the truth everywhere on the data
    y_true, _ = _simulate(law, true, noise=0.0)
    assert np.max(np.abs(np.log(fit.fitted() / y_true))) < 0.02
    # standard errors exist and cover the truth within a generous multiple
    for name in spec.exponents:
        se = fit.stderr[name]
        assert np.isfinite(se) and se > 0
        assert abs(fit.params[name] - true[name]) < 6 * se + 1e-3


@pytest.mark.parametrize("law", ["direct_compute", "direct_joint"])
def test_linear_laws_squared_loss_equal_ols(law: str) -> None:
    y, cov = _simulate(law, TRUE[law][0], noise=0.05)
    lc, lk = np.log(cov["C"]), np.log(cov["k"])
    if law == "direct_compute":
        X = np.column_stack([np.ones_like(lc), -lc])
    else:
        X = np.column_stack([np.ones_like(lc), lc, lk, lc * lk])
    sol, *_ = np.linalg.lstsq(X, np.log(y), rcond=None)
    fit = fit_law(law, y, C=cov["C"], k=1 if law == "direct_compute" else cov["k"],
                  loss="squared")
    got = fit.theta
    np.testing.assert_allclose(got, sol, rtol=1e-6, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(law=st.sampled_from(law_names()), seed=st.integers(0, 10_000),
       loss=st.sampled_from(["huber", "squared"]))
def test_analytic_gradient_matches_finite_differences(law: str, seed: int, loss: str) -> None:
    spec = get_law(law)
    y, cov = _simulate(law, TRUE[law][0], noise=0.1, seed=seed)
    M = spec.design({c: np.log(cov[c]) for c in spec.covariates})
    obj = Objective(M=M, log_y=np.log(y), loss=loss, delta=0.05)
    rng = np.random.default_rng(seed)
    theta = spec.to_internal(TRUE[law][0]) + rng.normal(0, 0.05, spec.n_params)
    _, grad = obj.value_and_grad(theta.reshape(1, -1))
    numeric = _central_difference(lambda t: float(obj.value(t.reshape(1, -1))[0]), theta)
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-5, atol=1e-7 * (1 + np.abs(numeric).max()))


def _central_difference(f, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for j in range(x.size):
        h = 1e-6 * (1.0 + abs(x[j]))
        e = np.zeros_like(x)
        e[j] = h
        out[j] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def test_predict_matches_the_written_out_law() -> None:
    y, cov = _simulate("params_tokens", TRUE["params_tokens"][1], noise=0.02)
    fit = fit_law("params_tokens", y, N=cov["N"], D=cov["D"], k=1)
    p = fit.params
    N = np.array([1e8, 3e9, 1.2e10])
    D = np.array([2e10, 3e11, 1e12])
    want = p["E0"] + p["N0"] * N ** -p["beta"] + p["D0"] * D ** -p["gamma"]
    np.testing.assert_allclose(fit.predict(N=N, D=D), want, rtol=1e-12)
    with pytest.raises(InputError, match="missing"):
        fit.predict(N=N)
    with pytest.raises(InputError, match="finite and > 0"):
        fit.predict(N=N, D=-D)


@settings(max_examples=15, deadline=None)
@given(log_scale=st.floats(-5, 5), seed=st.integers(0, 1000))
def test_rescaling_compute_only_moves_the_prefactor(log_scale: float, seed: int) -> None:
    """y = E0 + C0 C^-a = E0 + C0 s^a (sC)^-a: same fit, C0 multiplied by s^alpha."""
    y, cov = _simulate("compute", TRUE["compute"][1], noise=0.03, seed=seed)
    s = float(np.exp(log_scale))
    a = fit_law("compute", y, C=cov["C"], k=1)
    b = fit_law("compute", y, C=cov["C"] * s, k=1)
    assert a.converged and b.converged
    assert b.objective == pytest.approx(a.objective, rel=1e-6, abs=1e-12)
    assert b.params["alpha"] == pytest.approx(a.params["alpha"], rel=1e-4)
    assert b.params["C0"] == pytest.approx(a.params["C0"] * s ** a.params["alpha"], rel=1e-3)


def test_warm_start_reaches_the_same_optimum() -> None:
    y, cov = _simulate("params_tokens", TRUE["params_tokens"][0], noise=0.02)
    cold = fit_law("params_tokens", y, N=cov["N"], D=cov["D"], k=1, grid="full")
    warm = fit_law("params_tokens", y, N=cov["N"], D=cov["D"], k=1, x0=cold, grid="none")
    assert warm.converged
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7)
    many = fit_law("params_tokens", y, N=cov["N"], D=cov["D"], k=1, grid=300)
    assert many.objective == pytest.approx(cold.objective, rel=1e-6)
    assert many.n_starts == 300


def test_bounds_are_respected() -> None:
    y, cov = _simulate("compute", TRUE["compute"][0], noise=0.02)
    fit = fit_law("compute", y, C=cov["C"], k=1, bounds={"alpha": (0.2, 0.3)})
    assert 0.2 - 1e-12 <= fit.params["alpha"] <= 0.3 + 1e-12
    assert fit.params["alpha"] == pytest.approx(0.2)  # truth 0.15 lies below the box
    assert fit.converged, fit.message  # projected gradient is zero at the active bound
    with pytest.raises(InputError, match="no parameter"):
        fit_law("compute", y, C=cov["C"], bounds={"beta": (0, 1)})
    with pytest.raises(InputError, match="positive"):
        fit_law("compute", y, C=cov["C"], bounds={"C0": (-1, 1)})


def test_errors_name_law_field_and_value() -> None:
    y, cov = _simulate("compute", TRUE["compute"][0], noise=0.0)
    with pytest.raises(FitError, match=r"'compute'.*3 parameters.*2 point"):
        fit_law("compute", y[:2], C=cov["C"][:2])
    with pytest.raises(FitError, match=r"'params_tokens'.*covariate 'D'"):
        fit_law("params_tokens", y, N=cov["N"])
    bad = cov["C"].copy()
    bad[3] = -1.0
    with pytest.raises(FitError, match=r"'compute'.*field 'C'.*-1\.0.*position 3"):
        fit_law("compute", y, C=bad)
    with pytest.raises(FitError, match="field 'y'"):
        fit_law("compute", np.r_[0.0, y[1:]], C=cov["C"])
    with pytest.raises(InputError, match="unknown law 'nope'; choose one of compute"):
        fit_law("nope", y, C=cov["C"])
    with pytest.raises(InputError, match="grid"):
        fit_law("compute", y, C=cov["C"], grid="huge")
    with pytest.raises(InputError, match="x0"):
        fit_law("compute", y, C=cov["C"], grid="none")


def test_non_convergence_is_reported_and_warned(monkeypatch) -> None:
    """If the optimiser stops early the result says so (and warns); never silently."""
    y, cov = _simulate("compute", TRUE["compute"][0], noise=0.02)

    def no_progress(obj, theta0, box):
        return theta0, float(obj.value(theta0.reshape(1, -1))[0]), "stopped (test)"

    def no_prepolish(obj, theta, box, iterations=0):
        return theta, obj.value(theta)

    monkeypatch.setattr(fit_core, "_polish", no_progress)
    monkeypatch.setattr(fit_core, "batch_gauss_newton", no_prepolish)
    with pytest.warns(FitWarning, match="did not converge"):
        fit = fit_law("compute", y, C=cov["C"], k=3)
    assert not fit.converged
    assert "not converged" in fit.message and "stopped (test)" in fit.message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = fit_law("compute", y, C=cov["C"], k=3, warn=False)
    assert not quiet.converged


def test_result_is_immutable_and_inputs_untouched() -> None:
    y, cov = _simulate("compute", TRUE["compute"][0], noise=0.02)
    y0, c0 = y.copy(), cov["C"].copy()
    fit = fit_law("compute", y, C=cov["C"], k=1, labels=[f"m{i}" for i in range(y.size)])
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(cov["C"], c0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.converged = False  # type: ignore[misc]
    with pytest.raises(ValueError):
        fit.residuals[0] = 1.0
    assert fit.labels[0] == "m0" and fit.n_points == y.size


def test_to_dict_is_json_and_round_trips() -> None:
    y, cov = _simulate("gold", TRUE["gold"][0], noise=0.02)
    fit = fit_law("gold", y, gold=cov["gold"], k=100, task="gsm8k")
    data = json.loads(json.dumps(fit.to_dict()))
    for key in ("law", "k", "task", "params", "stderr", "ci", "converged", "n_points",
                "objective", "labels", "message"):
        assert key in data
    back = FitResult.from_dict(data)
    assert back.params == fit.params and back.k == 100 and back.task == "gsm8k"
    np.testing.assert_allclose(back.predict(gold=[50.0]), fit.predict(gold=[50.0]), rtol=1e-12)
    assert "law gold" in fit.report() and "kappa" in fit.report()


def test_irreducible_term_vanishes_cleanly() -> None:
    """A pure power law: E0 goes to (effectively) zero and the fit still converges."""
    C = np.geomspace(1e15, 1e22, 30)
    y = 1e4 * C ** -0.25
    fit = fit_law("compute", y, C=C, k=1000)
    assert fit.converged, fit.message
    assert fit.params["E0"] < 1e-12 * y.min()
    assert fit.params["alpha"] == pytest.approx(0.25, rel=1e-5)

"""Residual and parametric bootstrap of a fit (where only y is known)."""

from __future__ import annotations

import numpy as np
import pytest

from lm_eval_scaling.errors import InputError
from lm_eval_scaling.fit import bootstrap_fit, fit_law

TRUE = {"E0": 0.3, "C0": 5e3, "alpha": 0.22}


def _data(noise: float, n: int = 40, seed: int = 1):
    rng = np.random.default_rng(seed)
    C = np.geomspace(1e16, 1e22, n)
    y = (TRUE["E0"] + TRUE["C0"] * C ** -TRUE["alpha"]) * np.exp(rng.normal(0, noise, n))
    return y, C


@pytest.mark.parametrize("kind", ["residual", "parametric"])
def test_bootstrap_ci_brackets_fit_and_truth_and_is_seeded(kind: str) -> None:
    y, C = _data(0.03)
    fit = fit_law("compute", y, C=C, k=1)
    a = bootstrap_fit(fit, n_boot=60, kind=kind, seed=5, n_jobs=1)
    b = bootstrap_fit(fit, n_boot=60, kind=kind, seed=5, n_jobs=2)
    assert a.ci == b.ci and a.n_boot == b.n_boot >= 55
    lo, hi = a.ci["alpha"]
    assert lo < fit.params["alpha"] < hi
    assert lo < TRUE["alpha"] < hi
    assert a.params == fit.params and a.ci_level == 0.95
    assert a.bootstrap_params is not None and a.bootstrap_params.shape == (a.n_boot, 3)
    assert "95% CI" in a.report()


def test_bootstrap_interval_shrinks_with_noise() -> None:
    wide = bootstrap_fit(fit_law("compute", *_data(0.05)[:1], C=_data(0.05)[1], k=1),
                         n_boot=40, seed=0)
    narrow = bootstrap_fit(fit_law("compute", *_data(0.005)[:1], C=_data(0.005)[1], k=1),
                           n_boot=40, seed=0)
    width = {f: f.ci["alpha"][1] - f.ci["alpha"][0] for f in (wide, narrow)}
    assert width[narrow] < 0.3 * width[wide]


def test_bootstrap_argument_errors() -> None:
    y, C = _data(0.03)
    fit = fit_law("compute", y, C=C, k=1)
    with pytest.raises(InputError, match="kind"):
        bootstrap_fit(fit, kind="jackknife")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="ci"):
        bootstrap_fit(fit, ci=1.5)
    with pytest.raises(InputError, match=">= 1"):
        bootstrap_fit(fit, n_boot=0)

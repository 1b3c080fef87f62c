"""The direct compute law ``y = A C^-alpha`` (no irreducible term)."""

from .spec import LawSpec, stack

LAW = LawSpec(
    name="direct_compute",
    param_names=("A", "alpha"),
    covariates=("C",),
    formula="y = A * C^(-alpha)",
    # theta = (a, alpha): term a - alpha log C
    design=lambda lc: stack(lc, 2, [{0: 1.0, 1: -lc["C"]}]),
    log_params=("A",),
    exponents=("alpha",),
    prefactors=("A",),
    chance_normalised=True,
    label="direct compute",
    tex=r"y = A\,C^{-\alpha}",
    param_tex={"A": r"$A$", "alpha": r"$\alpha$"},
)

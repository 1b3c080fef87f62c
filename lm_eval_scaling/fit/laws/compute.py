"""The compute law ``y = E0 + C0 C^-alpha`` (pretraining compute C = 6ND)."""

from .spec import LawSpec, stack

LAW = LawSpec(
    name="compute",
    param_names=("E0", "C0", "alpha"),
    covariates=("C",),
    formula="y = E0 + C0 * C^(-alpha)",
    # theta = (e, a, alpha): terms e ; a - alpha log C
    design=lambda lc: stack(lc, 3, [{0: 1.0}, {1: 1.0, 2: -lc["C"]}]),
    log_params=("E0", "C0"),
    irreducible="E0",
    exponents=("alpha",),
    prefactors=("C0",),
    label="compute",
    tex=r"y = E_0 + C_0\,C^{-\alpha}",
    param_tex={"E0": r"$E_0$", "C0": r"$C_0$", "alpha": r"$\alpha$"},
)

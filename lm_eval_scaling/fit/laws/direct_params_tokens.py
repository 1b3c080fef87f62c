"""The direct params+tokens law ``y = A N^-alpha + B D^-beta`` (no irreducible term)."""

from .spec import LawSpec, stack

LAW = LawSpec(
    name="direct_params_tokens",
    param_names=("A", "alpha", "B", "beta"),
    covariates=("N", "D"),
    formula="y = A * N^(-alpha) + B * D^(-beta)",
    # theta = (a, alpha, b, beta): terms a - alpha log N ; b - beta log D
    design=lambda lc: stack(lc, 4, [{0: 1.0, 1: -lc["N"]}, {2: 1.0, 3: -lc["D"]}]),
    log_params=("A", "B"),
    exponents=("alpha", "beta"),
    prefactors=("A", "B"),
    chance_normalised=True,
    label="direct params+tokens",
    tex=r"y = A N^{-\alpha} + B D^{-\beta}",
    param_tex={"A": r"$A$", "alpha": r"$\alpha$", "B": r"$B$", "beta": r"$\beta$"},
)

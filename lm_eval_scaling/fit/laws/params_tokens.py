"""The params+tokens law ``y = E0 + N0 N^-beta + D0 D^-gamma`` (parameters N, tokens D)."""

from .spec import LawSpec, stack

LAW = LawSpec(
    name="params_tokens",
    param_names=("E0", "N0", "beta", "D0", "gamma"),
    covariates=("N", "D"),
    formula="y = E0 + N0 * N^(-beta) + D0 * D^(-gamma)",
    # theta = (e, a, beta, b, gamma): terms e ; a - beta log N ; b - gamma log D
    design=lambda lc: stack(lc, 5, [{0: 1.0}, {1: 1.0, 2: -lc["N"]}, {3: 1.0, 4: -lc["D"]}]),
    log_params=("E0", "N0", "D0"),
    irreducible="E0",
    exponents=("beta", "gamma"),
    prefactors=("N0", "D0"),
    label="params+tokens",
    tex=r"y = E_0 + N_0 N^{-\beta} + D_0 D^{-\gamma}",
    param_tex={"E0": r"$E_0$", "N0": r"$N_0$", "beta": r"$\beta$", "D0": r"$D_0$",
               "gamma": r"$\gamma$"},
)

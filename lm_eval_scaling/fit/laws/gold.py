"""The gold law ``y = xi0 + K0 gold^kappa`` with ``gold = -log GoldProb`` (the benchmark-mean
probability of the reference solutions)."""

from .spec import LawSpec, stack

LAW = LawSpec(
    name="gold",
    param_names=("xi0", "K0", "kappa"),
    covariates=("gold",),
    formula="y = xi0 + K0 * gold^kappa,  gold = -log GoldProb",
    # theta = (x, a, kappa): terms x ; a + kappa log gold
    design=lambda lc: stack(lc, 3, [{0: 1.0}, {1: 1.0, 2: lc["gold"]}]),
    log_params=("xi0", "K0"),
    irreducible="xi0",
    exponents=("kappa",),
    prefactors=("K0",),
    label="gold",
    tex=r"y = \xi_0 + K_0\,[-\log \mathrm{GoldProb}]^{\kappa}",
    param_tex={"xi0": r"$\xi_0$", "K0": r"$K_0$", "kappa": r"$\kappa$"},
)

"""The direct joint law ``log y = log A + alpha log C + beta log k + delta log C log k``:
one fit over every k (k is a covariate), so it is neither drawn per k nor backtested."""

from .spec import LawSpec, stack

LAW = LawSpec(
    name="direct_joint",
    param_names=("A", "alpha", "beta", "delta"),
    covariates=("C", "k"),
    formula="log y = log A + alpha log C + beta log k + delta log C log k",
    # theta = (a, alpha, beta, delta): term a + alpha log C + beta log k + delta log C log k
    design=lambda lc: stack(lc, 4, [{0: 1.0, 1: lc["C"], 2: lc["k"], 3: lc["C"] * lc["k"]}]),
    log_params=("A",),
    exponents=("alpha", "beta"),
    prefactors=("A",),
    signed=("alpha", "beta"),  # log y rises or falls with log C and log k
    chance_normalised=True,
    label="direct joint",
    tex=r"\log y = \log A + \alpha\log C + \beta\log k + \delta\log C\log k",
    param_tex={"A": r"$A$", "alpha": r"$\alpha$", "beta": r"$\beta$", "delta": r"$\delta$"},
    backtestable=False,
)

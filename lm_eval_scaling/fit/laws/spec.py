"""``LawSpec``: everything the package knows about one scaling law, in one value.

Every law is written in an internal parameterisation ``theta`` in which the model is

    log y_hat_i = logsumexp_t ( M_t[i, :] @ theta )

for a few *terms* ``t`` whose design rows ``M_t[i, :]`` depend only on the covariates.
Prefactors and irreducible terms are fitted in log space (``E0 = exp(e)``), so for the
compute law ``theta = (e, a, alpha)`` and the terms are ``e`` and ``a - alpha log C``.
This one form gives every law's value and exact Jacobian (softmax-weighted design rows),
vectorised over many starting points at once (:mod:`lm_eval_scaling.fit._objective`).
A law module builds its design tensor in one line with :func:`stack`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from ...errors import InputError

__all__ = ["COVARIATE_NAMES", "DesignBuilder", "LawSpec", "ParamRole", "stack"]

#: The covariates a law may use: compute, parameters, tokens, -log GoldProb, and k.
COVARIATE_NAMES: Final[tuple[str, ...]] = ("C", "N", "D", "gold", "k")

FloatArray = npt.NDArray[np.float64]
#: Builds the design tensor ``(T, n, P)`` from the logs of the covariates.
DesignBuilder = Callable[[Mapping[str, FloatArray]], FloatArray]
ParamRole = Literal["irreducible", "prefactor", "exponent", "interaction"]
_LOG_ZERO: Final = -700.0


@dataclass(frozen=True, kw_only=True)
class LawSpec:
    """A scaling law: its parameters, covariates, formula, design and how it is shown.

    ``log_params`` names the parameters fitted in log space (prefactors, irreducible
    terms); the others are fitted as they are.  ``irreducible`` is the parameter that
    plays the role of ``E0`` (``None`` for the direct laws); ``exponents`` the exponents
    (drawn on a linear axis).  ``label`` is the short display name (``params+tokens``),
    ``tex`` the formula in matplotlib mathtext and ``param_tex`` each parameter's symbol.
    ``backtestable``: the backtest forecasts a held-out checkpoint with it.
    ``prefactors``: the prefactor of every reducible term, in the design's term order
    (after the irreducible term, where there is one).  ``signed``: exponents that may
    take either sign (fits bound every other exponent below by 0).  ``chance_normalised``:
    the law models ``-log Q`` of pass@k normalised against the task's chance level,
    ``Q = (pass@k - chance) / (1 - chance)``, without the points within 5% of chance (the
    direct laws of arXiv 2512.08894).
    ``design`` builds the design tensor from the logs of the covariates (module doc).
    """

    name: str
    param_names: tuple[str, ...]
    covariates: tuple[str, ...]
    formula: str
    design: DesignBuilder = field(repr=False, compare=False)
    log_params: tuple[str, ...] = ()
    irreducible: str | None = None
    exponents: tuple[str, ...] = ()
    label: str = ""
    tex: str = ""
    param_tex: Mapping[str, str] = field(default_factory=dict)
    backtestable: bool = True
    prefactors: tuple[str, ...] = ()
    signed: tuple[str, ...] = ()
    chance_normalised: bool = False

    def __post_init__(self) -> None:
        where = f"law {self.name!r}"
        if not self.name or not self.name.isidentifier():
            raise InputError(f"LawSpec field 'name' must be an identifier, got {self.name!r}")
        if not self.param_names or len(set(self.param_names)) != len(self.param_names):
            raise InputError(f"{where}: field 'param_names' must be distinct names, got "
                             f"{self.param_names!r}")
        bad = [c for c in self.covariates if c not in COVARIATE_NAMES]
        if not self.covariates or bad:
            raise InputError(f"{where}: field 'covariates' must be among {COVARIATE_NAMES}, "
                             f"got {self.covariates!r}")
        for name in ("log_params", "exponents", "prefactors", "signed"):
            unknown = [p for p in getattr(self, name) if p not in self.param_names]
            if unknown:
                raise InputError(f"{where}: field {name!r} names unknown parameter(s) {unknown}")
        if self.irreducible is not None and self.irreducible not in self.log_params:
            raise InputError(f"{where}: field 'irreducible' must be one of log_params "
                             f"{self.log_params}, got {self.irreducible!r}")
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " "))
        object.__setattr__(self, "param_tex", dict(self.param_tex))

    # ------------------------------------------------------------------ facts

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    @property
    def title(self) -> str:
        """``params+tokens law``."""
        return f"{self.label} law"

    @property
    def per_k(self) -> bool:
        """Fitted once per k (False when k is a covariate: one fit over every k)."""
        return "k" not in self.covariates

    @property
    def needs_gold(self) -> bool:
        return "gold" in self.covariates

    def role(self, param: str) -> ParamRole:
        """What a parameter is: irreducible term, prefactor, exponent or interaction."""
        if param == self.irreducible:
            return "irreducible"
        if param in self.log_params:
            return "prefactor"
        return "exponent" if param in self.exponents else "interaction"

    def symbol(self, param: str) -> str:
        """The parameter's mathtext symbol (its name where none is given)."""
        return self.param_tex.get(param, param)

    # ---------------------------------------------------------- parameterisation

    def internal_index(self) -> tuple[npt.NDArray[np.bool_], tuple[str, ...]]:
        """Which internal coordinates are logs, and the internal names (``log_E0``, ...)."""
        is_log = np.array([p in self.log_params for p in self.param_names], dtype=bool)
        names = tuple(f"log_{p}" if lg else p for p, lg in zip(self.param_names, is_log))
        return is_log, names

    def to_internal(self, params: Mapping[str, float]) -> FloatArray:
        """Natural parameters (a mapping with every name) -> internal vector ``theta``."""
        missing = [p for p in self.param_names if p not in params]
        if missing:
            raise InputError(f"law {self.name!r}: parameter(s) {missing} missing from "
                             f"{sorted(params)}")
        out = np.empty(self.n_params)
        for j, p in enumerate(self.param_names):
            v = float(params[p])
            if not np.isfinite(v) or (p in self.log_params and v < 0):
                raise InputError(f"law {self.name!r}: parameter {p!r} must be finite"
                                 f"{' and >= 0' if p in self.log_params else ''}, got {v!r}")
            if p in self.log_params:
                # E0 = 0 is the limit exp(-inf): represent it by a start far below any scale.
                out[j] = np.log(v) if v > 0 else _LOG_ZERO
            else:
                out[j] = v
        return out

    def pivot_prefactors(self, theta: npt.ArrayLike,
                         pivot: Mapping[str, float]) -> dict[str, float]:
        """Each reducible term's value at the covariates ``pivot`` (e.g. the data's median),
        named ``<prefactor>_pivot``: ``C0_pivot = C0 * C_p^-alpha`` for the compute law.
        Unlike the raw prefactors (quoted at C = 1, far below any data) these are nearly
        uncorrelated with the exponents, so they are the ones to compare across fits."""
        th = np.asarray(theta, dtype=np.float64).reshape(-1)
        logs = {c: np.log(np.atleast_1d(np.asarray(pivot[c], dtype=np.float64)))
                for c in self.covariates}
        z = np.einsum("tnp,p->tn", self.design(logs), th)[:, 0]
        reducible = z[1:] if self.irreducible is not None else z
        with np.errstate(over="ignore"):
            return {f"{name}_pivot": float(np.exp(v))
                    for name, v in zip(self.prefactors, reducible)}

    def to_natural(self, theta: npt.ArrayLike) -> dict[str, float]:
        """Internal vector -> ``{name: value}``."""
        th = np.asarray(theta, dtype=np.float64).reshape(-1)
        is_log, _ = self.internal_index()
        with np.errstate(over="ignore"):
            vals = np.where(is_log, np.exp(np.where(is_log, th, 0.0)), th)
        return {p: float(v) for p, v in zip(self.param_names, vals)}


def stack(lc: Mapping[str, FloatArray], p: int,
          terms: list[dict[int, FloatArray | float]]) -> FloatArray:
    """Design tensor ``(len(terms), n, p)``: each term maps a parameter index to its
    column (or a constant); ``n`` is the number of points in ``lc``."""
    n = int(next(iter(lc.values())).shape[0])
    m = np.zeros((len(terms), n, p))
    for t, cols in enumerate(terms):
        for j, col in cols.items():
            m[t, :, j] = col
    return m

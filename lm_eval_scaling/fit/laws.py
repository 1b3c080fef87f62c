"""The scaling laws (SPEC.md sections 2 and 6) as log-sum-exp of terms linear in the parameters.

Every law is written in an internal parameterisation ``theta`` in which the model is

    log y_hat_i = logsumexp_t ( M_t[i, :] @ theta )

for a few *terms* ``t`` whose design rows ``M_t[i, :]`` depend only on the covariates.
Prefactors and irreducible terms are fitted in log space (``E0 = exp(e)``), so for the
compute law ``theta = (e, a, alpha)`` and the terms are ``e`` and ``a - alpha log C``.
This one form gives every law's value and exact Jacobian (softmax-weighted design rows),
vectorised over many starting points at once (:mod:`lm_eval_scaling.fit._objective`).

==========================  =====================================================  ==============
law                         formula                                                covariates
==========================  =====================================================  ==============
``compute``                 ``y = E0 + C0 C^-alpha``                               C
``params_tokens``           ``y = E0 + N0 N^-beta + D0 D^-gamma``                  N, D
``gold``                    ``y = xi0 + K0 gold^kappa``  (gold = -log GoldProb)    gold
``direct_compute``          ``y = A C^-alpha``                                     C
``direct_params_tokens``    ``y = A N^-alpha + B D^-beta``                         N, D
``direct_joint``            ``log y = log A + alpha log C + beta log k             C, k
                            + delta log C log k``
==========================  =====================================================  ==============
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from ..errors import InputError

__all__ = ["COVARIATE_NAMES", "LAW_NAMES", "CovariateName", "LawName", "LawSpec", "get_law"]

LawName = Literal["compute", "params_tokens", "gold", "direct_compute",
                  "direct_params_tokens", "direct_joint"]
CovariateName = Literal["C", "N", "D", "gold", "k"]

LAW_NAMES: Final[tuple[str, ...]] = ("compute", "params_tokens", "gold", "direct_compute",
                                     "direct_params_tokens", "direct_joint")
COVARIATE_NAMES: Final[tuple[str, ...]] = ("C", "N", "D", "gold", "k")

FloatArray = npt.NDArray[np.float64]
_LOG_ZERO: Final = -700.0
#: Builds the design tensor ``(T, n, P)`` from the logs of the covariates.
DesignBuilder = Callable[[Mapping[str, FloatArray]], FloatArray]


@dataclass(frozen=True)
class LawSpec:
    """A scaling law: its parameters, covariates and formula.

    ``log_params`` names the parameters fitted in log space (prefactors, irreducible
    terms); the rest (exponents) are fitted as they are.  ``irreducible`` is the
    parameter that plays the role of ``E0`` (``None`` for the direct laws).
    """

    name: str
    param_names: tuple[str, ...]
    covariates: tuple[str, ...]
    n_params: int
    formula: str
    log_params: tuple[str, ...] = ()
    irreducible: str | None = None
    exponents: tuple[str, ...] = ()
    _design: DesignBuilder | None = field(default=None, repr=False, compare=False)

    def design(self, log_covariates: Mapping[str, FloatArray]) -> FloatArray:
        """Design tensor ``M`` of shape ``(terms, n_points, n_params)`` (see module doc)."""
        if self._design is None:  # pragma: no cover - every registered law has one
            raise InputError(f"law {self.name!r} has no design")
        return self._design(log_covariates)

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

    def to_natural(self, theta: npt.ArrayLike) -> dict[str, float]:
        """Internal vector -> ``{name: value}``."""
        th = np.asarray(theta, dtype=np.float64).reshape(-1)
        is_log, _ = self.internal_index()
        with np.errstate(over="ignore"):
            vals = np.where(is_log, np.exp(np.where(is_log, th, 0.0)), th)
        return {p: float(v) for p, v in zip(self.param_names, vals)}


# ------------------------------------------------------------------------- designs


def _stack(n: int, p: int, terms: list[dict[int, FloatArray | float]]) -> FloatArray:
    """Design tensor from ``terms``: each a mapping param index -> column (or constant)."""
    m = np.zeros((len(terms), n, p))
    for t, cols in enumerate(terms):
        for j, col in cols.items():
            m[t, :, j] = col
    return m


def _n(lc: Mapping[str, FloatArray]) -> int:
    return int(next(iter(lc.values())).shape[0])


def _compute_design(lc: Mapping[str, FloatArray]) -> FloatArray:
    # theta = (e, a, alpha): terms e ; a - alpha log C
    return _stack(_n(lc), 3, [{0: 1.0}, {1: 1.0, 2: -lc["C"]}])


def _params_tokens_design(lc: Mapping[str, FloatArray]) -> FloatArray:
    # theta = (e, a, beta, b, gamma): terms e ; a - beta log N ; b - gamma log D
    return _stack(_n(lc), 5, [{0: 1.0}, {1: 1.0, 2: -lc["N"]}, {3: 1.0, 4: -lc["D"]}])


def _gold_design(lc: Mapping[str, FloatArray]) -> FloatArray:
    # theta = (x, a, kappa): terms x ; a + kappa log gold
    return _stack(_n(lc), 3, [{0: 1.0}, {1: 1.0, 2: lc["gold"]}])


def _direct_compute_design(lc: Mapping[str, FloatArray]) -> FloatArray:
    # theta = (a, alpha): term a - alpha log C
    return _stack(_n(lc), 2, [{0: 1.0, 1: -lc["C"]}])


def _direct_params_tokens_design(lc: Mapping[str, FloatArray]) -> FloatArray:
    # theta = (a, alpha, b, beta): terms a - alpha log N ; b - beta log D
    return _stack(_n(lc), 4, [{0: 1.0, 1: -lc["N"]}, {2: 1.0, 3: -lc["D"]}])


def _direct_joint_design(lc: Mapping[str, FloatArray]) -> FloatArray:
    # theta = (a, alpha, beta, delta): term a + alpha log C + beta log k + delta log C log k
    return _stack(_n(lc), 4, [{0: 1.0, 1: lc["C"], 2: lc["k"], 3: lc["C"] * lc["k"]}])


_LAWS: Final[dict[str, LawSpec]] = {
    spec.name: spec
    for spec in (
        LawSpec("compute", ("E0", "C0", "alpha"), ("C",), 3,
                "y = E0 + C0 * C^(-alpha)", ("E0", "C0"), "E0", ("alpha",), _compute_design),
        LawSpec("params_tokens", ("E0", "N0", "beta", "D0", "gamma"), ("N", "D"), 5,
                "y = E0 + N0 * N^(-beta) + D0 * D^(-gamma)", ("E0", "N0", "D0"), "E0",
                ("beta", "gamma"), _params_tokens_design),
        LawSpec("gold", ("xi0", "K0", "kappa"), ("gold",), 3,
                "y = xi0 + K0 * gold^kappa,  gold = -log GoldProb", ("xi0", "K0"), "xi0",
                ("kappa",), _gold_design),
        LawSpec("direct_compute", ("A", "alpha"), ("C",), 2,
                "y = A * C^(-alpha)", ("A",), None, ("alpha",), _direct_compute_design),
        LawSpec("direct_params_tokens", ("A", "alpha", "B", "beta"), ("N", "D"), 4,
                "y = A * N^(-alpha) + B * D^(-beta)", ("A", "B"), None, ("alpha", "beta"),
                _direct_params_tokens_design),
        LawSpec("direct_joint", ("A", "alpha", "beta", "delta"), ("C", "k"), 4,
                "log y = log A + alpha log C + beta log k + delta log C log k", ("A",), None,
                ("alpha", "beta", "delta"), _direct_joint_design),
    )
}


def get_law(name: str) -> LawSpec:
    """The :class:`LawSpec` called ``name``; :class:`InputError` listing the choices otherwise."""
    spec = _LAWS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise InputError(f"unknown law {name!r}; choose one of {', '.join(LAW_NAMES)}")
    return spec

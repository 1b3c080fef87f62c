"""Compute-optimal envelope of the parameters+tokens law, pure numerics.

The law (fitted separately for every k) is::

    y(N, D) = E0 + N0 * N^-beta + D0 * D^-gamma          (Chinchilla's A = N0, B = D0)

Minimising it over the split of a budget ``C = 6 N D`` gives, with ``s = beta + gamma``::

    N*(C) = (beta N0 / (gamma D0))^(1/s) * (C/6)^(gamma/s)
    D*(C) = C / (6 N*(C))
    y*(C) = E0 + C0 * C^-alpha,       alpha = beta gamma / s
    C0    = s * (N0/gamma)^(gamma/s) * (D0/beta)^(beta/s) * 6^alpha

so the compute law is the lower envelope of the params+tokens law.  A run that uses
``N = r N*(C)`` parameters (misallocation ratio ``r``) has its reducible loss multiplied
by the penalty::

    Phi(r) = (gamma r^-beta + beta r^gamma) / s  >= 1   (= 1 iff r = 1)
           = 1 + (beta gamma / 2) (ln r)^2 + (beta gamma (gamma - beta) / 6) (ln r)^3 + ...

and reaches the loss that a compute-optimal run reaches with ``C_eff = C Phi(r)^(-1/alpha)``.

**Fixed tokens-per-parameter ratio** (``D = kappa N`` for a constant ``kappa``, so
``N = sqrt(C / (6 kappa))``).  The reducible loss is then a sum of two powers of C::

    y - E0 = N0 (C/(6 kappa))^(-beta/2) + D0 kappa^-gamma (C/(6 kappa))^(-gamma/2)

It is *not* a single power law.  Its local log-log slope
``-d ln(y - E0) / d ln C`` (:meth:`Envelope.fixed_ratio_local_exponent`) is the average
of ``beta/2`` and ``gamma/2`` weighted by the two terms' shares of the reducible loss:
it tends to ``min(beta, gamma)/2`` as ``C -> inf`` (the "degraded exponent",
:attr:`Envelope.fixed_ratio_exponent`), to ``max(beta, gamma)/2`` as ``C -> 0``, and
equals ``alpha`` exactly at the budget where the fixed-ratio path crosses the ridge
(``kappa = D*(C)/N*(C)``).  Before that crossing it is *steeper* than ``alpha`` (the
run is moving towards the ridge), after it shallower.  So "a fixed ratio degrades the
exponent to ``min(beta, gamma)/2``" holds asymptotically only, with a relative correction of order ``C^-|gamma - beta|/2``
(slow when the exponents are close); ``min(beta, gamma)/2 <= alpha`` with equality
iff ``beta == gamma``, in which case a fixed ratio is parallel to the ridge and costs
only the constant factor ``Phi(r)``.  More generally, along any power-law path
``N ∝ C^a`` the asymptotic exponent is ``min(a beta, (1 - a) gamma)``
(:meth:`Envelope.path_exponent`), maximal (``= alpha``) at ``a = gamma/s``; the
fixed ratio is ``a = 1/2``.

Everything is evaluated in log space, so budgets far beyond float range of the
intermediate powers are fine; ``Phi(r) - 1`` is computed without cancellation
(:meth:`Envelope.penalty_excess`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from ..errors import InputError, ParameterError
from ..fit.laws import get_law

__all__ = [
    "FLOPS_PER_PARAM_TOKEN",
    "Envelope",
    "envelope",
    "envelope_from_fit",
]

logger = logging.getLogger(__name__)

#: Parameter names of the params+tokens law, in the law's order.
_PARAMS: Final = get_law("params_tokens").param_names
#: ``C = 6 N D`` (training FLOPs per parameter per token).
FLOPS_PER_PARAM_TOKEN: Final = 6.0
_LOG6: Final = math.log(FLOPS_PER_PARAM_TOKEN)
_LOG_HUGE: Final = math.log(float(np.finfo(np.float64).max))
_LOG_TINY: Final = math.log(float(np.finfo(np.float64).tiny))

#: A float for scalar arguments, an ndarray (broadcast shape) otherwise.
FloatOrArray = float | npt.NDArray[np.float64]

# |x| below which e^x - 1 - x is summed as a Taylor series (terms up to x^14/14!).
_SERIES_CUTOFF: Final = 0.25
_SERIES_TERMS: Final = 14


@dataclass(frozen=True)
class Envelope:
    """The compute-optimal envelope of ``y = E0 + N0 N^-beta + D0 D^-gamma``.

    Build it with :func:`envelope` or :func:`envelope_from_fit`.  ``alpha`` and ``C0``
    are derived (the compute law's exponent and prefactor).  Every method is
    vectorised: array arguments broadcast with numpy rules and give float64 arrays;
    scalar arguments give floats.  Budgets ``C``, sizes ``N``, ``D`` and ratios ``r``
    must be finite and > 0 (:class:`~lm_eval_scaling.errors.ParameterError` otherwise).
    """

    E0: float
    N0: float
    beta: float
    D0: float
    gamma: float
    alpha: float = field(init=False)
    C0: float = field(init=False)

    def __post_init__(self) -> None:
        for name in _PARAMS:
            value = _check_scalar(getattr(self, name), name, allow_zero=(name == "E0"))
            object.__setattr__(self, name, value)
        s = self.beta + self.gamma
        alpha = self.beta * self.gamma / s
        log_c0 = (
            math.log(s)
            + (self.gamma / s) * (math.log(self.N0) - math.log(self.gamma))
            + (self.beta / s) * (math.log(self.D0) - math.log(self.beta))
            + alpha * _LOG6
        )
        if not _LOG_TINY < log_c0 < _LOG_HUGE:
            raise ParameterError(
                "the derived compute-law prefactor C0 is outside the float64 range",
                name="C0", value=f"exp({log_c0:.6g})",
            )
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "C0", math.exp(log_c0))

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Envelope:
        """Build from a mapping with exactly the keys ``E0, N0, beta, D0, gamma``.

        Values may be numbers or objects with a numeric ``.value`` (lmfit-style).
        """
        if not isinstance(params, Mapping):
            raise InputError(
                f"params must be a mapping with keys {', '.join(_PARAMS)}; "
                f"got {type(params).__name__}"
            )
        missing = [k for k in _PARAMS if k not in params]
        extra = sorted(str(k) for k in params if k not in _PARAMS)
        if missing or extra:
            msg = "params of the params_tokens law must be exactly " + ", ".join(
                _PARAMS
            )
            if missing:
                msg += f"; missing {', '.join(missing)}"
            if extra:
                msg += f"; unexpected {', '.join(extra)}"
            raise InputError(msg)
        values = {k: _param_value(params[k]) for k in _PARAMS}
        return cls(**values)

    # ---------------------------------------------------------------- derived scalars
    @property
    def n_opt_exponent(self) -> float:
        """``gamma / (beta + gamma)``: ``N*(C) ∝ C^n_opt_exponent`` (Chinchilla's ``a``)."""
        return self.gamma / (self.beta + self.gamma)

    @property
    def d_opt_exponent(self) -> float:
        """``beta / (beta + gamma)``: ``D*(C) ∝ C^d_opt_exponent`` (Chinchilla's ``b``)."""
        return self.beta / (self.beta + self.gamma)

    @property
    def fixed_ratio_exponent(self) -> float:
        """``min(beta, gamma) / 2``: the *asymptotic* (``C -> inf``) compute exponent of
        the reducible loss ``y - E0`` when tokens-per-parameter ``D/N`` is held fixed.

        Always ``<= alpha`` (equal iff ``beta == gamma``).  At finite C the local slope
        differs (it equals ``alpha`` where the fixed-ratio path crosses the ridge and
        exceeds it before); see :meth:`fixed_ratio_local_exponent` and the module notes.
        """
        return min(self.beta, self.gamma) / 2.0

    # ------------------------------------------------------------------------ the law
    def loss(self, N: npt.ArrayLike, D: npt.ArrayLike) -> FloatOrArray:
        """The params+tokens law ``E0 + N0 N^-beta + D0 D^-gamma``."""
        log_n = np.log(_check_array(N, "N"))
        log_d = np.log(_check_array(D, "D"))
        reducible = np.exp(math.log(self.N0) - self.beta * log_n) + np.exp(
            math.log(self.D0) - self.gamma * log_d
        )
        return _out(self.E0 + reducible)

    # ------------------------------------------------------------ compute-optimal ridge
    def n_opt(self, C: npt.ArrayLike) -> FloatOrArray:
        """Compute-optimal parameter count ``N*(C)``."""
        return _out(np.exp(self._log_n_opt(np.log(_check_array(C, "C")))))

    def d_opt(self, C: npt.ArrayLike) -> FloatOrArray:
        """Compute-optimal token count ``D*(C) = C / (6 N*(C))``."""
        log_c = np.log(_check_array(C, "C"))
        return _out(np.exp(log_c - _LOG6 - self._log_n_opt(log_c)))

    def tokens_per_param_opt(self, C: npt.ArrayLike) -> FloatOrArray:
        """Compute-optimal tokens per parameter ``D*(C) / N*(C)``."""
        log_c = np.log(_check_array(C, "C"))
        return _out(np.exp(log_c - _LOG6 - 2.0 * self._log_n_opt(log_c)))

    def loss_opt(self, C: npt.ArrayLike) -> FloatOrArray:
        """The envelope ``y*(C) = E0 + C0 C^-alpha`` (the law at ``(N*(C), D*(C))``)."""
        log_c = np.log(_check_array(C, "C"))
        return _out(self.E0 + np.exp(math.log(self.C0) - self.alpha * log_c))

    # ------------------------------------------------------------------ misallocation
    def ratio(self, N: npt.ArrayLike, C: npt.ArrayLike) -> FloatOrArray:
        """Misallocation ratio ``r = N / N*(C)`` of a run with N parameters and budget C.

        For a checkpoint with N parameters and D tokens pass ``C = 6 N D``.
        ``r > 1``: too many parameters (too few tokens) for the budget.
        """
        log_n = np.log(_check_array(N, "N"))
        log_c = np.log(_check_array(C, "C"))
        return _out(np.exp(log_n - self._log_n_opt(log_c)))

    def penalty(self, r: npt.ArrayLike) -> FloatOrArray:
        """``Phi(r) = (gamma r^-beta + beta r^gamma) / (beta + gamma)`` (>= 1, = 1 iff r = 1).

        ``loss(N, D) - E0 = Phi(r) * (loss_opt(C) - E0)`` with ``C = 6 N D``,
        ``r = ratio(N, C)``.
        """
        return _out(1.0 + self._penalty_excess(np.log(_check_array(r, "r"))))

    def penalty_excess(self, r: npt.ArrayLike) -> FloatOrArray:
        """``Phi(r) - 1`` without cancellation (> 0 for every float ``r != 1``)."""
        return _out(self._penalty_excess(np.log(_check_array(r, "r"))))

    def effective_compute(self, C: npt.ArrayLike, r: npt.ArrayLike) -> FloatOrArray:
        """``C_eff = C Phi(r)^(-1/alpha)``: the budget at which a compute-optimal run
        reaches the loss of a run with budget C and misallocation ratio r (<= C)."""
        c = _check_array(C, "C")
        log_phi = self._log_penalty(np.log(_check_array(r, "r")))
        # the factor Phi^(-1/alpha) <= 1 is formed first: no overflow, C exact at r = 1
        return _out(c * np.exp(-log_phi / self.alpha))

    # ---------------------------------------------------------- fixed ratio / power paths
    def fixed_ratio_local_exponent(
        self, C: npt.ArrayLike, tokens_per_param: npt.ArrayLike
    ) -> FloatOrArray:
        """Local slope ``-d ln(y - E0) / d ln C`` at budget C along ``D = kappa N``.

        Equals ``(beta w + gamma (1 - w)) / 2`` with ``w`` the share of ``N0 N^-beta``
        in the reducible loss; tends to :attr:`fixed_ratio_exponent` as ``C -> inf``
        and equals ``alpha`` where ``tokens_per_param == tokens_per_param_opt(C)``.
        """
        log_c = np.log(_check_array(C, "C"))
        log_k = np.log(_check_array(tokens_per_param, "tokens_per_param"))
        log_n = 0.5 * (log_c - _LOG6 - log_k)
        log_d = log_n + log_k
        log_term_n = math.log(self.N0) - self.beta * log_n
        log_term_d = math.log(self.D0) - self.gamma * log_d
        w = expit(log_term_n - log_term_d)
        return _out(0.5 * (self.beta * w + self.gamma * (1.0 - w)))

    def path_exponent(self, a: npt.ArrayLike) -> FloatOrArray:
        """Asymptotic compute exponent of ``y - E0`` along ``N ∝ C^a`` (so ``D ∝ C^(1-a)``):
        ``min(a beta, (1 - a) gamma)``.

        Maximal, and equal to ``alpha``, at ``a = gamma / (beta + gamma)`` (the ridge);
        ``a = 1/2`` is a fixed tokens-per-parameter ratio.  Values <= 0 mean the
        reducible loss does not vanish (``a >= 1``: tokens do not grow) or grows
        (``a <= 0``).
        """
        arr = np.asarray(a, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ParameterError("must be finite", name="a", value=a)
        return _out(np.minimum(arr * self.beta, (1.0 - arr) * self.gamma))

    # ------------------------------------------------------------------------- export
    def params(self) -> dict[str, float]:
        """The five law parameters (keys ``E0, N0, beta, D0, gamma``)."""
        return {k: float(getattr(self, k)) for k in _PARAMS}

    def to_dict(self) -> dict[str, float]:
        """Law parameters plus derived quantities, as plain floats (JSON-ready)."""
        out = self.params()
        out.update(
            alpha=self.alpha,
            C0=self.C0,
            n_opt_exponent=self.n_opt_exponent,
            d_opt_exponent=self.d_opt_exponent,
            fixed_ratio_exponent=self.fixed_ratio_exponent,
        )
        return out

    # ------------------------------------------------------------------------ private
    def _log_n_opt(self, log_c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        s = self.beta + self.gamma
        log_coef = (
            math.log(self.beta) + math.log(self.N0) - math.log(self.gamma) - math.log(self.D0)
        ) / s
        return log_coef + (self.gamma / s) * (log_c - _LOG6)

    def _penalty_excess(self, u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # Phi - 1 = (gamma (e^{-beta u} - 1) + beta (e^{gamma u} - 1)) / s; the linear
        # terms cancel exactly, leaving two non-negative terms e^x - 1 - x.
        s = self.beta + self.gamma
        g_n = _expm1_minus_x(-self.beta * u)
        g_d = _expm1_minus_x(self.gamma * u)
        return (self.gamma * g_n + self.beta * g_d) / s

    def _log_penalty(self, u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        excess = self._penalty_excess(u)
        s = self.beta + self.gamma
        # Large |u|: log-sum-exp form (no overflow); small: log1p keeps precision.
        large = np.logaddexp(
            math.log(self.gamma) - self.beta * u, math.log(self.beta) + self.gamma * u
        ) - math.log(s)
        with np.errstate(over="ignore", invalid="ignore"):
            small = np.log1p(excess)
        return np.where(excess < 1.0, small, large)


def envelope(E0: float, N0: float, beta: float, D0: float, gamma: float) -> Envelope:
    """The compute-optimal envelope of ``y = E0 + N0 N^-beta + D0 D^-gamma``.

    ``E0 >= 0``; ``N0, beta, D0, gamma > 0``; all finite (``ParameterError`` otherwise).
    """
    return Envelope(E0=E0, N0=N0, beta=beta, D0=D0, gamma=gamma)


def envelope_from_fit(fit: Mapping[str, Any] | Any) -> Envelope:
    """Envelope from a params_tokens fit: an object with a ``.params`` mapping (e.g. a
    ``FitResult``) or the mapping itself (keys ``E0, N0, beta, D0, gamma``).

    An object whose ``law`` attribute is not ``"params_tokens"`` is refused; one whose
    ``converged`` attribute is False is accepted with a logged warning.
    """
    if isinstance(fit, Mapping):
        return Envelope.from_params(fit)
    law = getattr(fit, "law", None)
    if law is not None and law != "params_tokens":
        raise InputError(f"the envelope needs a params_tokens fit, got a fit of law {law!r}")
    params = getattr(fit, "params", None)
    if not isinstance(params, Mapping):
        raise InputError(
            "envelope_from_fit needs a mapping of parameters or an object with a .params "
            f"mapping; got {type(fit).__name__}"
        )
    if getattr(fit, "converged", True) is False:
        logger.warning("building an envelope from a params_tokens fit that did not converge")
    return Envelope.from_params(params)


# ---------------------------------------------------------------------------- helpers
def _param_value(value: Any) -> Any:
    if not isinstance(value, (int, float, np.number)) and hasattr(value, "value"):
        return value.value
    return value


def _check_scalar(value: Any, name: str, *, allow_zero: bool) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError("must be a real number, not a bool", name=name, value=value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError("must be a real number", name=name, value=value) from None
    if not math.isfinite(x):
        raise ParameterError("must be finite", name=name, value=value)
    if x < 0 or (x == 0 and not allow_zero):
        raise ParameterError(
            "must be >= 0" if allow_zero else "must be > 0", name=name, value=value
        )
    return x


def _check_array(value: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError("must be real numbers", name=name, value=value) from None
    bad = ~(np.isfinite(arr) & (arr > 0))
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" (first bad entry at index {idx})" if arr.ndim else ""
        raise ParameterError(f"must be finite and > 0{where}", name=name,
                             value=float(arr[idx]))
    return arr


def _expm1_minus_x(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``e^x - 1 - x`` (>= 0) with full relative precision, elementwise."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    with np.errstate(over="ignore"):
        out = np.expm1(flat) - flat
    small = np.abs(flat) < _SERIES_CUTOFF
    if np.any(small):
        xs = flat[small]
        term = 0.5 * xs * xs
        total = term.copy()
        for k in range(3, _SERIES_TERMS + 1):
            term = term * xs / k
            total = total + term
        out[small] = total
    return out.reshape(x.shape)


def _out(arr: npt.NDArray[np.float64]) -> FloatOrArray:
    arr = np.asarray(arr, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr

"""The scaling laws, one module per law, and the registry every other stage reads.

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

A law is one module defining ``LAW = LawSpec(...)`` (:mod:`.spec`), listed in
``_MODULES`` below.  Fits, backtests, figures, the report and the command line's help
read laws only through :func:`get_law` and :func:`law_names`; :func:`register_law` adds
one at run time (a plug-in, or a test).
"""

from __future__ import annotations

from ...errors import InputError
from . import compute, direct_compute, direct_joint, direct_params_tokens, gold, params_tokens
from .spec import COVARIATE_NAMES, LawSpec

__all__ = ["COVARIATE_NAMES", "LawSpec", "get_law", "law_names", "register_law",
           "unregister_law"]

_MODULES = (compute, params_tokens, gold, direct_compute, direct_params_tokens, direct_joint)
_REGISTRY: dict[str, LawSpec] = {m.LAW.name: m.LAW for m in _MODULES}


def law_names() -> tuple[str, ...]:
    """Names of the registered laws, in registration order."""
    return tuple(_REGISTRY)


def get_law(name: str) -> LawSpec:
    """The :class:`LawSpec` called ``name``; :class:`InputError` listing the choices otherwise."""
    spec = _REGISTRY.get(name) if isinstance(name, str) else None
    if spec is None:
        raise InputError(f"unknown law {name!r}; choose one of {', '.join(_REGISTRY)}")
    return spec


def register_law(spec: LawSpec) -> LawSpec:
    """Add a law (its name must be new); returns it."""
    if not isinstance(spec, LawSpec):
        raise InputError(f"register_law takes a LawSpec, got {type(spec).__name__}")
    if spec.name in _REGISTRY:
        raise InputError(f"a law named {spec.name!r} is registered already")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_law(name: str) -> None:
    """Remove a law added by :func:`register_law` (the built-in laws stay)."""
    if any(m.LAW.name == name for m in _MODULES):
        raise InputError(f"law {name!r} is built in and cannot be removed")
    get_law(name)
    del _REGISTRY[name]

"""Scaling-law fits: arrays in, :class:`FitResult` out (no tables).

::

    from lm_eval_scaling.fit import fit_law, FitResult, get_law, law_names
    fit = fit_law("compute", y, C=compute, k=10)
    fit.params, fit.stderr, fit.converged, fit.predict(C=[1e22])

:func:`fit_law` fits one law (:mod:`.laws`, one module per law) to one response vector;
:func:`bootstrap_fit` gives residual/parametric bootstrap CIs where only ``y`` is known.
Fits of a points table (every law and k, the bootstrap over problems) live in
:mod:`lm_eval_scaling.analysis.fits`.  Names are imported lazily, so that reading the law
registry (e.g. for ``--help``) does not import the optimiser.
"""

from __future__ import annotations

from .. import lazy_exports

__all__ = ["FitResult", "FitWarning", "LawSpec", "bootstrap_fit", "fit_law", "get_law",
           "law_names", "register_law"]

# public name -> submodule that defines it
_EXPORTS = {
    "FitResult": "result",
    "FitWarning": "core",
    "fit_law": "core",
    "bootstrap_fit": "bootstrap",
    "LawSpec": "laws",
    "get_law": "laws",
    "law_names": "laws",
    "register_law": "laws",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

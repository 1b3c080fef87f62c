"""Scaling-law fits (SPEC.md sections 2, 3 and 6).

::

    from lm_eval_scaling.fit import fit_law, FitResult, get_law, LawSpec, LAW_NAMES
    fit = fit_law("compute", y, C=compute, k=10)
    fit.params, fit.stderr, fit.converged, fit.predict(C=[1e22])

:func:`fit_law` fits one law to one response vector; :mod:`.table` builds the points
from counts + ladder tables and fits every (law, k) (``passk_points``, ``fit_table``);
:func:`bootstrap_fit` gives residual/parametric bootstrap CIs where only ``y`` is known
(``fit_table(..., bootstrap=B)`` resamples problems instead).
"""

from __future__ import annotations

from .bootstrap import bootstrap_fit
from .core import FitWarning, fit_law
from .laws import LAW_NAMES, LawSpec, get_law
from .result import FitResult

__all__ = ["LAW_NAMES", "FitResult", "FitWarning", "LawSpec", "bootstrap_fit", "fit_law",
           "get_law"]

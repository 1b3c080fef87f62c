"""Publication-quality figures of pass@k scaling (matplotlib; no pyplot, no global state).

Every function takes result objects or tidy DataFrames and returns a
:class:`matplotlib.figure.Figure`; nothing here reads or writes files except
:func:`save_figure`.  Colours per k are a fixed function of k (:func:`k_color`), so a
given k looks the same in every figure.  Imported lazily: ``import
lm_eval_scaling.plots`` does not import matplotlib.

===========================================  ==========================================
figure                                       function
===========================================  ==========================================
1. -log pass@k vs compute, fit overlaid      :func:`plot_passk_vs_compute`
2. fitted parameters vs k, per law           :func:`plot_parameters_vs_k`
3. params+tokens law vs N and D              :func:`plot_params_tokens`
4. gold law vs -log GoldProb                 :func:`plot_gold_law`
5. backtest error vs compute ratio           :func:`plot_backtest_errors`
6. parameter trajectories across caps        :func:`plot_parameter_trajectories`
7. compute-optimal envelope and penalty      :func:`plot_envelope`
8. -log pass@k vs k per checkpoint           :func:`plot_passk_vs_k`
===========================================  ==========================================
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "plot_passk_vs_compute": "passk",
    "plot_passk_vs_k": "passk",
    "plot_parameters_vs_k": "laws",
    "plot_params_tokens": "laws",
    "plot_gold_law": "laws",
    "plot_backtest_errors": "backtest",
    "plot_parameter_trajectories": "backtest",
    "plot_envelope": "envelope",
    "save_figure": "_style",
    "figure_png_bytes": "_style",
    "k_color": "_style",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

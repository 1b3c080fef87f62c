"""Analyses on top of the pass@k points: the points table, fits per (law, k), backtests, envelope.

* :mod:`.points` -- one row per (checkpoint, k) with pass@k and its covariates.
* :mod:`.fits` -- one fit per (law, k) and the bootstrap over problems.
* :mod:`.backtest` -- fits below compute caps forecasting the held-out checkpoint.
* :mod:`.envelope` -- the compute-optimal envelope of the params+tokens law.
"""

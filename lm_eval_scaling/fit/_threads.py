"""Run small dense numerics with one BLAS thread.

L-BFGS-B calls BLAS on vectors of a few elements.  With a multi-threaded OpenBLAS on a
busy machine every such call can wait for sleeping worker threads: measured here, a
3-parameter fit took 1.2 s instead of 18 ms while another process kept the 2 cores
busy.  ``threadpoolctl`` (installed with scikit-learn, which lm-eval requires) limits
BLAS to one thread for the duration; without it this is a no-op.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

__all__ = ["single_blas_thread"]

_CONTROLLER: list[Any] = []


def single_blas_thread() -> AbstractContextManager[Any]:
    """Context manager limiting BLAS libraries to one thread (no-op without threadpoolctl)."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController())
    controller = _CONTROLLER[0]
    if controller is None:  # pragma: no cover
        return nullcontext()
    return controller.limit(limits=1, user_api="blas")

"""lm_eval hooks of the harness tasks (``gsm8k_passk``, ``gsm8k_gold_loglik``, ``arith_*``).

The task YAMLs (in :mod:`lm_eval_scaling.harness.tasks`, printed by
``lm-eval-scaling tasks-dir``) refer to these modules with ``!function``; lm_eval
imports them from the installed package.  Importing this package is cheap: lm_eval
itself is imported only by :mod:`.task` and :mod:`.filters`.

Modules
    prompt    the prompt format (constants shared with the tiny-ladder training data)
    answers   final-answer extraction and comparison
    data      dataset loading (Hub, local copy, synthetic arith) and doc processing
    filters   the lm_eval filter that keeps all N responses
    metrics   ``process_results`` hooks and aggregations (pass@k, gold NLL)
    options   ``--metadata`` options (n_samples, temperature, ...) and their validation
    task      ``ScalingTask``: the ConfigurableTask subclass applying the options
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TASK_NAMES", "tasks_dir"]

#: Tasks and groups defined by the YAMLs in :func:`tasks_dir`.
TASK_NAMES = (
    "gsm8k_passk", "gsm8k_gold_loglik", "gsm8k_gold_loglik_annotated", "gsm8k_scaling",
    "arith_passk", "arith_gold_loglik", "arith_scaling",
)


def tasks_dir() -> Path:
    """The directory of the task YAMLs (shipped inside the package), for ``--include_path``."""
    from ..errors import InputError

    path = Path(__file__).resolve().parent / "tasks"
    if not (path / "gsm8k_passk.yaml").is_file():
        raise InputError(
            f"{path}: task YAMLs not found; the package was installed without its data files "
            "(reinstall lm-eval-scaling)"
        )
    return path

"""lm_eval tasks of lm-eval-scaling and their hooks, in lm-eval's task-folder style.

The task YAMLs live in ``tasks/`` (printed by ``lm-eval-scaling tasks-dir``), one folder
per benchmark with ``include:`` bases::

    tasks/_base_yaml, _passk_yaml, _gold_yaml      shared bases (prompt, sampling, gold)
    tasks/gsm8k/   _gsm8k_yaml + gsm8k_passk.yaml, gsm8k_gold_loglik*.yaml, gsm8k_scaling.yaml
    tasks/arith/   _arith_yaml + arith_passk.yaml, arith_gold_loglik.yaml, arith_scaling.yaml

Each benchmark's hooks are one module here, named after its folder (:mod:`.gsm8k`,
:mod:`.arith`): data loading and ``process_docs``, which maps the benchmark's fields onto
the generic ones (``question``, ``solution``, ``final_answer``, ``problem_id``).  A new
benchmark (e.g. MATH) is one folder of YAMLs plus one module: :func:`benchmarks` and
:func:`task_names` are read from the folders.  Generic pieces, chosen
by name or path in the YAMLs: :mod:`.extractors` (the answer-extractor registry:
``strict``, ``flexible``, ``math_verify``), :mod:`.filters` (keeps all N responses),
:mod:`.metrics` (``process_results`` hooks and aggregations), :mod:`.prompt`,
:mod:`.options` (``--metadata`` options) and :mod:`.task` (``ScalingTask``).

lm_eval imports the hooks from the installed package (``!function`` with a dotted
path).  Importing this package is cheap: lm_eval itself is imported only by
:mod:`.task` and :mod:`.filters`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["benchmarks", "task_names", "tasks_dir"]

def tasks_dir() -> Path:
    """The directory of the task folders (shipped inside the package), for ``--include_path``
    (lm_eval searches it recursively)."""
    from ..errors import InputError

    path = Path(__file__).resolve().parent / "tasks"
    if not (path / "_base_yaml").is_file() or not any(path.glob("*/*.yaml")):
        raise InputError(
            f"{path}: task YAMLs not found; the package was installed without its data files "
            "(reinstall lm-eval-scaling)"
        )
    return path


def benchmarks() -> tuple[str, ...]:
    """The benchmark folders of :func:`tasks_dir`; each has its hooks in the module of the
    same name in this package."""
    return tuple(sorted({p.parent.name for p in tasks_dir().glob("*/*.yaml")}))


def task_names() -> tuple[str, ...]:
    """The tasks and groups the YAMLs of :func:`tasks_dir` define."""
    import yaml

    class _Loader(yaml.SafeLoader):
        """Reads ``!function`` tags as plain strings (nothing is imported)."""

    _Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    names = set()
    for path in tasks_dir().glob("*/*.yaml"):
        with path.open(encoding="utf-8") as fh:
            config = yaml.load(fh, Loader=_Loader)  # a SafeLoader subclass
        for key in ("task", "group"):
            if isinstance(config.get(key), str):
                names.add(config[key])
    return tuple(sorted(names))

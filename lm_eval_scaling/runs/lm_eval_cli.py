"""lm_eval's own ``run`` command with this package's tasks and models."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["lm_eval_run"]


def lm_eval_run(argv: Sequence[str]) -> None:
    """Run lm_eval's ``run`` subcommand on ``argv`` (its arguments, without ``run``), with
    the task directory of this package first on ``--include_path`` (a path given there is
    kept after it) and ``hf-repeats`` / ``vllm-repeats`` registered."""
    from lm_eval._cli.run import Run
    from lm_eval.utils import setup_logging

    from ..harness import tasks_dir
    from ..models import register_models

    setup_logging()
    register_models()
    parser = argparse.ArgumentParser(prog="lm-eval-scaling")
    Run.create(parser.add_subparsers(dest="command"))
    namespace = parser.parse_args(["run", *argv])
    ours = str(tasks_dir())
    given = namespace.include_path
    namespace.include_path = [ours] if not given else [ours, given]
    namespace.func(namespace)

"""``lm-eval-scaling tasks-dir``: print the directory of the task YAMLs (for ``--include_path``)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "tasks-dir",
        help="print the task directory to pass to lm_eval --include_path",
        description=(
            "Print the directory holding the lm_eval task YAMLs of this package "
            "(gsm8k_passk, gsm8k_gold_loglik, gsm8k_scaling, arith_*), e.g. "
            'lm_eval --include_path "$(lm-eval-scaling tasks-dir)" --tasks gsm8k_scaling ...'
        ),
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..harness import tasks_dir

    sys.stdout.write(f"{tasks_dir()}\n")
    return 0

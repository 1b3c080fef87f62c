"""``lm-eval-scaling run ...``: lm_eval's own ``run`` command, with this package's tasks on
the include path and its models (``hf-repeats``, ``vllm-repeats``) registered."""

from __future__ import annotations

import argparse
import logging

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "run",
        add_help=False,  # -h/--help go to lm_eval's parser
        help="lm_eval run with our tasks and models (hf-repeats, vllm-repeats); same arguments",
        description=(
            "Exactly lm_eval's `run` command (see `lm-eval-scaling run --help`), with the "
            "task directory of this package added to --include_path and the models "
            "hf-repeats and vllm-repeats registered."
        ),
    )
    p.set_defaults(handler=run, lm_eval_args=[])  # cli.main passes everything after `run`


def run(args: argparse.Namespace) -> int:
    from ..runs.lm_eval_cli import lm_eval_run

    if not args.quiet:
        logging.getLogger("lm_eval_scaling").setLevel(logging.INFO)
    lm_eval_run(args.lm_eval_args)
    return 0

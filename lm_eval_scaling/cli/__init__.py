"""The ``lm-eval-scaling`` command line.  ``main(argv) -> int`` is testable in-process.

Each subcommand lives in its own module exposing ``register(subparsers)``; the module
sets ``handler`` on its parser.  Heavy imports happen inside the handlers, so
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ..errors import LmEvalScalingError
from . import (
    _backtest,
    _collect,
    _envelope,
    _fit,
    _import,
    _ladder,
    _passk,
    _plan,
    _predict,
    _report,
    _rescore,
    _run,
    _tasks_dir,
)

__all__ = ["build_parser", "main"]

# in the order shown in --help, the order of the pipeline
_SUBCOMMANDS = (_tasks_dir, _run, _ladder, _collect, _import, _rescore, _passk, _plan, _fit,
                _backtest, _predict, _envelope, _report)

#: the subcommand whose arguments are lm_eval's (everything after it goes to lm_eval)
_PASS_THROUGH = "run"

log = logging.getLogger("lm_eval_scaling")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from ._common import EXIT_CODES_HELP

    parser = argparse.ArgumentParser(
        prog="lm-eval-scaling",
        epilog=EXIT_CODES_HELP,
        description=(
            "Pretraining scaling laws for generative evaluations: harness output -> "
            "pass@k -> scaling-law fits, backtests, compute-optimal envelope, report."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _SUBCOMMANDS:
        module.register(sub)
    for subparser in sub.choices.values():
        subparser.epilog = EXIT_CODES_HELP
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(argv) if argv is not None else sys.argv[1:]
    # ``run`` hands everything after it to lm_eval's own parser, untouched
    passed: list[str] | None = None
    for i, arg in enumerate(argv):
        if arg == _PASS_THROUGH:
            argv, passed = argv[:i + 1], argv[i + 1:]
            break
        if not arg.startswith("-"):
            break
    args = parser.parse_args(argv)
    if passed is not None:
        args.lm_eval_args = passed
    level = logging.ERROR if args.quiet else (logging.DEBUG if args.verbose > 1 else
                                             logging.INFO if args.verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except LmEvalScalingError as exc:
        sys.stderr.write(f"lm-eval-scaling {args.command}: error: {exc}\n")
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    except OSError as exc:  # an output that became unwritable mid-run (disk full, ...)
        from ..tables.files import os_error_message

        where = exc.filename or "output"
        sys.stderr.write(f"lm-eval-scaling {args.command}: error: "
                         f"{os_error_message(where, exc, 'I/O error')}\n")
        return 2

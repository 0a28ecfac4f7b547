"""The `ftd-nas` command: one thin subcommand module per capability, dispatched from a table."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

import ftd_nas
from ftd_nas.cli import curves, data, demo, distill, evaluate, experts, report, search, train
from ftd_nas.errors import FtdNasError

SUBCOMMANDS = [demo, experts, distill, evaluate, search, report, curves, train, data]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftd-nas",
        description="Neural architecture search on distilled proxy datasets (Flat Trajectory Distillation).")
    parser.add_argument("--version", action="version", version=f"ftd-nas {ftd_nas.__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more diagnostics (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    """Diagnostics of the library (logger `ftd_nas`) on stderr; other libraries stay at warnings."""
    import optuna

    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logger = logging.getLogger("ftd_nas")
    if not any(getattr(h, "_ftd_nas_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ftd_nas_cli = True
        logger.addHandler(handler)
    logger.setLevel(level)
    optuna.logging.set_verbosity(optuna.logging.DEBUG if verbose > 1 else optuna.logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # for subcommands that re-launch themselves (search --devices)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure_logging(args.verbose, args.quiet)
    try:
        return args.func(args)
    except FtdNasError as exc:
        print(f"ftd-nas {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ftd-nas {args.command}: interrupted", file=sys.stderr)
        return 130

"""The `ftd-nas` command: one thin subcommand module per capability, dispatched from a table."""

from __future__ import annotations

import argparse
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
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # for subcommands that re-launch themselves (search --devices)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except FtdNasError as exc:
        print(f"ftd-nas {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ftd-nas {args.command}: interrupted", file=sys.stderr)
        return 130

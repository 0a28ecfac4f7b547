"""`ftd-nas data`: sizes, classes, per-class counts and statistics of a dataset."""

from __future__ import annotations

import argparse

from ftd_nas.cli.common import add_data_args, add_overwrite_arg, data_config
from ftd_nas.data.summary import describe, format_description
from ftd_nas.io import refuse_overwrite, write_result_json

HELP = "describe a dataset: sizes, classes, per-class counts, statistics"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help=HELP, description=HELP + ".")
    add_data_args(p)
    p.add_argument("--json", metavar="OUT", help="also write the description as JSON")
    add_overwrite_arg(p, "the --json file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json:  # before any work: a finished result is replaced only when asked
        refuse_overwrite(args.json, args.overwrite, "JSON result")
    info = describe(data_config(args).load("cpu"))
    print(format_description(info))
    if args.json:
        write_result_json(args.json, info, args.overwrite)
    return 0

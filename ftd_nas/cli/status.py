"""`ftd-nas status`: where a search run stands, from any of its storages, while it runs or after."""

from __future__ import annotations

import argparse
import json

from ftd_nas.cli.common import RATE
from ftd_nas.search.status import format_status, run_status

HELP = "show a search run's progress: finished, running (worker, heartbeat), waiting, failed; throughput and ETA"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help=HELP, description=HELP + ". Reads the study without writing to it, so it is "
                       "safe beside running workers, on SQLite, a journal file or PostgreSQL.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run", metavar="RUN", help="search run directory (holds run.json)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="the study's storage when it is not the run folder's own file: a PostgreSQL URL with its "
                        "password (run.json records it without), or journal:PATH outside the folder")
    p.add_argument("--window", type=RATE, default=10.0, metavar="MINUTES",
                   help="throughput (and time to finish) over the last this many minutes")
    p.add_argument("--json", action="store_true", help="print the status as JSON for scripts")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    status = run_status(args.run, args.storage, args.window)
    print(json.dumps(status.to_dict(), indent=2) if args.json else format_status(status))
    return 0

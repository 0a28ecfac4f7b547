"""`ftd-nas demo`: the whole chain on the offline digits dataset, in minutes."""

from __future__ import annotations

import argparse

from ftd_nas.demo import DemoConfig, format_summary, run_demo

HELP = "run the whole chain (experts, FTD/MTT, evaluation, search, report) on offline digits"


def register(sub: argparse._SubParsersAction) -> None:
    d = DemoConfig()
    p = sub.add_parser("demo", help=HELP, description=HELP + ". Finishes in a few minutes on a laptop CPU; "
                       "re-running into the same --out resumes.")
    p.add_argument("--out", default=d.out, help=f"output folder (default {d.out})")
    p.add_argument("--device", default=d.device)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ftd_nas.cli import main  # the stages run in this process: the CLI is the one place that may call itself

    summary = run_demo(DemoConfig(out=args.out, device=args.device, progress=False if args.no_progress else None),
                       main=main)
    print(format_summary(summary))
    return 0

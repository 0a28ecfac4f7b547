"""`ftd-nas curves`: learning-curve figures from distillation logs, experts directories and training records."""

from __future__ import annotations

import argparse
from pathlib import Path

from ftd_nas.errors import ConfigError

HELP = "plot learning curves: distillation loss and learned lr, expert or training loss and accuracy"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("curves", help=HELP, description=HELP + ". Sources of one kind share a figure (e.g. FTD "
                       "and MTT distillations, or SGD and GSAM experts); writes STEM-distillation.{png,pdf} and/or "
                       "STEM-training.{png,pdf}.", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a distillation work directory, its log.jsonl or the proxy file; an experts directory; "
                        "or a `ftd-nas train --json` record")
    p.add_argument("--label", action="append", default=None, metavar="NAME",
                   help="legend label per PATH, in order (repeat the option; default: the file or folder name)")
    p.add_argument("--out", default=None, metavar="STEM",
                   help="output path without extension (default: named after the first PATH, beside it)")
    p.add_argument("--overwrite", action="store_true", help="replace figures written earlier (default: refuse)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ftd_nas.figures.curves import curve_paths, load_curves, write_curves
    from ftd_nas.io import refuse_overwrite

    labels = args.label or [None] * len(args.paths)
    if len(labels) != len(args.paths):
        raise ConfigError(f"{len(args.paths)} paths but {len(labels)} --label values; give one label per path")
    sources = [load_curves(path, label) for path, label in zip(args.paths, labels)]
    first = Path(args.paths[0])
    # named after what they describe: PROXY-curves-*, or curves-* inside an experts or work folder
    stem = args.out or str(first / "curves" if first.is_dir() else first.with_name(first.stem + "-curves"))
    for path in curve_paths(sources, stem):
        refuse_overwrite(path, args.overwrite, "figure")
    for path in write_curves(sources, stem):
        print(path)
    return 0

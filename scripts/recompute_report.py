#!/usr/bin/env python
"""Recompute a report's statistics from its candidates.csv alone (the per-candidate scores docs/ keeps for every
run), without the runs' studies: the truth's reliability, each group with its interval, the declared comparisons
with Holm's correction, the exploratory rest and what the design could detect.

    python scripts/recompute_report.py docs/experiment_nas_cpu/candidates.csv
    python scripts/recompute_report.py docs/nas_table/candidates.csv --primary "DSA IPC 10 vs DM IPC 10"
"""

from __future__ import annotations

import argparse
import sys

from ftd_nas.errors import FtdNasError
from ftd_nas.search.report import ceiling_lines, conclusion_lines, report_from_candidates


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", help="a report's candidates.csv")
    p.add_argument("--ks", type=int, nargs="+", default=[5, 10, 20], help="top-k sizes")
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--primary", action="append", default=None, metavar="'A vs B'")
    p.add_argument("--primary-metric", default="spearman")
    args = p.parse_args()
    try:
        report = report_from_candidates(args.table, tuple(args.ks), args.bootstrap, args.seed, args.primary,
                                        args.primary_metric)
    except FtdNasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(ceiling_lines(report) + conclusion_lines(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

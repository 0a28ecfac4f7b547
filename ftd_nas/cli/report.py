"""`ftd-nas report`: rank agreement of search runs with a ground truth (a real-data run or a published table), as
tables and figures."""

from __future__ import annotations

import argparse

from ftd_nas.cli.common import whole, add_overwrite_arg
from ftd_nas.paths import inside
from ftd_nas.search.report import build_report, write_report

HELP = ("compare proxy rankings with the real-data ranking: rho, tau, top-k, regret, the truth's reliability, "
        "groups with calibrated intervals, Holm-corrected verdicts on the declared comparisons, figures")


def top_k_sizes(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(k) for k in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers like 5,10,20, got {text!r}") from None
    if min(ks) < 2:
        raise argparse.ArgumentTypeError(f"top-k sizes must be at least 2 (a rank correlation needs two), got {text}")
    return ks


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help=HELP, description=HELP + ". Writes report.json (keys spearman, kendall, "
                       "topk, ...), report.csv, report.md (FTD Table 5 style) and PNG/PDF figures.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN", help="search run directories (proxies) to compare")
    p.add_argument("--label", action="append", default=None, metavar="NAME",
                   help="group label per RUN, in order (repeat the option; default: the proxy's method and IPC). "
                        "Runs with one label form a group: e.g. FTD proxies distilled with different seeds")
    p.add_argument("--truth", required=True, metavar="TRUTH",
                   help="the ground truth: a run directory of `search --proxy real`, or a truth folder made from a "
                        "published table by `ftd-nas truth` (it judges runs on data of its dataset family)")
    p.add_argument("--out", default=None, help="output directory (default: TRUTH/report)")
    p.add_argument("--proxy-metric", default="val_acc", choices=["val_acc", "test_acc"],
                   help="how a proxy ranks candidates")
    p.add_argument("--truth-metric", default="test_acc", choices=["val_acc", "test_acc"],
                   help="real-data accuracy the ranking is judged against")
    p.add_argument("--ks", default=(5, 10, 20), type=top_k_sizes, help="top-k sizes, comma-separated")
    p.add_argument("--bootstrap", type=whole(10), default=1000,
                   help="bootstrap samples over candidates (groups of one proxy, the per-run intervals, the truth's "
                        "reliability); p-values are analytic, so this sets the standard errors' precision only")
    p.add_argument("--primary", action="append", default=None, metavar="'A vs B'",
                   help="declare a primary comparison of two group labels (repeat the option); these alone get "
                        "verdicts, Holm-corrected over their number; everything else is exploratory. Default: each "
                        "method against the random subset of the same size")
    p.add_argument("--primary-metric", default="spearman",
                   help="the metric the primary comparisons are judged on (spearman, kendall, topK_by_real, "
                        "topK_by_proxy, regret)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="for runs whose study lives in a database server: its URL with the password, which run.json "
                        "does not keep (or set PGPASSWORD). Studies are only read, never written")
    p.add_argument("--allow-partial", action="store_true",
                   help="report even when a run and the truth share fewer than 5 finished candidates or under half "
                        "the space (the report is then marked partial)")
    add_overwrite_arg(p, "a report of other runs in --out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = args.out or inside(args.truth, "report", "the report folder of --truth")  # no link out of a received truth
    report = build_report(args.runs, args.truth, args.proxy_metric, args.truth_metric, args.ks, args.bootstrap,
                          storage=args.storage, allow_partial=args.allow_partial, labels=args.label,
                          primary=args.primary, primary_metric=args.primary_metric)
    written = write_report(report, out, overwrite=args.overwrite)
    print(written["table"])
    print(f"report and {len(written['figures'])} figure files in {written['dir']}")
    return 0

#!/usr/bin/env python
"""How well does `ftd-nas verify` estimate a proxy's whole-space rank agreement from a sample? Check it where the
answer is known: a proxy search and a full ground truth of the same space (e.g. scripts/experiment_nas_cpu.py).

For each sample size N, many stratified samples are drawn as verify draws them; the table gives how often the
90% interval of the estimated Spearman covers the whole-space Spearman, the mean estimate and interval width, and
the regret (points of real test accuracy) of verify's pick for shortlists of K = 3, 5, 10.

    python scripts/verify_coverage.py --proxy runs/nas_cpu/search/ftd_s0 --truth runs/nas_cpu/search/truth \\
        --samples 8 12 16 --draws 200 --out runs/verify_coverage.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ftd_nas.search.runner import load_run
from ftd_nas.search.verify import coverage_check


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--proxy", required=True, help="a search run over a proxy")
    p.add_argument("--truth", required=True, help="the full real-data run of the same space")
    p.add_argument("--samples", type=int, nargs="+", default=[8, 12, 16])
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--tops", type=int, nargs="+", default=[3, 5, 10])
    p.add_argument("--out", default="runs/verify_coverage.json")
    args = p.parse_args()
    proxy, truth = load_run(args.proxy), load_run(args.truth)
    rows = [coverage_check(proxy, truth, n, args.draws, tuple(args.tops)) for n in args.samples]
    print(f"whole-space Spearman {rows[0]['full_spearman']:.3f} over {rows[0]['candidates']} candidates; "
          f"{args.draws} draws per sample size")
    print("| N | coverage of the 90% interval | mean estimate | mean width | "
          + " | ".join(f"regret K={k} (mean / max)" for k in args.tops) + " |")
    print("|" + "---|" * (4 + len(args.tops)))
    for r in rows:
        regret = " | ".join(f"{100 * r['regret'][str(k)]['mean']:.1f} / {100 * r['regret'][str(k)]['max']:.1f}"
                            for k in args.tops)
        print(f"| {r['sample']} | {r['coverage']:.0%} | {r['mean_estimate']:.2f} | {r['mean_width']:.2f} | {regret} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"proxy": args.proxy, "truth": args.truth, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

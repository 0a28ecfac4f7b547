#!/usr/bin/env python
"""How well do `ftd-nas verify`'s estimates hold where the answer is known? Samples are drawn as verify draws them,
below each shortlist K, and each estimate is scored against what it describes (ftd_nas/search/verify_check.py):
how often each interval of Spearman and Kendall covers the agreement below the shortlist (the reported one and
the others considered), how often the bound on unverified candidates that beat the pick holds, and the pick's
regret (points of truth test accuracy below the space's best).

Real runs: several proxy searches sharing one full ground truth, each reported alone and pooled:

    python scripts/verify_coverage.py --truth runs/nas_cpu/search/truth \\
        --proxy runs/nas_cpu/search/ftd_s0 runs/nas_cpu/search/ftd_s1 runs/nas_cpu/search/mtt_s0 \\
        --samples 8 12 16 --draws 200 --out runs/verify_coverage.json

Small real populations cut from a large one (NAS-Bench-201's published truth and training-free proxies over 1,000
cells): 20 seeded subsets of 48 cells, the same cells for every proxy, each a population:

    python scripts/verify_coverage.py --truth runs/nb201_cpu/truth --proxy runs/nb201_cpu/search/zc-synflow \
        runs/nb201_cpu/search/zc-snip --subsets 20 --subset-size 48 --samples 8 12 16 --draws 100

Simulated populations (latent quality plus noise, `simulated_population`), several proxies per truth, pooled per
population and over all of them (docs/verify.md holds this table):

    python scripts/verify_coverage.py --simulate --sizes 48 200 720 --correlations 0.3 0.6 0.9 --proxies 4 \\
        --samples 8 16 32 --draws 150 --out runs/verify_coverage_simulated.json
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from itertools import product
from pathlib import Path
from typing import Callable

import numpy as np

from ftd_nas.search.verify_check import coverage_check, pool_checks, population_check, simulated_population


def _populations(args) -> list[tuple[str, list[tuple[str, Callable[[int], dict]]]]]:
    """(population label, [(proxy label, its check as a function of the sample size)]) for the runs or the
    simulation; each population simulated with its own seed."""
    common = dict(draws=args.draws, tops=tuple(args.tops), level=args.level, bootstrap=args.bootstrap)
    if not args.simulate:
        from ftd_nas.search.runner import load_run
        from ftd_nas.search.truth import load_truth

        truth = load_truth(args.truth)  # a real-data run or a published table (ftd-nas truth)
        runs = [(proxy, load_run(proxy)) for proxy in args.proxy]
        if not args.subsets:
            return [(args.truth, [(proxy, partial(coverage_check, run, truth, **common)) for proxy, run in runs])]
        return [(f"{args.subset_size} of its cells, subset {i}",
                 [(proxy, partial(coverage_check, run, truth, subset=(args.subset_size, args.seed + i), **common))
                  for proxy, run in runs])
                for i in range(args.subsets)]
    populations = []
    for index, (size, correlation) in enumerate(product(args.sizes, args.correlations)):
        val, test, proxies = simulated_population(size, correlation, args.proxies, seed=args.seed + index)
        if args.round_proxy:  # scores that tie, as accuracies on a finite validation split do
            proxies = [np.round(scores / args.round_proxy) * args.round_proxy for scores in proxies]
        populations.append((f"{size} candidates, r = {correlation}", [
            (f"proxy {i}", partial(population_check, scores, val, test, seed=1000 * i, **common))
            for i, scores in enumerate(proxies)]))
    return populations


def _row(label: str, check: dict, k: str) -> str:
    t = check["tops"][k]
    cover = " | ".join(" / ".join(f"{t['coverage'][stat][kind]:.0%}" for kind in check["intervals"])
                       for stat in ("spearman", "kendall"))
    width = " / ".join(f"{t['mean_width']['spearman'][kind]:.2f}" for kind in check["intervals"])
    bound = t["bound"]
    return (f"| {label} | {k} | {check['sample']} | {t['target']['spearman']:.2f} | {check['whole']['spearman']:.2f} | "
            f"{t['mean_estimate']['spearman']:.2f} | {cover} | {width} | {bound['held']:.0%} | {bound['mean']:.1f} / "
            f"{bound['mean_true']:.1f} / {bound['max_true']} | {100 * t['regret']['mean']:.1f} / "
            f"{100 * t['regret']['max']:.1f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--truth", help="the full real-data run of the space the proxies searched")
    p.add_argument("--proxy", nargs="+", help="search runs over proxies of that space (one or more)")
    p.add_argument("--simulate", action="store_true", help="simulated populations instead of runs")
    p.add_argument("--sizes", type=int, nargs="+", default=[48, 200, 720], help="simulated population sizes")
    p.add_argument("--correlations", type=float, nargs="+", default=[0.3, 0.6, 0.9],
                   help="simulated proxy-truth correlations (of the latent model)")
    p.add_argument("--proxies", type=int, default=4, help="simulated proxies per population (one truth)")
    p.add_argument("--seed", type=int, default=0, help="of the simulated populations, or the first subset's")
    p.add_argument("--round-proxy", type=float, default=None, metavar="STEP",
                   help="simulated proxies' scores rounded to multiples of STEP, so that they tie (1/509: accuracies "
                        "on 509 validation images; the simulated accuracies spread 0.05 per standard deviation)")
    p.add_argument("--subsets", type=int, default=0,
                   help="real runs: instead of all their candidates, this many seeded random subsets of "
                        "--subset-size candidates each (the same cells for every proxy), each a population")
    p.add_argument("--subset-size", type=int, default=48)
    p.add_argument("--samples", type=int, nargs="+", default=[8, 12, 16])
    p.add_argument("--tops", type=int, nargs="+", default=[3, 5, 10])
    p.add_argument("--draws", type=int, default=200, help="samples per proxy, shortlist and sample size")
    p.add_argument("--level", type=float, default=0.9)
    p.add_argument("--bootstrap", type=int, default=500)
    p.add_argument("--out", default="runs/verify_coverage.json")
    args = p.parse_args()
    if not args.simulate and not (args.truth and args.proxy):
        p.error("give --truth and one or more --proxy runs, or --simulate")
    if args.round_proxy is not None and not (args.simulate and args.round_proxy > 0):
        p.error("--round-proxy rounds simulated proxies' scores: give --simulate and a step above 0")
    if args.subsets and args.simulate:
        p.error("--subsets cuts populations from real runs; --simulate makes its own (--sizes)")
    started = time.perf_counter()
    populations = _populations(args)
    first = True
    everything = {}  # (K, N) -> every check, pooled over all populations at the end
    out = []
    for label, proxies in populations:
        for n in args.samples:
            checks = [(name, check(n)) for name, check in proxies]
            pooled = pool_checks([c for _, c in checks])
            if first:
                kinds = " / ".join(pooled["intervals"])
                print(f"{args.level:.0%} intervals ({kinds}; {pooled['reported']} is the one verify reports); "
                      f"{args.draws} draws per proxy, shortlist and sample size; bound: held / mean bound / mean "
                      "true count / max true count")
                print(f"| population | K | N | ρ below K | ρ whole | mean estimate | covers ρ ({kinds}) | covers τ "
                      f"({kinds}) | width of ρ ({kinds}) | bound held | bound / true / max true | regret mean / "
                      "max (pts) |")
                print("|" + "---|" * 12)
                first = False
            alone = [] if args.simulate or args.subsets else checks  # subsets: too many to print each
            rows = alone + [(f"{label}, pooled", pooled)]
            for k in map(str, args.tops):
                for name, c in rows:
                    print(_row(name, c, k))
                everything.setdefault((k, n), []).append(pooled)
            out.append({"population": label, "sample": n, "proxies": dict(checks), "pooled": pooled})
    if len(populations) > 1:
        for (k, n), checks in everything.items():
            print(_row("all populations, pooled", pool_checks(checks), k))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "results": out,
                                          "seconds": time.perf_counter() - started}, indent=2) + "\n")
    print(f"wrote {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""What bf16 autocast does to a ranking, and to the time (issue 28 item 2): the same candidates searched three times
on one proxy, side by side in one process: fp32 with seed 0, bf16 with seed 0, and fp32 with seed 1.

The bf16-vs-fp32 Spearman alone means little: two fp32 runs with different seeds disagree too. So the figure that
decides whether bf16 may become a default is bf16-vs-fp32 (same seed) next to fp32-vs-fp32 (other seed): bf16 is
harmless to a ranking when it moves it no more than a new seed does. On a CPU bf16 is slower (no bf16 units to
speak of); its speed is a GPU measurement, its ranking effect can be measured anywhere.

    python scripts/bench_precision.py                                   # convnet-tiny on digits, CPU, ~5 minutes
    python scripts/bench_precision.py --space convnet --sampler random --n-trials 48 --proxy random:50 \
        --dataset npz:../shared/datasets/cifar10_subset.npz --epochs 200 --device cuda

Prints and writes JSON (default runs/bench_precision.json): per run its seconds, the Spearman and Kendall
correlations of the validation-accuracy rankings, and per candidate the three accuracies.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

from ftd_nas.agreement.statistics import kendall, spearman
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.search import SearchConfig, SearchRecipe, run_search

RUNS = {"fp32_seed0": ("fp32", 0), "bf16_seed0": ("bf16", 0), "fp32_seed1": ("fp32", 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="convnet-tiny")
    p.add_argument("--proxy", default="random:10")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--sampler", default="grid")
    p.add_argument("--n-trials", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="runs/bench_precision.json")
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    device = resolve_device(args.device)
    scores, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        # warm-up, not timed: the first search alone pays for loading the data and torch's first kernels
        run_search(SearchConfig(space=args.space, proxy=args.proxy, out=str(Path(tmp) / "warm-up"),
                                dataset=args.dataset, device=str(device), sampler="random", n_trials=1,
                                progress=False, recipe=SearchRecipe(epochs=1)))
        only = None  # a budgeted sampler picks the candidates once (its draws follow the seed), then all train them
        for name, (precision, seed) in RUNS.items():
            sampled = only is None and args.sampler != "grid"
            cfg = SearchConfig(space=args.space, proxy=args.proxy, out=str(Path(tmp) / name), dataset=args.dataset,
                               device=str(device), sampler=args.sampler if sampled else "grid",
                               n_trials=args.n_trials if sampled else None, only=only, progress=False,
                               recipe=SearchRecipe(epochs=args.epochs, precision=precision, seed=seed))
            started = time.perf_counter()
            rows = run_search(cfg).rows
            seconds[name] = time.perf_counter() - started
            scores[name] = {r.candidate: r.val_acc for r in rows if r.val_acc is not None}
            only = only or sorted(r.candidate for r in rows)
            print(f"{name}: {len(scores[name])} candidates, {seconds[name]:.1f} s", flush=True)
    common = sorted(set.intersection(*(set(s) for s in scores.values())))
    vectors = {name: np.array([scores[name][c] for c in common]) for name in RUNS}
    pairs = {"bf16_vs_fp32_same_seed": ("bf16_seed0", "fp32_seed0"),
             "fp32_vs_fp32_other_seed": ("fp32_seed1", "fp32_seed0"),
             "bf16_vs_fp32_other_seed": ("bf16_seed0", "fp32_seed1")}
    agreement = {key: {"spearman": spearman(vectors[a], vectors[b]), "kendall": kendall(vectors[a], vectors[b])}
                 for key, (a, b) in pairs.items()}
    result = {"space": args.space, "proxy": args.proxy, "dataset": args.dataset, "epochs": args.epochs,
              "device": str(device), "candidates": len(common), "seconds": seconds,
              "bf16_over_fp32_time": seconds["bf16_seed0"] / seconds["fp32_seed0"], "agreement": agreement,
              "per_candidate": {c: {name: scores[name][c] for name in RUNS} for c in common},
              "environment": environment_info(device)}
    for key, values in agreement.items():
        print(f"{key}: Spearman {values['spearman']:.3f}, Kendall {values['kendall']:.3f}")
    print(f"time bf16 / fp32: {result['bf16_over_fp32_time']:.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()

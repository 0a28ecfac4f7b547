#!/usr/bin/env python
"""Seconds per candidate of each training-free scorer (`ftd-nas search --proxy zc:NAME`), with the registry's
batch sizes and choices, on one ConvNet (default width 32, depth 3: the CPU-sized family member).

Each scorer runs as the search runs it: the candidate built from a seed, a minibatch drawn from the real training
split with that seed (`search.scoring.minibatch`), then `score_network`, timed alone (what a zc row's `seconds`
holds). One untimed warm-up, then --reps timed calls with seeds 0..reps-1; the median and the range are reported,
with the time to build the network beside them (a search pays it once per candidate too). Prints a table and
writes JSON.

    python scripts/bench_zero_cost.py --dataset npz:../shared/datasets/cifar10_subset.npz   # CPU, about a minute
    python scripts/bench_zero_cost.py --dataset digits --width 8 --depth 2 --reps 3          # smoke test
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from ftd_nas.data import DataConfig
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.runtime import describe_threads, environment_info, resolve_device
from ftd_nas.search.scoring import minibatch
from ftd_nas.zero_cost import REGISTRY, score_network


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_scorer(name: str, spec: ModelSpec, train, device: torch.device, reps: int) -> dict:
    """Median, min and max seconds of scoring (and of building) one candidate, over seeds 0..reps-1."""
    config = REGISTRY[name]
    shape = (spec.channels, *spec.image_size)
    scores, build, score = [], [], []
    for seed in [0] + list(range(reps)):  # the first call warms up caches and kernels: not counted
        started = time.perf_counter()
        net = build_model(spec, seed=seed, device=device)
        built = time.perf_counter()
        images, labels = minibatch(train, config.batch_size, seed) if config.input == "real" else (None, None)
        _sync(device)
        began = time.perf_counter()
        value = score_network(net, config, images, labels, shape, seed)
        _sync(device)
        build.append(built - started)
        score.append(time.perf_counter() - began)
        scores.append(value)
    build, score, scores = build[1:], score[1:], scores[1:]
    return {"scorer": name, "config": config.to_dict(), "choices": config.describe(),
            "seconds_median": statistics.median(score), "seconds_min": min(score), "seconds_max": max(score),
            "build_seconds_median": statistics.median(build), "scores": scores}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="npz:../shared/datasets/cifar10_subset.npz")
    p.add_argument("--data-root", default="data")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--norm", default="instancenorm", help="the ConvNet's normalisation (default: the family's)")
    p.add_argument("--reps", type=int, default=5, help="timed calls per scorer, after one warm-up")
    p.add_argument("--scorers", nargs="+", default=list(REGISTRY), choices=list(REGISTRY))
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default="bench_zero_cost.json", help="where to write the figures")
    args = p.parse_args()
    device = resolve_device(args.device)
    data = DataConfig(args.dataset, data_root=args.data_root).load(device)
    spec = ModelSpec(width=args.width, depth=args.depth, norm=args.norm, channels=data.channels,
                     image_size=tuple(data.image_size), num_classes=data.num_classes)
    print(f"{spec.short_name()} on {data.name} ({data.channels}x{data.image_size[0]}x{data.image_size[1]}), "
          f"{device}, {describe_threads()}; median of {args.reps} after a warm-up")
    print(f"  {'scorer':<10} {'s / candidate':>13} {'range':>17} {'build s':>8}  choices")
    results = []
    for name in args.scorers:
        r = time_scorer(name, spec, data.train, device, args.reps)
        results.append(r)
        print(f"  {name:<10} {r['seconds_median']:>13.4f} {r['seconds_min']:>8.4f}-{r['seconds_max']:<8.4f} "
              f"{r['build_seconds_median']:>8.4f}  {r['choices']}")
    out = {"model": spec.to_dict(), "dataset": data.name, "device": str(device), "reps": args.reps,
           "threads": describe_threads(), "environment": environment_info(device), "scorers": results}
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

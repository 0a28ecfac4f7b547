#!/usr/bin/env python
"""Seconds per candidate of each training-free scorer (`ftd-nas search --proxy zc:NAME`), with the registry's
batch sizes and choices, on one ConvNet (default width 32, depth 3: the CPU-sized family member).

Each scorer runs as the search runs it: the candidate built from a seed, a minibatch drawn from the real training
split with that seed (`search.scoring.minibatch`), then `score_network`, timed alone (what a zc row's `seconds`
holds). One untimed warm-up, then --reps timed calls with seeds 0..reps-1; the median and the range are reported,
with the time to build the network beside them (a search pays it once per candidate too). Prints a table and
writes JSON.

With --search N it times instead what a whole `zc:params` search of N cells (a seeded sample of the nb201 space)
costs beside its scorer: the study's bookkeeping (queueing, claiming, recording each trial). Each --journal
variant searches into a fresh folder; reported per trial are the wall seconds, the scorer's seconds, and the
commits of the study's database that wrote (each one a sync of the disk) and that only read.

    python scripts/bench_zero_cost.py --dataset npz:../shared/datasets/cifar10_subset.npz   # CPU, about a minute
    python scripts/bench_zero_cost.py --dataset digits --width 8 --depth 2 --reps 3          # smoke test
    python scripts/bench_zero_cost.py --dataset digits --search 100 --json bench_bookkeeping.json
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from contextlib import closing, nullcontext
from pathlib import Path
from unittest import mock

import torch

from ftd_nas.data import DataConfig
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.queue import storage
from ftd_nas.queue.commits import counting_commits
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


# --journal: the SQLite settings a search runs with (`storage.SQLITE_PRAGMAS`); None: as ftd-nas sets them
JOURNALS = {"default": None,
            "delete-full": {"journal_mode": "DELETE", "synchronous": "FULL"},  # SQLite's defaults, ftd-nas's before WAL
            "wal-normal": {"journal_mode": "WAL", "synchronous": "NORMAL"}}  # no sync at commit: the floor
NB201 = Path(__file__).resolve().parents[1] / "search_spaces" / "nb201.yaml"  # sampled with `sample:` below


def _journal(name: str):
    """The context a --journal variant's search runs in: ftd-nas's SQLite settings replaced by the variant's."""
    pragmas = JOURNALS[name]
    if pragmas is None:
        return nullcontext()
    if not hasattr(storage, "SQLITE_PRAGMAS"):
        raise SystemExit(f"--journal {name}: this ftd-nas sets no SQLite pragmas to replace; use --journal default")
    return mock.patch.dict(storage.SQLITE_PRAGMAS, pragmas)


def time_search(size: int, dataset: str, data, journal: str, device: torch.device, folder: Path) -> dict:
    """A `zc:params` search of `size` nb201 cells in a fresh run folder: seconds and commits per trial."""
    from ftd_nas.search import SearchConfig, run_search

    space = folder / "space.yaml"
    space.write_text(NB201.read_text() + f"sample: {{size: {size}, seed: 0}}\n")
    config = SearchConfig(space=str(space), proxy="zc:params", out=str(folder / "run"), dataset=dataset,
                          device=str(device), progress=False)
    with _journal(journal), counting_commits() as commits:
        started = time.perf_counter()
        summary = run_search(config, dataset=data)
        wall = time.perf_counter() - started
    trials = summary["trained"]
    with closing(sqlite3.connect(folder / "run" / "study.db")) as db:  # the mode the file was left in
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    return {"journal": journal, "pragmas": JOURNALS[journal] or getattr(storage, "SQLITE_PRAGMAS", "sqlite defaults"),
            "journal_mode_on_disk": mode, "trials": trials, "wall_seconds": wall, "seconds_per_trial": wall / trials,
            "scorer_seconds_per_trial": sum(r["seconds"] for r in summary["rows"]) / trials,
            "write_commits_per_trial": commits.writes / trials, "read_commits_per_trial": commits.reads / trials,
            "write_commits": commits.writes, "read_commits": commits.reads}


def bench_search(args, data, device: torch.device) -> list[dict]:
    print(f"zc:params search of {args.search} nb201 cells on {data.name}, {device}, {describe_threads()}")
    print(f"  {'journal':<12} {'s / trial':>9} {'scorer s':>9} {'writes / trial':>14} {'reads / trial':>13}  on disk")
    results = []
    for journal in args.journal:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            r = time_search(args.search, args.dataset, data, journal, device, Path(tmp))
        results.append(r)
        print(f"  {journal:<12} {r['seconds_per_trial']:>9.4f} {r['scorer_seconds_per_trial']:>9.5f} "
              f"{r['write_commits_per_trial']:>14.2f} {r['read_commits_per_trial']:>13.2f}  "
              f"{r['journal_mode_on_disk']}", flush=True)
    return results


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
    p.add_argument("--search", type=int, metavar="N",
                   help="time a zc:params search of N nb201 cells (its bookkeeping) instead of the scorers")
    p.add_argument("--journal", nargs="+", default=list(JOURNALS), choices=list(JOURNALS),
                   help="with --search: the SQLite settings to search with, each in a fresh folder")
    p.add_argument("--tmp", default=None, help="with --search: where the run folders go (default: the system's)")
    args = p.parse_args()
    device = resolve_device(args.device)
    data = DataConfig(args.dataset, data_root=args.data_root).load(device)
    if args.search:
        out = {"search": args.search, "dataset": data.name, "device": str(device), "threads": describe_threads(),
               "environment": environment_info(device), "searches": bench_search(args, data, device)}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
        return
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

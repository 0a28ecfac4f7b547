#!/usr/bin/env python
"""Candidate-training throughput for architecture search on a proxy-sized training set.

Trains a sample of candidates from a search space (default: every k-th of the 720 convnet space) on a
500-image set (IPC 50, like the paper's NAS proxies) for --epochs epochs each, and projects the minutes
needed for the whole space. The images are random real images when no proxy is given; throughput does
not depend on their content.

It reports candidate-epochs per second on the proxy-sized set and, with --real-epochs N (default 2), on the
whole real training split (the ground truth's workload, which --repeats multiplies).

Two comparisons, each measured side by side in one run:
  variants  per candidate, back to back: `sync1` reads the loss on the host every epoch (the plain loop),
            `deferred` is the search recipe (ten reads per candidate, no stalls in between).
  workers   the sample split over K processes on the same device at once (several small candidates share
            one GPU); aggregate candidates per minute from the first start to the last finish.

    python scripts/bench_search_throughput.py --device cuda --sample 36 --workers 1 2 4  # GPU: paper size
    python scripts/bench_search_throughput.py --device cpu --sample 4 --epochs 5          # CPU smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from ftd_nas.data import DataConfig
from ftd_nas.evaluation import random_subset
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.proxy import Proxy
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.search import SearchRecipe, load_space
from ftd_nas.train import TrainConfig, train

VARIANTS = {
    "sync1": lambda cfg: replace(cfg, sync_every=1),
    "deferred": lambda cfg: cfg,
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _setup(args):
    device = resolve_device(args.device)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    ds = DataConfig(args.dataset).load(device)
    images = Proxy.load(args.proxy).split(device) if args.proxy else random_subset(ds, 50)
    space = load_space(args.space)
    candidates = space.candidates()
    step = max(1, len(candidates) // args.sample)
    return device, ds, images, space, candidates[::step][:args.sample]


def time_candidate(params: dict, ds, images, config: TrainConfig, device: torch.device) -> dict:
    spec = ModelSpec(**params).for_data(ds.channels, ds.image_size, ds.num_classes)
    net = build_model(spec, seed=0, device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _sync(device)
    start = time.perf_counter()
    train(net, images, config)
    _sync(device)
    row = {"seconds": time.perf_counter() - start}
    if device.type == "cuda":
        row["peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return row


def worker_main(args) -> None:
    """One of K concurrent processes: train candidates i, i+K, ... once every worker is ready."""
    device, ds, images, _, chosen = _setup(args)
    index, count = (int(v) for v in args.worker.split("/"))
    if device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // count))
    config = SearchRecipe(epochs=args.epochs).candidate_config(0.01)
    time_candidate(chosen[0], ds, images, replace(config, epochs=1), device)  # warm-up: CUDA context, kernels
    barrier = Path(args.barrier)
    (barrier / f"ready{index}").touch()
    while len(list(barrier.glob("ready*"))) < count:
        time.sleep(0.05)
    start = time.time()
    for params in chosen[index::count]:
        time_candidate(params, ds, images, config, device)
    Path(args.worker_out).write_text(json.dumps({"start": start, "end": time.time(),
                                                 "trained": len(chosen[index::count])}))


def measure_workers(args, count: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, __file__, "--dataset", args.dataset, "--space", args.space, "--sample",
                str(args.sample), "--epochs", str(args.epochs), "--device", args.device, "--barrier", tmp]
        base += ["--proxy", args.proxy] if args.proxy else []
        base += ["--cudnn-benchmark"] if args.cudnn_benchmark else []
        outs = [os.path.join(tmp, f"out{i}.json") for i in range(count)]
        procs = [subprocess.Popen(base + ["--worker", f"{i}/{count}", "--worker-out", outs[i]])
                 for i in range(count)]
        if any(p.wait() for p in procs):
            raise SystemExit(f"a worker of the {count}-process run failed")
        parts = [json.loads(Path(o).read_text()) for o in outs]
    wall = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    trained = sum(p["trained"] for p in parts)
    return {"workers": count, "trained": trained, "wall_seconds": wall, "candidates_per_minute": 60 * trained / wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="npz:../shared/datasets/cifar10_subset.npz")
    p.add_argument("--proxy", default=None, help="proxy file (default: 50 random real images per class)")
    p.add_argument("--space", default="convnet")
    p.add_argument("--sample", type=int, default=36, help="candidates timed, spread evenly over the space")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--device", default="auto")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--workers", type=int, nargs="*", default=[],
                   help="also time the sample split over K concurrent processes, for each K given")
    p.add_argument("--cudnn-benchmark", action="store_true", help="let cuDNN autotune convolutions per shape")
    p.add_argument("--real-epochs", type=int, default=2,
                   help="also time each sampled candidate for this many epochs on the whole real training split "
                        "(0: skip)")
    p.add_argument("--out", default="runs/bench_search_throughput.json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    p.add_argument("--barrier", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker_main(args)

    device, ds, images, space, chosen = _setup(args)
    recipe_config = SearchRecipe(epochs=args.epochs).candidate_config(0.01)
    time_candidate(chosen[0], ds, images, replace(recipe_config, epochs=1), device)  # warm-up
    rows = []
    for params in chosen:
        row = {"candidate": space.candidate_id(params)}
        for name in args.variants:
            row[name] = time_candidate(params, ds, images, VARIANTS[name](recipe_config), device)
        rows.append(row)
        print(f"{row['candidate']:<40} " + "  ".join(f"{n} {row[n]['seconds']:7.2f} s" for n in args.variants),
              flush=True)
    summary = {}
    for name in args.variants:
        mean = sum(r[name]["seconds"] for r in rows) / len(rows)
        summary[name] = {"seconds_per_candidate": mean, "candidates_per_minute": 60 / mean,
                         "projected_minutes_for_space": mean * len(space) / 60}
        print(f"{name}: {60 / mean:.1f} candidates/min; the {len(space)}-candidate space would take "
              f"{summary[name]['projected_minutes_for_space']:.1f} min")
    if len(args.variants) > 1:
        first, last = args.variants[0], args.variants[-1]
        summary["speedup"] = {f"{last}_over_{first}": summary[first]["seconds_per_candidate"]
                              / summary[last]["seconds_per_candidate"]}
    deferred = args.variants[-1]
    rates = {"proxy": sum(args.epochs for _ in rows) / sum(r[deferred]["seconds"] for r in rows)}
    if args.real_epochs:
        real_config = replace(recipe_config, epochs=args.real_epochs, sync_every=args.real_epochs)
        for row, params in zip(rows, chosen):
            row["real"] = time_candidate(params, ds, ds.train, real_config, device)
        rates["real"] = args.real_epochs * len(rows) / sum(r["real"]["seconds"] for r in rows)
    for name, rate in rates.items():
        print(f"candidate-epochs per second on {name} data: {rate:.2f}")
    concurrent = []
    for count in args.workers:
        concurrent.append(measure_workers(args, count))
        concurrent[-1]["projected_minutes_for_space"] = len(space) / concurrent[-1]["candidates_per_minute"]
        print(f"{count} process(es) on {device}: {concurrent[-1]['candidates_per_minute']:.1f} candidates/min, "
              f"the space in {concurrent[-1]['projected_minutes_for_space']:.1f} min", flush=True)
    result = {"device": str(device), "space": space.name, "space_size": len(space), "images": len(images),
              "epochs": args.epochs, "sampled": len(rows), "cudnn_benchmark": args.cudnn_benchmark,
              "real_images": len(ds.train), "real_epochs": args.real_epochs, "candidate_epochs_per_second": rates,
              "variants": summary, "workers": concurrent, "rows": rows, "environment": environment_info(device)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

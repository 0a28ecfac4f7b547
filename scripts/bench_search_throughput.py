#!/usr/bin/env python
"""Candidate-training throughput for architecture search on a proxy-sized training set.

Trains a sample of candidates from a search space (default: every k-th of the 720 convnet space) on a
500-image set (IPC 50, like the paper's NAS proxies) for --epochs epochs each, and projects the minutes
needed for the whole space. The images are random real images when no proxy is given; throughput does
not depend on their content.

    python scripts/bench_search_throughput.py --device cuda --sample 36          # GPU: paper-size projection
    python scripts/bench_search_throughput.py --device cpu --sample 4 --epochs 5  # CPU smoke test
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ftd_nas.data import DataConfig
from ftd_nas.evaluation import random_subset
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.proxy import Proxy
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.search import SearchRecipe, candidate_id, load_space
from ftd_nas.train import train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="npz:../shared/datasets/cifar10_subset.npz")
    p.add_argument("--proxy", default=None, help="proxy file (default: 50 random real images per class)")
    p.add_argument("--space", default="convnet")
    p.add_argument("--sample", type=int, default=36, help="candidates timed, spread evenly over the space")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="runs/bench_search_throughput.json")
    args = p.parse_args()

    device = resolve_device(args.device)
    ds = DataConfig(args.dataset).load(device)
    images = Proxy.load(args.proxy).split(device) if args.proxy else random_subset(ds, 50)
    space = load_space(args.space)
    candidates = space.candidates()
    step = max(1, len(candidates) // args.sample)
    chosen = candidates[::step][:args.sample]
    recipe = SearchRecipe(epochs=args.epochs)
    rows = []
    for params in chosen:
        spec = ModelSpec(**params).for_data(ds.channels, ds.image_size, ds.num_classes)
        net = build_model(spec, seed=0, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        train(net, images, recipe.train_config(0.01))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        rows.append({"candidate": candidate_id(params), "seconds": time.perf_counter() - start})
        print(f"{rows[-1]['candidate']:<40} {rows[-1]['seconds']:7.2f} s", flush=True)
    mean = sum(r["seconds"] for r in rows) / len(rows)
    result = {"device": str(device), "space": space.name, "space_size": len(space), "images": len(images),
              "epochs": args.epochs, "sampled": len(rows), "seconds_per_candidate": mean,
              "candidates_per_minute": 60 / mean, "projected_minutes_for_space": mean * len(space) / 60,
              "rows": rows, "environment": environment_info(device)}
    print(f"{60 / mean:.1f} candidates/min on {device}; the {len(space)}-candidate space would take "
          f"{result['projected_minutes_for_space']:.0f} min ({args.epochs} epochs, {len(images)} images)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

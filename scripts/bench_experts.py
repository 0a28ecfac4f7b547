#!/usr/bin/env python
"""Benchmark expert training: seconds per epoch for SGD and GSAM side by side, and MB on disk per expert.

Epochs of the two optimizers are interleaved in one run, so the ratio is fair on a noisy shared machine.

    python scripts/bench_experts.py --dataset npz:../shared/datasets/cifar10_subset.npz --width 32 --reps 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ftd_nas.data import DataConfig
from ftd_nas.experts import ExpertRecord, expert_train_config, write_trajectory
from ftd_nas.models import ModelSpec, ParamLayout, build_model
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.train import Trainer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="npz:../shared/datasets/cifar10_subset.npz")
    p.add_argument("--zca", action="store_true")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--reps", type=int, default=3, help="epochs timed per optimizer (after one warm-up epoch each)")
    p.add_argument("--epochs", type=int, default=50, help="epochs per expert, for the size on disk")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="runs/bench_experts.json")
    args = p.parse_args()

    device = resolve_device(args.device)
    ds = DataConfig(args.dataset, zca=args.zca).load(device)
    spec = ModelSpec(width=args.width, depth=args.depth).for_data(ds.channels, ds.image_size, ds.num_classes)
    trainers = {}
    for opt in ("sgd", "gsam"):
        cfg = expert_train_config(opt, epochs=args.reps + 1, alpha=1.0, progress=False)
        trainers[opt] = Trainer(build_model(spec, seed=0, device=device), ds.train, cfg)
    times = {opt: [] for opt in trainers}
    for rep in range(args.reps + 1):
        for opt, trainer in trainers.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            trainer.run_epoch()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if rep > 0:  # the first epoch of each is a warm-up
                times[opt].append(time.perf_counter() - start)
    layout = ParamLayout(trainers["sgd"].model)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "expert.safetensors"
        record = ExpertRecord(index=0, seed=0, model=spec, data=ds.fingerprint(), train=trainers["gsam"].config,
                              num_snapshots=args.epochs + 1, num_params=layout.num_params)
        write_trajectory(path, torch.zeros(args.epochs + 1, layout.num_params), record)
        mb = path.stat().st_size / 2**20
    sgd, gsam = statistics.median(times["sgd"]), statistics.median(times["gsam"])
    result = {"dataset": args.dataset, "model": spec.to_dict(), "train_images": len(ds.train),
              "num_params": layout.num_params, "sgd_s_per_epoch": sgd, "gsam_s_per_epoch": gsam,
              "gsam_over_sgd": gsam / sgd, "epoch_times": times, "epochs_per_expert": args.epochs,
              "mb_per_expert": mb, "environment": environment_info(device)}
    print(f"{spec.short_name()} on {len(ds.train)} images: SGD {sgd:.2f} s/epoch, GSAM {gsam:.2f} s/epoch "
          f"(x{gsam / sgd:.2f}); {mb:.2f} MB per {args.epochs}-epoch expert")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Benchmark distillation: seconds per iteration and peak memory, full vs checkpointed unroll, by syn_steps,
and per method (FTD's and MTT's trajectory matching, DSA's gradient matching, DM's distribution matching).

Each setting runs in its own process so its peak memory (RSS on CPU, allocated memory on CUDA) is its own;
settings run back to back, full and checkpoint interleaved, so the ratios compare runs made under the same
machine load. An iteration means each method's own iteration at its preset for the IPC (DSA: outer_loop
matching steps with inner training between them; DM: one matching step), so per-iteration times differ in
kind; the total time of a run is iterations x seconds per iteration.

    python scripts/bench_distill.py --dataset npz:../shared/datasets/cifar10_subset.npz --zca \\
        --width 32 --ipc 10 --steps 10 20 40 --out runs/bench_distill.json
    python scripts/bench_distill.py --methods ftd mtt dsa dm --steps 20 --unrolls full --zca --width 32 --ipc 10

FTD runs on GSAM experts and MTT on SGD experts (each a 3-epoch expert trained here unless --experts /
--sgd-experts name one); both run every --steps x --unrolls setting.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


TRAJECTORY = ("ftd", "mtt")  # methods that match expert trajectories (FTD on GSAM experts, MTT on SGD ones)


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(args: argparse.Namespace) -> None:
    import torch

    from ftd_nas.data import DataConfig
    from ftd_nas.data.for_file import real_data_for
    from ftd_nas.distill import Distiller, resolve_config
    from ftd_nas.experts import ExpertDirectory
    from ftd_nas.models import ModelSpec
    from ftd_nas.runtime import resolve_device

    device = resolve_device(args.device)
    if args.method in TRAJECTORY:
        cfg = resolve_config(args.dataset, args.ipc, args.method, syn_steps=args.syn_steps, unroll=args.unroll,
                             max_start_epoch=1, expert_epochs=2, iterations=args.iters + 1, batch_syn=args.batch_syn)
        dataset = real_data_for(ExpertDirectory(args.experts), args.dataset, device=device,
                                what=f"the experts in {args.experts!r}")
        experts, model = args.experts, None
    else:
        cfg = resolve_config(args.dataset, args.ipc, args.method, iterations=args.iters + 1)
        dataset = DataConfig(args.dataset, zca=args.zca).load(device)
        experts, model = None, ModelSpec(width=args.width, depth=args.depth)
    with tempfile.TemporaryDirectory() as tmp:
        d = Distiller(cfg, experts, Path(tmp) / "p", dataset=dataset, model=model, device=device)
        setup_rss = _rss_mb()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            base_alloc = torch.cuda.memory_allocated(device)
        times = []
        for i in range(args.iters + 1):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            d.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i > 0:
                times.append(time.perf_counter() - start)
    out = {"method": args.method, "unroll": args.unroll if args.method in TRAJECTORY else None,
           "syn_steps": args.syn_steps if args.method in TRAJECTORY else None, "s_per_iter": statistics.median(times),
           "times": times, "setup_rss_mb": setup_rss,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    out["peak_over_setup_mb"] = out["peak_rss_mb"] - setup_rss
    if device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
        out["peak_cuda_over_setup_mb"] = (torch.cuda.max_memory_allocated(device) - base_alloc) / 2**20
    print("RESULT " + json.dumps(out))


def quick_experts(args: argparse.Namespace, root: Path, optimizer: str = "gsam") -> Path:
    from ftd_nas.data import DataConfig
    from ftd_nas.experts import ExpertConfig, expert_train_config, train_experts
    from ftd_nas.models import ModelSpec

    cfg = ExpertConfig(data=DataConfig(args.dataset, zca=args.zca), model=ModelSpec(width=args.width, depth=args.depth),
                       train=expert_train_config(optimizer, epochs=3, progress=False), num_experts=1)
    train_experts(cfg, root, device=args.device)
    return root


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="npz:../shared/datasets/cifar10_subset.npz")
    p.add_argument("--zca", action="store_true")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--batch-syn", type=int, default=None)
    p.add_argument("--steps", type=int, nargs="+", default=[10, 20, 40])
    p.add_argument("--unrolls", nargs="+", default=["full", "checkpoint"])
    p.add_argument("--methods", nargs="+", default=["ftd"], choices=["ftd", "mtt", "dsa", "dm"],
                   help="ftd, mtt: every --steps x --unrolls setting; dsa, dm: one setting each, their preset for "
                        "--ipc")
    p.add_argument("--iters", type=int, default=3, help="timed iterations per setting (after one warm-up)")
    p.add_argument("--experts", default=None, help="GSAM expert directory for ftd (default: train a 3-epoch one)")
    p.add_argument("--sgd-experts", default=None, help="SGD expert directory for mtt (default: train a 3-epoch one)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="runs/bench_distill.json")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--syn-steps", type=int, help=argparse.SUPPRESS)
    p.add_argument("--unroll", help=argparse.SUPPRESS)
    p.add_argument("--method", default="ftd", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)

    with tempfile.TemporaryDirectory() as tmp:
        experts = {"ftd": args.experts or ("ftd" in args.methods and str(quick_experts(args, Path(tmp) / "gsam"))),
                   "mtt": args.sgd_experts or ("mtt" in args.methods
                                               and str(quick_experts(args, Path(tmp) / "sgd", "sgd")))}
        rows = []
        settings = [(m, steps, unroll) for m in args.methods if m in TRAJECTORY
                    for steps in args.steps for unroll in args.unrolls]
        settings += [(m, None, None) for m in args.methods if m not in TRAJECTORY]
        for method, steps, unroll in settings:
            cmd = [sys.executable, __file__, "--child", "--method", method, "--dataset", args.dataset, "--ipc",
                   str(args.ipc), "--iters", str(args.iters), "--experts", str(experts.get(method) or ""),
                   "--device", args.device, "--width", str(args.width), "--depth", str(args.depth)] \
                + (["--zca"] if args.zca else [])
            if method in TRAJECTORY:
                cmd += ["--syn-steps", str(steps), "--unroll", unroll]
            if args.batch_syn:
                cmd += ["--batch-syn", str(args.batch_syn)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if line is None:
                print(proc.stdout + proc.stderr, file=sys.stderr)
                raise SystemExit(f"setting {method} unroll={unroll} syn_steps={steps} failed")
            row = json.loads(line[len("RESULT "):])
            rows.append(row)
            mem = row.get("peak_cuda_mb", row["peak_rss_mb"])
            what = f"{method} syn_steps {steps:>3} {unroll:<10}" if method in TRAJECTORY else f"{method:<26}"
            print(f"{what} {row['s_per_iter']:7.2f} s/iter  peak {mem:8.0f} MB "
                  f"(+{row.get('peak_cuda_over_setup_mb', row['peak_over_setup_mb']):.0f} MB over setup)", flush=True)
    ratios = []
    for steps in args.steps:
        by = {r["unroll"]: r for r in rows if r["method"] == "ftd" and r["syn_steps"] == steps}
        if {"full", "checkpoint"} <= set(by):
            key = "peak_cuda_mb" if "peak_cuda_mb" in by["full"] else "peak_rss_mb"
            ratios.append({"syn_steps": steps,
                           "memory_checkpoint_over_full": by["checkpoint"][key] / by["full"][key],
                           "time_checkpoint_over_full": by["checkpoint"]["s_per_iter"] / by["full"]["s_per_iter"]})
            print(f"syn_steps {steps:>3}: checkpoint/full memory x{ratios[-1]['memory_checkpoint_over_full']:.2f}, "
                  f"time x{ratios[-1]['time_checkpoint_over_full']:.2f}")
    from ftd_nas.runtime import environment_info, resolve_device

    result = {"dataset": args.dataset, "zca": args.zca, "width": args.width, "depth": args.depth, "ipc": args.ipc,
              "batch_syn": args.batch_syn, "rows": rows, "ratios": ratios,
              "environment": environment_info(resolve_device(args.device))}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

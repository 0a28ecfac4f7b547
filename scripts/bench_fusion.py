#!/usr/bin/env python
"""Where the time of a small candidate's training goes, and what fusion and captured steps would save (#28, #30).

For a few candidates of the 720 space, trains R runs of the same architecture (seeds 0..R-1) on a 500-image set
(random real images, IPC 50) for --epochs epochs, batch 256, the search recipe's SGD (momentum 0.9, wd 5e-4, lr
x0.1 at the midpoint), and times, side by side in one process:

  loop_dsa    the search's path today: `train()` once per run, DSA on every batch (per-run seconds x R)
  loop        the same without DSA (what the fused paths below compute)
  func        one run as a functional step (torch.func.grad + foreach SGD), eager: the fused path at R = 1
  graph       the functional step of one run captured as CUDA graphs (one per batch shape), replayed
  vmap_R      R runs fused with torch.func.vmap over stacked parameters, eager: the library's path
              (ftd_nas/fused.py, `evaluate --fuse`); fused_dsa_R the same with DSA (compare with loop_dsa)
  vmap_graph_R  the fused step captured as CUDA graphs

It also checks that `func` and `vmap` end with the parameters `train()` ends with (same seeds, same batch
order; max absolute difference printed) and counts kernels launched per training step with torch.profiler
(--profile). The captured (graph) paths are measured here only; the eager fused one is the library's.

    python scripts/bench_fusion.py --device cuda --epochs 200 --runs 8 32          # GPU, a few minutes
    python scripts/bench_fusion.py --device cpu --epochs 2 --runs 2 --candidates 1  # CPU smoke test
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, stack_module_state, vmap

from ftd_nas.data import DataConfig
from ftd_nas.evaluation import random_subset
from ftd_nas.fused import FusedTrainer
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.search import SearchRecipe
from ftd_nas.train import train

# Small candidates are where the time goes (issue #30); one large one shows where the GPU is already busy.
CANDIDATES = [
    dict(depth=1, width=32, act="relu", norm="instancenorm", pool="avgpool"),
    dict(depth=1, width=128, act="sigmoid", norm="none", pool="maxpool"),
    dict(depth=2, width=64, act="leakyrelu", norm="groupnorm", pool="avgpool"),
    dict(depth=3, width=128, act="relu", norm="instancenorm", pool="avgpool"),
    dict(depth=4, width=256, act="relu", norm="layernorm", pool="none"),
]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def batch_orders(n: int, batch: int, epochs: int, seed: int) -> list[list[torch.Tensor]]:
    """The batch indices `Trainer` draws for `seed` (its order generator), epoch by epoch."""
    gen = torch.Generator().manual_seed(seed)
    return [list(torch.randperm(n, generator=gen).split(batch)) for _ in range(epochs)]


class FusedSGD:
    """R runs of one architecture trained as one computation: parameters stacked on a leading axis of size R.

    The update is torch.optim.SGD's (weight decay added to the gradient, then momentum, dampening 0); the
    learning rate lives in a tensor so a captured graph sees the midpoint decay.
    """

    def __init__(self, models, cfg, device, fused: bool):
        self.fused = fused
        if fused:
            params, buffers = stack_module_state(models)
        else:
            params = {k: v.detach().clone() for k, v in models[0].named_parameters()}
            buffers = {k: v.detach().clone() for k, v in models[0].named_buffers()}
        self.names = list(params)
        self.params = [params[k].detach().to(device).requires_grad_(False) for k in self.names]
        self.buffers = {k: v.to(device) for k, v in buffers.items()}
        self.momentum_buf = [torch.zeros_like(p) for p in self.params]
        self.lr = torch.tensor(cfg.lr, device=device)
        self.cfg = cfg
        self.base = copy.deepcopy(models[0]).to("meta")
        self.first = True

        def loss_fn(params, buffers, x, y):
            out = functional_call(self.base, ({**dict(zip(self.names, params))}, buffers), (x,))
            return F.cross_entropy(out, y)

        g = grad(loss_fn)
        self.grad_fn = vmap(g, in_dims=(0, 0, 0, 0)) if fused else g

    def step(self, x, y):
        grads = self.grad_fn(self.params, self.buffers, x, y)
        wd, mom = self.cfg.weight_decay, self.cfg.momentum
        d = torch._foreach_add(list(grads), self.params, alpha=wd)
        if self.first:  # torch.optim.SGD: the first momentum buffer is the gradient itself
            for b, di in zip(self.momentum_buf, d):
                b.copy_(di)
        else:
            torch._foreach_mul_(self.momentum_buf, mom)
            torch._foreach_add_(self.momentum_buf, d)
        torch._foreach_add_(self.params, torch._foreach_mul(self.momentum_buf, self.lr.neg()))


def run_functional(models, images, cfg, device, fused: bool, graphed: bool, orders) -> tuple[float, FusedSGD]:
    """Train with FusedSGD on the batch orders given (one per run); returns seconds and the trainer."""
    runs = len(models) if fused else 1
    sgd = FusedSGD(models, cfg, device, fused)
    x_all, y_all = images.x, images.y
    graphs: dict[int, tuple] = {}

    def gather(epoch, b):
        idx = torch.stack([orders[r][epoch][b] for r in range(runs)]).to(device, non_blocking=True)
        if not fused:
            return x_all[idx[0]], y_all[idx[0]]
        return x_all[idx], y_all[idx]

    def graphed_step(x, y):
        key = x.shape[-4] if fused else x.shape[0]
        if key not in graphs:
            sx, sy = x.clone(), y.clone()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            saved = ([p.clone() for p in sgd.params], [b.clone() for b in sgd.momentum_buf], sgd.first)
            with torch.cuda.stream(s):
                for _ in range(2):  # warm-up outside capture (cuDNN choices, allocator)
                    sgd.first = False
                    sgd.step(sx, sy)
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            sgd.first = False
            with torch.cuda.graph(g):
                sgd.step(sx, sy)
            for p, v in zip(sgd.params, saved[0]):  # undo the warm-up and capture steps
                p.copy_(v)
            for b, v in zip(sgd.momentum_buf, saved[1]):
                b.copy_(v)
            sgd.first = saved[2]
            graphs[key] = (g, sx, sy)
        if sgd.first:  # the first step initialises momentum differently: run it eagerly
            sgd.step(x, y)
            sgd.first = False
            return
        g, sx, sy = graphs[key]
        sx.copy_(x)
        sy.copy_(y)
        g.replay()

    _sync(device)
    start = time.perf_counter()
    epochs = len(orders[0])
    for epoch in range(epochs):
        sgd.lr.fill_(cfg.lr * (0.1 if cfg.decay_at_midpoint and epoch >= epochs // 2 else 1.0))
        for b in range(len(orders[0][epoch])):
            x, y = gather(epoch, b)
            if graphed:
                graphed_step(x, y)
            else:
                sgd.step(x, y)
                sgd.first = False
    _sync(device)
    return time.perf_counter() - start, sgd


def time_loop(spec, images, cfg, device, seeds) -> tuple[float, list]:
    nets = [build_model(spec, seed=s, device=device) for s in seeds]
    _sync(device)
    start = time.perf_counter()
    for s, net in zip(seeds, nets):
        train(net, images, type(cfg)(**{**cfg.__dict__, "seed": s}))
    _sync(device)
    return (time.perf_counter() - start) / len(seeds), nets


def max_diff(net, params: list[torch.Tensor], names, index=None) -> float:
    own = dict(net.named_parameters())
    return max(float((own[k].detach() - (p[index] if index is not None else p)).abs().max())
               for k, p in zip(names, params))


def count_kernels(spec, images, cfg, device) -> dict:
    """Kernels launched, host synchronisations and reads, and aten operators, per training step of `train()`
    (two epochs profiled after one of warm-up), with and without DSA."""
    from torch.profiler import ProfilerActivity, profile

    out = {}
    steps = -(-len(images) // cfg.batch_size)
    for name, dsa in (("dsa", cfg.dsa), ("no_dsa", None)):
        net = build_model(spec, seed=0, device=device)
        one = type(cfg)(**{**cfg.__dict__, "epochs": 2, "dsa": dsa, "sync_every": 2})
        train(net, images, type(one)(**{**one.__dict__, "epochs": 1}))  # warm-up
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with profile(activities=acts) as prof:
            train(net, images, one)
        events = prof.key_averages()
        launches = sum(e.count for e in events if e.key in ("cudaLaunchKernel", "cudaLaunchKernelExC",
                                                             "cuLaunchKernel", "cudaLaunchKernelEx"))
        syncs = sum(e.count for e in events if e.key in ("cudaStreamSynchronize", "cudaDeviceSynchronize",
                                                          "cudaMemcpyAsync", "cudaEventSynchronize"))
        aten = sum(e.count for e in events if e.key.startswith("aten::"))
        # a tensor's value read on the host (.item(), bool(), a Python number from a tensor): on CUDA each one
        # waits for the GPU; counted on any device, so the CPU shows where a GPU step would synchronise
        reads = sum(e.count for e in events if e.key == "aten::_local_scalar_dense")
        out[name] = {"kernel_launches_per_step": launches / (2 * steps), "sync_or_copy_calls_per_step":
                     syncs / (2 * steps), "aten_ops_per_step": aten / (2 * steps),
                     "host_reads_per_step": reads / (2 * steps)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="npz:../shared/datasets/cifar10_subset.npz")
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--runs", type=int, nargs="+", default=[8, 32], help="R values for the fused paths")
    p.add_argument("--loop-runs", type=int, default=2, help="runs timed in the loop paths (seconds are per run)")
    p.add_argument("--candidates", type=int, default=len(CANDIDATES))
    p.add_argument("--profile", action="store_true", help="count kernels and syncs per step (first candidate)")
    p.add_argument("--out", default="runs/bench_fusion.json")
    args = p.parse_args()
    device = resolve_device(args.device)
    ds = DataConfig(args.dataset).load(device)
    images = random_subset(ds, 50)
    cfg = SearchRecipe(epochs=args.epochs).candidate_config(0.01)
    cfg_plain = type(cfg)(**{**cfg.__dict__, "dsa": None})
    graphs_ok = device.type == "cuda"
    rows = []
    for params in CANDIDATES[:args.candidates]:
        spec = ModelSpec(**params).for_data(ds.channels, ds.image_size, ds.num_classes)
        name = spec.short_name()
        row = {"candidate": name}
        time_loop(spec, images, type(cfg)(**{**cfg.__dict__, "epochs": 1}), device, [0])  # warm-up
        row["loop_dsa_s_per_run"], _ = time_loop(spec, images, cfg, device, range(args.loop_runs))
        row["loop_s_per_run"], loop_nets = time_loop(spec, images, cfg_plain, device, range(args.loop_runs))
        orders = [batch_orders(len(images), cfg.batch_size, args.epochs, s) for s in range(max(args.runs))]
        seconds, sgd = run_functional([build_model(spec, seed=0)], images, cfg_plain, device, False, False, orders)
        row["func_s_per_run"] = seconds
        row["func_max_diff_vs_train"] = max_diff(loop_nets[0], sgd.params, sgd.names)
        if graphs_ok:
            seconds, sgd = run_functional([build_model(spec, seed=0)], images, cfg_plain, device, False, True, orders)
            row["graph_s_per_run"] = seconds
            row["graph_max_diff_vs_train"] = max_diff(loop_nets[0], sgd.params, sgd.names)
        for r in args.runs:
            models = [build_model(spec, seed=s) for s in range(r)]
            try:
                # the library's fused path (ftd_nas/fused.py), without DSA and with it (what `evaluate --fuse on`
                # runs): compare with `loop` and `loop_dsa`
                for key, c in ((f"vmap_{r}", cfg_plain), (f"fused_dsa_{r}", cfg)):
                    nets = [copy.deepcopy(m).to(device) for m in models]
                    _sync(device)
                    start = time.perf_counter()
                    FusedTrainer(nets, images, [type(c)(**{**c.__dict__, "seed": s}) for s in range(r)]).fit()
                    _sync(device)
                    row[f"{key}_s_per_run"] = (time.perf_counter() - start) / r
                    if c is cfg_plain:
                        row[f"{key}_max_diff_vs_train"] = max(
                            max_diff(loop_nets[i], [p.detach() for p in nets[i].parameters()],
                                     [k for k, _ in nets[i].named_parameters()])
                            for i in range(min(r, len(loop_nets))))
                if graphs_ok:
                    seconds, sgd = run_functional(models, images, cfg_plain, device, True, True, orders[:r])
                    row[f"vmap_graph_{r}_s_per_run"] = seconds / r
            except Exception as exc:  # noqa: BLE001 - a benchmark records what failed and goes on
                row[f"vmap_{r}_error"] = f"{type(exc).__name__}: {exc}"[:300]
        if device.type == "cuda":
            row["peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
            torch.cuda.reset_peak_memory_stats(device)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"device": str(device), "epochs": args.epochs, "images": len(images), "runs": args.runs,
              "rows": rows, "environment": environment_info(device)}
    if args.profile:
        spec = ModelSpec(**CANDIDATES[0]).for_data(ds.channels, ds.image_size, ds.num_classes)
        result["per_step"] = count_kernels(spec, images, cfg, device)
        print(json.dumps(result["per_step"]), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()

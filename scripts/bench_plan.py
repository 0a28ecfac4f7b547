#!/usr/bin/env python
"""How far `ftd-nas search --plan` is from the real thing: the plan's projected time for one worker next to the
measured wall time of the same search, run right after it in this process's conditions.

    python scripts/bench_plan.py                                    # convnet-cpu on digits, CPU, ~5 minutes
    python scripts/bench_plan.py --space convnet --proxy random:50 --dataset cifar10 --device cuda --epochs 300

Prints and writes JSON (default runs/bench_plan.json): projected and actual seconds and their ratio, the
plan's own cost, and per sampled candidate the predicted against the measured training time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import optuna

from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.search import SearchConfig, SearchRecipe, run_search
from ftd_nas.search.plan import plan_search
from ftd_nas.search.recipe import search_data, source_proxy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="convnet-cpu")
    p.add_argument("--proxy", default="random:10")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--device", default="cpu")
    p.add_argument("--sample", type=int, default=6, help="candidates the plan times")
    p.add_argument("--plan-epochs", type=int, default=3)
    p.add_argument("--out", default="runs/bench_plan.json")
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # as the CLI does: no "A new study created" lines
    device = resolve_device(args.device)
    config = SearchConfig(space=args.space, proxy=args.proxy, dataset=args.dataset, device=args.device,
                          recipe=SearchRecipe(epochs=args.epochs), progress=False)
    dataset = search_data(args.proxy, source_proxy(args.proxy), args.dataset, device=device)
    plan = plan_search(config, sample=args.sample, epochs=args.plan_epochs, workers=(1,), dataset=dataset)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = run_search(SearchConfig(**{**config.__dict__, "out": str(Path(tmp) / "run")}), dataset=dataset)
        actual = time.perf_counter() - started
    measured = {r.candidate: r.seconds for r in summary.rows}
    projected = plan.seconds_by_workers[1]
    result = {"space": args.space, "proxy": args.proxy, "dataset": args.dataset, "epochs": args.epochs,
              "device": str(device), "candidates": plan.candidates, "plan_sample": args.sample,
              "plan_epochs": args.plan_epochs, "plan_seconds": plan.plan_seconds, "projected_seconds": projected,
              "actual_seconds": actual, "projected_over_actual": projected / actual,
              "sampled": [{"candidate": t.candidate, "macs": t.macs,
                           "predicted_train_s": args.epochs * (plan.fit["intercept_s"]
                                                               + plan.fit["slope_s_per_mac"] * t.macs),
                           "measured_train_s": measured.get(t.candidate)} for t in plan.sample],
              "environment": environment_info(device)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.space} ({plan.candidates} candidates x {args.epochs} epochs) on {device}: projected "
          f"{projected:.0f} s, actual {actual:.0f} s, ratio {projected / actual:.2f}; the plan took "
          f"{plan.plan_seconds:.0f} s")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()

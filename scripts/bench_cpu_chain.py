#!/usr/bin/env python
"""The whole chain at CPU size, timed, in one JSON: the figures the README and the issues quote.

Runs, in order (each step resumable, so an interrupted benchmark continues where it stopped):
  1. scripts/bench_experts.py   SGD vs GSAM seconds per epoch (interleaved), MB per expert
  2. scripts/bench_distill.py   seconds per iteration and peak memory, full vs checkpoint unroll
  3. ftd-nas experts (SGD, GSAM) -> distill (FTD, MTT) -> evaluate (FTD, MTT, random subset)
  4. ftd-nas search on real data and on each proxy -> ftd-nas report (rho per proxy)

    python scripts/bench_cpu_chain.py                      # CIFAR-10 subset, about 1.5 hours on 2 cores
    python scripts/bench_cpu_chain.py --quick              # digits, a few minutes (smoke test)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from ftd_nas.experiment import ExperimentPlan, ExperimentSettings
from ftd_nas.stages import Stage

FULL = dict(dataset="npz:../shared/datasets/cifar10_subset.npz", zca=True, width=32, experts=4, expert_epochs=15,
            alpha=0.3, ipc=10, syn_steps=10, iterations=300, ema=0.99, max_start=10, eval_runs=5, eval_epochs=500,
            space="convnet-cpu", truth_epochs=5, search_epochs=100, bench_steps=[10, 20, 40])
QUICK = dict(dataset="digits", zca=False, width=8, experts=2, expert_epochs=6, alpha=1.0, ipc=2, syn_steps=5,
             iterations=20, ema=0.9, max_start=4, eval_runs=2, eval_epochs=50, space="convnet-tiny",
             truth_epochs=2, search_epochs=20, bench_steps=[5, 10])


def stages(s: dict, out: Path) -> list[Stage]:
    """The ftd-nas commands of steps 3 and 4, in order; the first two (the experts) run before bench_distill.py."""
    plan = ExperimentPlan(ExperimentSettings(s["dataset"], zca=s["zca"], width=s["width"]), out)
    for optimizer in ("sgd", "gsam"):
        plan.experts(optimizer, s["experts"], s["expert_epochs"], s["alpha"])
    for method in ("ftd", "mtt"):
        proxy = plan.proxy(method, s["ipc"], extra=[
            "--preset", "cifar10", "--syn-steps", str(s["syn_steps"]), "--max-start-epoch", str(s["max_start"]),
            "--lr-teacher", "0.01", "--ema-decay", str(s["ema"]), "--iterations", str(s["iterations"])])
        plan.evaluate(proxy, s["eval_runs"], s["eval_epochs"], baseline="random" if method == "ftd" else None,
                      json=out / f"eval_{method}.json")
    truth = plan.search(s["space"], "real", epochs=s["truth_epochs"], run="truth")
    runs = [plan.search(s["space"], proxy, epochs=s["search_epochs"], run=name) for name, proxy in (
        ("ftd", out / "proxies" / "ftd.safetensors"), ("mtt", out / "proxies" / "mtt.safetensors"),
        ("random", f"random:{s['ipc']}"))]
    plan.report([(run, None) for run in runs], truth)
    return plan.stages


def sh(*cmd: str) -> None:
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="digits and tiny settings (smoke test)")
    p.add_argument("--out", default=None, help="work folder (default runs/bench_cpu_chain[_quick])")
    args = p.parse_args()
    s = QUICK if args.quick else FULL
    out = Path(args.out or ("runs/bench_cpu_chain_quick" if args.quick else "runs/bench_cpu_chain"))
    out.mkdir(parents=True, exist_ok=True)
    ftd = [sys.executable, "-m", "ftd_nas"]
    data = ["--dataset", s["dataset"]] + (["--zca"] if s["zca"] else [])  # for the two benchmark scripts
    plan = stages(s, out)
    started = time.perf_counter()
    result = {"settings": s}

    sh(sys.executable, "scripts/bench_experts.py", *data, "--width", str(s["width"]), "--reps", "2",
       "--out", str(out / "bench_experts.json"))
    result["experts"] = json.loads((out / "bench_experts.json").read_text())
    for stage in plan[:2]:
        sh(*ftd, *stage.args)
    sh(sys.executable, "scripts/bench_distill.py", *data, "--width", str(s["width"]), "--ipc", str(s["ipc"]),
       "--steps", *map(str, s["bench_steps"]), "--experts", str(out / "experts" / "gsam"),
       "--out", str(out / "bench_distill.json"))
    result["distill"] = json.loads((out / "bench_distill.json").read_text())
    for stage in plan[2:]:
        sh(*ftd, *stage.args)

    accuracy = {}
    for method in ("ftd", "mtt"):
        for name, ev in json.loads((out / f"eval_{method}.json").read_text())["sets"].items():
            r = ev["results"]["convnet"]
            accuracy[method.upper() if name == "proxy" else "Random"] = {"test_mean": r["test_mean"],
                                                                        "test_std": r["test_std"]}
    result["proxy_accuracy"] = accuracy
    from ftd_nas.search.report_record import read_report

    report = read_report(out / "report")
    result["search"] = {run["name"]: {"spearman": run["agreement"]["spearman"], "kendall": run["agreement"]["kendall"],
                                      "seconds_per_candidate": run["seconds_per_candidate"]}
                        for run in report.runs}
    result["seconds_total"] = time.perf_counter() - started
    (out / "bench_cpu_chain.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"experts_s_per_epoch": {k: result["experts"][f"{k}_s_per_epoch"] for k in ("sgd", "gsam")},
                      "distill": [(r["syn_steps"], r["unroll"], round(r["s_per_iter"], 2), round(r["peak_rss_mb"]))
                                  for r in result["distill"]["rows"]],
                      "proxy_accuracy": accuracy, "search": result["search"]}, indent=1))
    print(f"wrote {out / 'bench_cpu_chain.json'}")


if __name__ == "__main__":
    main()

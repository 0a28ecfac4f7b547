#!/usr/bin/env python
"""Reproduce the FTD paper's experiments on a GPU: experts, distillation, evaluation, and the 720-ConvNet NAS.

Each experiment lists the commands it runs and the number the paper reports (DESIGN.md section 4), so a
run can be checked against it. Every step is resumable: re-run the same experiment to continue.

    python scripts/reproduce.py --list
    python scripts/reproduce.py cifar10-ipc10 --dry-run      # print the commands
    python scripts/reproduce.py cifar10-ipc10 --data-root ~/data
    python scripts/reproduce.py nas-table [--scale cpu|quick|paper]   # the NAS comparison table (nas_table.py)
    python scripts/reproduce.py nb201 [--scale cpu|quick|gpu]    # NAS-Bench-201 against its published truth (nb201.py)

Time and memory are estimates for one H200-class GPU from the paper's settings (100 experts x 50 epochs,
5000 distillation iterations, 5 x 1000-epoch evaluations); they were not measured on such a GPU yet.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

from ftd_nas.cli import run_script
from ftd_nas.experiment import ExperimentPlan, ExperimentSettings

# name: dataset, ipc, model depth, zca, paper FTD accuracy (%) (MTT in brackets), rough GPU cost
EXPERIMENTS = {
    "cifar10-ipc1": ("cifar10", 1, 3, True, "FTD 46.8 (MTT 46.3)", "experts ~3 h, distill ~2 h, <10 GB"),
    "cifar10-ipc10": ("cifar10", 10, 3, True, "FTD 66.6 (MTT 65.3)", "experts ~3 h, distill ~3 h, ~15 GB"),
    "cifar10-ipc50": ("cifar10", 50, 3, True, "FTD 73.8 (MTT 71.6)", "experts ~3 h, distill ~6 h, ~40 GB full unroll"),
    "cifar100-ipc1": ("cifar100", 1, 3, True, "FTD 25.2 (MTT 24.3)", "experts ~3 h, distill ~3 h, ~15 GB"),
    "cifar100-ipc10": ("cifar100", 10, 3, True, "FTD 43.4 (MTT 40.1)", "experts ~3 h, distill ~8 h, ~60 GB full"),
    "cifar100-ipc50": ("cifar100", 50, 3, True, "FTD 50.7 (MTT 47.7)", "experts ~3 h, distill ~20 h, use --unroll checkpoint"),
    "tiny-ipc1": ("tiny-imagenet", 1, 4, False, "FTD 10.4", "experts ~12 h, distill ~8 h, ~40 GB"),
    "tiny-ipc10": ("tiny-imagenet", 10, 4, False, "FTD 24.5", "experts ~12 h, distill ~20 h, use --unroll checkpoint"),
    "imagenette-ipc1": ("imagenette", 1, 5, False, "FTD (ImageNette) as in the paper's Table 2", "experts ~6 h, distill ~6 h"),
}


def commands(name: str, data_root: str, experts: int, unroll: str) -> list[list[str]]:
    dataset, ipc, depth, zca, _, _ = EXPERIMENTS[name]
    root = f"runs/reproduce/{name}"
    plan = ExperimentPlan(ExperimentSettings(dataset, data_root=data_root, zca=zca, width=128, depth=depth,
                                             quiet=False), root)
    plan.experts("gsam", experts, 50, "0.3" if dataset == "cifar10" and ipc in (1, 10) else "1",
                 to=f"{root}/experts_gsam")
    proxy = plan.proxy("ftd", ipc, extra=["--unroll", unroll], to=f"{root}/ftd.safetensors")
    plan.evaluate(proxy, 5, 1000, baseline="random", overwrite=False, json=f"{root}/evaluation.json",
                  models="convnet,resnet18,vgg11,alexnet" if ipc == 50 and dataset == "cifar10" else "convnet")
    return [["ftd-nas", *stage.args] for stage in plan.stages]


def nas_commands(data_root: str) -> list[list[str]]:
    """FTD Table 5: 720 ConvNets, 500-image proxies (IPC 50), 200 epochs each; truth on the whole training set."""
    root = "runs/reproduce/nas720"
    plan = ExperimentPlan(ExperimentSettings("cifar10", data_root=data_root, zca=True, quiet=False), root)
    truth = plan.search("convnet", "real", to=f"{root}/truth")
    runs = [plan.search("convnet", proxy, to=f"{root}/{run}")
            for run, proxy in (("ftd", "runs/reproduce/cifar10-ipc50/ftd.safetensors"), ("random", "random:50"))]
    plan.report([(run, None) for run in runs], truth, overwrite=False, to=f"{root}/report")
    return [["ftd-nas", *stage.args] for stage in plan.stages]


def main() -> None:
    if sys.argv[1:2] == ["nas-table"]:  # its own options: see scripts/nas_table.py
        from nas_table import main as nas_table

        return nas_table(sys.argv[2:])
    if sys.argv[1:2] == ["nb201"]:  # its own options: see scripts/nb201.py
        from nb201 import main as nb201

        return nb201(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", nargs="?", help="one of --list, or nas720")
    p.add_argument("--list", action="store_true")
    p.add_argument("--data-root", default="data")
    p.add_argument("--experts", type=int, default=100, help="experts to train (paper: 100)")
    p.add_argument("--unroll", choices=["full", "checkpoint"], default="checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    args = p.parse_args()
    if args.list or not args.experiment:
        for name, (_, _, _, _, paper, cost) in EXPERIMENTS.items():
            print(f"{name:<16} paper: {paper:<28} estimate: {cost}")
        print(f"{'nas720':<16} paper (FTD Table 5): top-5/10/20 rho 0.87/0.68/0.54 (MTT 0.41/0.36/-0.04); "
              "truth 6,804 GPU-min in the paper, proxies 360 min")
        print(f"{'nas-table':<16} every proxy method of the literature's NAS tables side by side (--scale cpu, quick, "
              "paper); see scripts/nas_table.py")
        print(f"{'nb201':<16} NAS-Bench-201 against its published truth: training-free proxies, coresets, distilled "
              "proxies and short training (--scale cpu, quick, gpu); see scripts/nb201.py")
        return
    if args.experiment == "nas720":
        cmds = nas_commands(args.data_root)
        target = "FTD Table 5: top-5/10/20 Spearman 0.87/0.68/0.54"
    elif args.experiment in EXPERIMENTS:
        cmds = commands(args.experiment, args.data_root, args.experts, args.unroll)
        target = EXPERIMENTS[args.experiment][4]
    else:
        raise SystemExit(f"unknown experiment {args.experiment!r}; see --list")
    print(f"# {args.experiment}: the paper reports {target}")
    for cmd in cmds:
        print("$ " + shlex.join(cmd), flush=True)
        if not args.dry_run:
            if subprocess.run(cmd).returncode != 0:
                raise SystemExit(f"failed: {shlex.join(cmd)}")


if __name__ == "__main__":
    sys.exit(run_script("reproduce.py", main))

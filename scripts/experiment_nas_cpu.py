#!/usr/bin/env python
"""Does FTD rank architectures better than MTT or a random real subset, beyond noise? A CPU-sized answer.

On the CIFAR-10 subset (../shared/datasets/cifar10_subset.npz, ZCA) and two CPU cores, in stages:
  1. experts: 4 GSAM (FTD's flat experts, alpha 0.3) and 4 SGD (MTT's), ConvNet-3 width 32, 15 epochs
  2. proxies: 3 FTD and 3 MTT proxies (IPC 10) distilled with seeds 0, 1, 2 (300 iterations, 10 unrolled steps)
  3. ground truth: every candidate of `convnet-cpu` (48 ConvNets varying every axis) trained on the real
     training split for 8 epochs, 3 repeats each (for the noise ceiling)
  4. searches: the 48 candidates trained 100 epochs on each proxy, and on 3 random real subsets of the same size
  5. report: FTD, MTT and Random as groups of 3, with the truth's reliability, FTD and MTT each against Random
     (the declared family, Holm-corrected) and everything else exploratory

Every stage is resumable (the ftd-nas commands resume themselves); finished stages are skipped, and
`experiment.json` in the output folder records each stage's command and how long it took. Searches and experts
run as two worker processes, each with its share of the cores (one on 2 cores), sharing their study or folder.

    python scripts/experiment_nas_cpu.py                 # everything, about 3 hours on two cores; resumable
    python scripts/experiment_nas_cpu.py --quick         # digits and tiny settings: a smoke test of the script
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from ftd_nas.cli import run_script
from ftd_nas.cli.common import add_normalize_arg
from ftd_nas.experiment import ExperimentPlan, ExperimentSettings
from ftd_nas.proxy_methods import lookup
from ftd_nas.stages import Stage, run_stages

# the CIFAR-10 subset normalised by CIFAR-10's constants (runs started before --normalize existed: --normalize file)
FULL = dict(dataset="npz:../shared/datasets/cifar10_subset.npz", normalize="cifar10", zca=True, width=32, experts=4,
            expert_epochs=15,
            alpha=0.3, ipc=10, iterations=300, syn_steps=10, max_start=10, ema=0.99, seeds=(0, 1, 2),
            space="convnet-cpu", truth_epochs=8, repeats=3, search_epochs=100, ks=(5, 10, 20), bootstrap=1000)
QUICK = dict(dataset="digits", zca=False, width=8, experts=2, expert_epochs=4, alpha=0.3, ipc=2, iterations=3,
             syn_steps=3, max_start=2, ema=0.9, seeds=(0, 1), space="convnet-tiny", truth_epochs=2, repeats=2,
             search_epochs=5, ks=(3, 5), bootstrap=100)


def stages(s: dict, out: Path) -> list[Stage]:
    """The experiment's stages, in order."""
    plan = ExperimentPlan(ExperimentSettings(s["dataset"], zca=s["zca"], normalize=s.get("normalize"),
                                             width=s["width"], device="cpu"), out)
    for optimizer in ("gsam", "sgd"):
        plan.experts(optimizer, s["experts"], s["expert_epochs"], s["alpha"], workers=2)
    proxies = {}
    for method in ("ftd", "mtt"):
        ema = ["--ema-decay", str(s["ema"])] if lookup(method).keeps_ema else []
        for seed in s["seeds"]:
            proxies[method, seed] = plan.proxy(method, s["ipc"], seed=seed, name=f"distill-{method}-{seed}",
                                               file=f"{method}_s{seed}", extra=[
                "--preset", "cifar10", "--syn-steps", str(s["syn_steps"]), "--max-start-epoch", str(s["max_start"]),
                "--lr-teacher", "0.01", "--iterations", str(s["iterations"]), *ema])
    truth = plan.search(s["space"], "real", epochs=s["truth_epochs"], repeats=s["repeats"], workers=2, name="truth",
                        run="truth")
    runs = []
    for label, method in (("FTD", "ftd"), ("MTT", "mtt")):
        for seed in s["seeds"]:
            runs.append((plan.search(s["space"], proxies[method, seed], epochs=s["search_epochs"], workers=2,
                                     name=f"search-{method}-{seed}", run=f"{method}_s{seed}"), label))
    for seed in s["seeds"]:
        runs.append((plan.search(s["space"], f"random:{s['ipc']}", epochs=s["search_epochs"], seed=seed, workers=2,
                                 name=f"search-random-{seed}", run=f"random_s{seed}"), "Random"))
    plan.report(runs, truth, ks=s["ks"], bootstrap=s["bootstrap"])
    return plan.stages


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="digits and tiny settings (a smoke test of the script)")
    p.add_argument("--out", default=None, help="work folder (default runs/nas_cpu[_quick])")
    p.add_argument("--figures", default=None, help="copy the report's table and main figures here at the end")
    add_normalize_arg(p, default=None)  # None: the settings'; `file` resumes folders made before it
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    s = dict(QUICK if args.quick else FULL, **({"normalize": args.normalize} if args.normalize else {}))
    out = Path(args.out or ("runs/nas_cpu_quick" if args.quick else "runs/nas_cpu"))
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()}
    record = run_stages(stages(s, out), out, settings)
    total = sum(v["seconds"] for v in record["stages"].values())
    print(f"all stages done in {total / 3600:.2f} h of wall time; report in {out / 'report'}")
    if args.figures:
        target = Path(args.figures)
        target.mkdir(parents=True, exist_ok=True)
        # candidates.csv: every candidate's scores, so the report can be recomputed from the repository alone
        for name in ("report.md", "report.csv", "candidates.csv", "groups_spearman.png", "topk_by_real.png"):
            shutil.copy(out / "report" / name, target / name)
        shutil.copy(out / "experiment.json", target / "experiment.json")
        print(f"copied the table, figures and stage times to {target}")


if __name__ == "__main__":
    sys.exit(run_script("experiment_nas_cpu.py", main))

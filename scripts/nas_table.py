#!/usr/bin/env python
"""The NAS comparison table of the dataset-distillation literature, in one resumable command.

Rows: Random, Herding, K-Center (real-image coresets), DSA, DM, MTT, FTD (distilled), Early stopping (the
candidates trained on the whole real set for as many epochs as fit FTD's search time) and the Whole dataset
(the ground truth itself). Columns: the proxy's accuracy (ConvNet, mean ± std over runs), Spearman and Kendall
with the real-data ranking (95% intervals), top-5/10/20 rho in both readings, regret, creation time (the proxy
file's own work time, plus the experts' wall time for MTT and FTD), search time (wall, all workers) and images
per candidate; with the truth's reliability, and Holm-corrected comparisons in report.md. With --seeds N every
method has N proxies (seeds 0..N-1) that the report treats as a group, so the intervals include what the proxy's seed
changes; the rows then give group intervals, accuracy over all proxies' runs and costs per proxy.

    python scripts/reproduce.py nas-table                      # CPU scale, CIFAR-10 subset; resumable
    python scripts/reproduce.py nas-table --seeds 3            # the same, 3 proxies per method (adds seeds 1, 2)
    python scripts/reproduce.py nas-table --scale quick        # digits, tiny settings: a smoke test
    python scripts/reproduce.py nas-table --scale paper --data-root DATA   # CIFAR-10, IPC 50, 720 ConvNets (GPU)

At CPU scale the distillations run far fewer iterations than their papers' presets (DSA 100 with inner loops
of 10, DM 2,000, MTT and FTD 300) and the truth trains 8 epochs: the table answers the question at that scale.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import statistics
import sys
from pathlib import Path

from ftd_nas.agreement import format_interval, format_value
from ftd_nas.cli import run_script
from ftd_nas.cli.common import add_normalize_arg
from ftd_nas.experiment import ExperimentPlan, ExperimentSettings
from ftd_nas.io import write_json
from ftd_nas.proxy_methods import SELECTED, REGISTRY, display_name, lookup
from ftd_nas.stages import Stage, run_stages

ROWS = [(display_name(m), m) for m in ("random", "herding", "kcenter", "dsa", "dm", "mtt", "ftd")]
SCALES = {
    # cpu: the CIFAR-10 subset normalised by CIFAR-10's constants, as the papers' code normalises CIFAR-10 (work
    # folders started before --normalize existed used the subset's own statistics: resume them with --normalize file)
    "cpu": dict(dataset="npz:../shared/datasets/cifar10_subset.npz", normalize="cifar10", data_root="data", zca=True,
                width=32, depth=3,
                experts=4, expert_epochs=15, alpha=0.3, ipc=10, space="convnet-cpu", truth_epochs=8, repeats=3,
                search_epochs=100, eval_runs=3, eval_epochs=300, select_epochs=20, device="cpu", workers=2,
                distill={"ftd": ["--iterations", "300", "--syn-steps", "10", "--max-start-epoch", "10",
                                 "--lr-teacher", "0.01", "--ema-decay", "0.99", "--preset", "cifar10"],
                         "mtt": ["--iterations", "300", "--syn-steps", "10", "--max-start-epoch", "10",
                                 "--lr-teacher", "0.01", "--preset", "cifar10"],
                         "dsa": ["--iterations", "100", "--inner-loop", "10"], "dm": ["--iterations", "2000"]},
                ks=(5, 10, 20), bootstrap=1000),
    # quick: like experiment_nas_cpu.py --quick where they overlap, so --reuse can be tried in seconds
    "quick": dict(dataset="digits", data_root="data", zca=False, width=8, depth=3, experts=2, expert_epochs=4,
                  alpha=0.3, ipc=2, space="convnet-tiny", truth_epochs=2, repeats=2, search_epochs=5, eval_runs=1,
                  eval_epochs=5, select_epochs=1, device="cpu", workers=2,
                  distill={"ftd": ["--iterations", "3", "--syn-steps", "3", "--max-start-epoch", "2", "--lr-teacher",
                                   "0.01", "--ema-decay", "0.9", "--preset", "cifar10"],
                           "mtt": ["--iterations", "3", "--syn-steps", "3", "--max-start-epoch", "2", "--lr-teacher",
                                   "0.01", "--preset", "cifar10"],
                           "dsa": ["--iterations", "2", "--outer-loop", "2", "--inner-loop", "1"],
                           "dm": ["--iterations", "5"]},
                  ks=(3, 5), bootstrap=100),
    "paper": dict(dataset="cifar10", data_root="data", zca=True, width=128, depth=3, experts=100, expert_epochs=50,
                  alpha=1.0, ipc=50, space="convnet", truth_epochs=200, repeats=3, search_epochs=200, eval_runs=5,
                  eval_epochs=1000, select_epochs=50, device="auto", workers=1,
                  distill={"ftd": ["--unroll", "checkpoint"], "mtt": ["--unroll", "checkpoint"], "dsa": [], "dm": []},
                  ks=(5, 10, 20), bootstrap=1000),
}


def tag(name: str, seed: int) -> str:
    """A stage, proxy or run name for one seed: seed 0 keeps the bare name (so --seeds 1 tables stay as they were)."""
    return name if seed == 0 else f"{name}-s{seed}"


def evaluation_path(out: Path, name: str) -> Path:
    return out / "evaluations" / f"{name}.json"


def report_dir(out: Path, seeds: int, kind: str = "report") -> Path:
    """Each number of proxies per method has its own report (and stage) and table, so none overwrites another's."""
    return out / (kind if seeds == 1 else f"{kind}-seeds{seeds}")


def plan_settings(s: dict, out: Path) -> ExperimentPlan:
    """An empty plan in `out` with the data, network and device the proxies of scale `s` are made with."""
    return ExperimentPlan(ExperimentSettings(s["dataset"], data_root=s["data_root"], zca=s["zca"],
                                             normalize=s.get("normalize"), width=s["width"], depth=s["depth"],
                                             device=s["device"]), out)


def add_proxies(plan: ExperimentPlan, s: dict, methods: list[str], seeds: int = 1) -> dict[tuple[str, int], Path]:
    """The expert trajectories `methods` match, then each method's proxies (seeds 0..seeds-1) as this table makes
    them at scale `s`: its distillation options, selection epochs, IPC and experts. Returns {(method, seed): the
    proxy file}. scripts/nb201.py makes its proxies with this too, so both experiments' proxies are the same."""
    for optimizer in ("gsam", "sgd"):
        if any(lookup(m).experts == optimizer for m in methods):
            plan.experts(optimizer, s["experts"], s["expert_epochs"], s["alpha"], workers=s["workers"])
    # selections first, then distillations from the real data, then from experts: the order the records have
    order = sorted(methods, key=lambda m: (lookup(m).kind != SELECTED, lookup(m).experts is not None))
    proxy = {}
    # seed 0 (`k or None`) is every command's default: leaving it out keeps the one-proxy table's commands as they were
    for k in range(seeds):
        for method in order:
            verb = "select" if lookup(method).kind == SELECTED else "distill"
            extra = ["--epochs", str(s["select_epochs"])] if verb == "select" else s["distill"][method]
            proxy[method, k] = plan.proxy(method, s["ipc"], seed=k or None, extra=extra,
                                          name=tag(f"{verb}-{method}", k), file=tag(method, k))
    return proxy


def stages(s: dict, out: Path, seeds: int = 1) -> list[Stage]:
    plan = plan_settings(s, out)
    workers = s["workers"]
    methods = [m for _, m in ROWS]
    proxy = add_proxies(plan, s, methods, seeds)
    for k in range(seeds):
        for method in methods:
            plan.evaluate(proxy[method, k], s["eval_runs"], s["eval_epochs"], json=evaluation_path(out, tag(method, k)),
                          name=tag(f"evaluate-{method}", k))
    truth = plan.search(s["space"], "real", epochs=s["truth_epochs"], repeats=s["repeats"], workers=workers,
                        name="truth", run="truth")
    for k in range(seeds):
        for method in methods:
            plan.search(s["space"], proxy[method, k], epochs=s["search_epochs"], workers=workers,
                        name=tag(f"search-{method}", k), run=tag(method, k))
    for k in range(seeds):  # early stopping has no proxy to vary: its seeds are the candidates' training seeds
        plan.search(s["space"], "real", epochs=lambda record: early_epochs(out, s), seed=k or None, workers=workers,
                    name=tag("search-early", k), run=tag("early", k))
    runs = [(out / "search" / tag(method, k), label) for label, method in ROWS + [("Early stopping", "early")]
            for k in range(seeds)]
    plan.report(runs, truth, ks=s["ks"], bootstrap=s["bootstrap"], name=report_dir(out, seeds).name,
                to=report_dir(out, seeds))
    return plan.stages


# stage here <- (stage of scripts/experiment_nas_cpu.py, what it wrote there, where it goes here): the same
# commands up to paths (that experiment distilled FTD and MTT with seeds 0, 1, 2 and searched each proxy), so the
# table can take them from a finished run of that experiment
REUSABLE = {
    "experts-gsam": ("experts-gsam", ["experts/gsam"], ["experts/gsam"]),
    "experts-sgd": ("experts-sgd", ["experts/sgd"], ["experts/sgd"]),
    "truth": ("truth", ["search/truth"], ["search/truth"]),
    **{tag(f"distill-{m}", k): (f"distill-{m}-{k}", [f"proxies/{m}_s{k}.safetensors{x}" for x in ("", ".run")],
                                [f"proxies/{tag(m, k)}.safetensors{x}" for x in ("", ".run")])
       for m in ("ftd", "mtt") for k in range(3)},
    **{tag(f"search-{m}", k): (f"search-{m}-{k}", [f"search/{m}_s{k}"], [f"search/{tag(m, k)}"])
       for m in ("ftd", "mtt") for k in range(3)},
}


def reuse(source: Path, out: Path, wanted: set[str]) -> dict:
    """Copy the finished stages of an experiment_nas_cpu.py run that this table has (`wanted`); returns {stage:
    its record there}. The table's own stages then run their commands over the copies: each finds its work
    finished (checking its settings) and the table keeps the time the work took where it was done."""
    done = json.loads((source / "experiment.json").read_text())["stages"]
    taken = {}
    for stage, (theirs, sources, targets) in REUSABLE.items():
        if stage not in wanted or not done.get(theirs, {}).get("done"):
            continue
        for src, dst in zip(sources, targets):
            if src.endswith(".run") and not (source / src).exists():
                continue  # a finished proxy's work folder (log, checkpoint, images), which a snapshot may leave out
            if not (out / dst).exists():
                (out / dst).parent.mkdir(parents=True, exist_ok=True)
                (shutil.copytree if (source / src).is_dir() else shutil.copy)(source / src, out / dst)
        taken[stage] = done[theirs]
    return taken


def early_epochs(out: Path, s: dict) -> int:
    """Epochs of real-data training that cost what FTD's search cost, from the training seconds both runs record
    per candidate (not stage wall times, which for a reused or resumed stage are not the work's cost)."""
    from ftd_nas.search.runner import load_run

    def training_seconds(run: str) -> float:
        return sum(row.seconds or 0.0 for row in load_run(out / "search" / run).rows)

    per_epoch = training_seconds("truth") / (s["truth_epochs"] * s["repeats"])  # all candidates, one epoch
    return max(1, round(training_seconds("ftd") / per_epoch))


def _cell(metric: dict) -> str:
    """A group's estimate and interval (report.json's `groups[label]["metrics"][metric]`) as a cell."""
    return format_interval(metric.get("value"), metric.get("ci"))


EXPERTS = {name: f"experts-{m.experts}" for name, m in REGISTRY.items() if m.experts}


def creation_seconds(run: dict, method: str, record: dict) -> float:
    """What making the proxy cost: the work time its file records (summed over resumed attempts, unlike a stage's
    wall time before stages.py counted every attempt), plus the expert trajectories trajectory matching needs."""
    seconds = run["creation_seconds"] or 0.0
    return seconds + (record["stages"][EXPERTS[method]]["seconds"] if method in EXPERTS else 0.0)


def build_table(out: Path, s: dict, record: dict, seeds: int = 1) -> tuple[list[dict], str]:
    """One row per method; with several seeds, its proxies form a group: estimates and intervals are the group's
    (report.json), accuracy over every evaluation run of every proxy, costs per proxy (mean)."""
    from ftd_nas.search.record import SearchRunRecord
    from ftd_nas.search.report_record import read_report

    report = read_report(report_dir(out, seeds))
    truth_images = SearchRunRecord.read(out / "search" / "truth").train_images
    ceiling = report.noise_ceiling or {}
    runs = {Path(r["run"]).name: r for r in report.runs}
    rows = []
    for label, method in ROWS + [("Early stopping", "early")]:
        names, group = [tag(method, k) for k in range(seeds)], report.groups[label]["metrics"]
        accs = [100 * a for n in names if method != "early" for a in
                json.loads(evaluation_path(out, n).read_text())["sets"]["proxy"]["results"]["convnet"][
                    "test_acc"]]
        rows.append({"method": label, "proxies": seeds, "proxy_acc": statistics.mean(accs) if accs else None,
                     "proxy_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0 if accs else None,
                     "spearman": _cell(group["spearman"]), "kendall": _cell(group["kendall"]),
                     **{f"top{k}_{way}": _cell(group[f"top{k}_{way}"]) for k in s["ks"]
                        for way in ("by_real", "by_proxy")},
                     "regret": 100 * group["regret"]["value"],
                     "creation_min": statistics.mean(creation_seconds(runs[n], method, record) for n in names) / 60,
                     "search_min": statistics.mean(record["stages"][f"search-{n}"]["seconds"] for n in names) / 60,
                     "images": runs[names[0]]["train_images"]})
    rows.append({"method": "Whole dataset", "proxies": 0, "proxy_acc": None, "proxy_acc_std": None,
                 "spearman": f"1 (reliability {format_value(ceiling.get('rho'))}, noiseless proxy "
                             f"{format_value(ceiling.get('bound'))})", "kendall": "1",
                 **{f"top{k}_{way}": "1" for k in s["ks"] for way in ("by_real", "by_proxy")}, "regret": 0.0,
                 "creation_min": 0.0, "search_min": record["stages"]["truth"]["seconds"] / 60 / s["repeats"],
                 "images": truth_images})
    head = ["method", "proxies", "proxy acc (%)", "Spearman [95% CI]", "Kendall [95% CI]"]
    head += [f"top {k} ({'real' if way == 'by_real' else 'proxy'})" for k in s["ks"] for way in ("by_real", "by_proxy")]
    head += ["regret (pts)", "creation (min)", "search (min)", "images"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        acc = f"{r['proxy_acc']:.1f} ± {r['proxy_acc_std']:.1f}" if r["proxy_acc"] is not None else "-"
        cells = [r["method"], str(r["proxies"] or "-"), acc, r["spearman"], r["kendall"]]
        cells += [r[f"top{k}_{way}"] for k in s["ks"] for way in ("by_real", "by_proxy")]
        cells += [f"{r['regret']:.1f}", f"{r['creation_min']:.1f}", f"{r['search_min']:.1f}", str(r["images"])]
        lines.append("| " + " | ".join(cells) + " |")
    return rows, "\n".join(lines) + "\n"


def write_table(out: Path, s: dict, record: dict, seeds: int = 1) -> Path:
    from ftd_nas.figures.ranking import draw_interval
    from ftd_nas.figures.save import new_figure, save_figure
    from ftd_nas.search.report_record import read_report

    rows, table = build_table(out, s, record, seeds)
    target = report_dir(out, seeds, "table")
    target.mkdir(parents=True, exist_ok=True)
    (target / "table.md").write_text(table)
    with open(target / "table.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = read_report(report_dir(out, seeds))
    fig, ax = new_figure(figsize=(8, 4))
    labels = [name for name, _ in ROWS] + ["Early stopping"]
    for i, label in enumerate(labels):
        metric = report.groups[label]["metrics"]["spearman"]
        draw_interval(ax, i, metric["value"], metric["ci"], color=f"C{i}")
    ceiling = report.noise_ceiling
    if ceiling and ceiling.get("bound"):
        ax.axhline(ceiling["bound"], color="grey", ls="--", lw=1,
                   label=f"noiseless proxy ≈ {ceiling['bound']:.2f} (√ reliability)")
        ax.legend(fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("Spearman ρ with real-data ranking")
    per = f"{seeds} proxies per method" if seeds > 1 else "one proxy per method"
    ax.set_title(f"NAS proxies on {s['space']} (IPC {s['ipc']}, {per}): rho with 95% intervals", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    save_figure(fig, target / "spearman")
    return target


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=list(SCALES), default="cpu")
    p.add_argument("--data-root", default=None, help="folder of named datasets (paper scale: CIFAR-10)")
    p.add_argument("--out", default=None, help="work folder (default runs/nas_table_SCALE)")
    p.add_argument("--figures", default=None, help="copy the table, its figure and the stage times here at the end")
    p.add_argument("--reuse", default=None, metavar="DIR",
                   help="take experts, the FTD and MTT proxies (seeds 0-2), their searches and the truth from a "
                        "finished scripts/experiment_nas_cpu.py run in DIR (same settings at CPU scale)")
    p.add_argument("--seeds", type=int, default=1,
                   help="proxies per method, made with seeds 0..N-1 (early stopping: N training seeds); with N > 1 "
                        "each method is a group and its intervals include what the proxy's seed changes (default 1)")
    add_normalize_arg(p, default=None)  # None: the scale's; `file` resumes or reuses folders made before it
    args = p.parse_args(argv)
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    s = dict(SCALES[args.scale], **({"data_root": args.data_root} if args.data_root else {}),
             **({"normalize": args.normalize} if args.normalize else {}))
    out = Path(args.out or f"runs/nas_table_{args.scale}")
    plan = stages(s, out, args.seeds)
    taken = reuse(Path(args.reuse), out, {stage.name for stage in plan}) if args.reuse else {}
    record = run_stages(plan, out, {**{k: list(v) if isinstance(v, tuple) else v for k, v in s.items()},
                                    "seeds": args.seeds})
    for stage, theirs in taken.items():  # the time the work took where it was done, not the time to check it
        if "reused_from" not in record["stages"][stage]:
            record["stages"][stage].update(seconds=theirs["seconds"], reused_from=str(args.reuse))
    write_json(out / "experiment.json", record)
    target = write_table(out, s, record, args.seeds)
    print((target / "table.md").read_text())
    print(f"table, CSV and figure in {target}; report with comparisons in {report_dir(out, args.seeds)}")
    if args.figures:
        dest = Path(args.figures)
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("table.md", "table.csv", "spearman.png"):
            shutil.copy(target / name, dest / name)
        for name in ("report.md", "report.csv", "candidates.csv"):  # candidates.csv: recompute from the repository
            shutil.copy(report_dir(out, args.seeds) / name, dest / name)
        shutil.copy(out / "experiment.json", dest / "experiment.json")


if __name__ == "__main__":
    sys.exit(run_script("nas_table.py", main))

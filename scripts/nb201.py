#!/usr/bin/env python
"""NAS-Bench-201 against its published truth: training-free proxies, coresets, distilled proxies and short real
training side by side, in one resumable command.

    python scripts/reproduce.py nb201                       # CPU scale (below); resumable
    python scripts/reproduce.py nb201 --reuse-proxies runs/nas_cpu runs/nas_table_cpu   # take finished proxies
    python scripts/reproduce.py nb201 --scale quick         # tiny settings: a smoke test of the script (minutes)
    python scripts/reproduce.py nb201 --scale gpu --data-root DATA   # full CIFAR-10, whole space (a GPU machine)

Stages (each an ftd-nas command; finished ones are skipped, an interrupted one resumes; OUT/experiment.json records
each one's command and time):

1. truth: `ftd-nas truth` imports the benchmark's table (../shared/datasets/nats_bench_tss.csv: CIFAR-10 test
   accuracy after the benchmark's 200-epoch training, on the full CIFAR-10) over the nb201 space. Nothing is trained.
2. training-free proxies: `search --proxy zc:NAME` for synflow, snip, grad_norm, jacov, naswot, params and flops on
   the benchmark's own network (C 16, N 5) over a seeded sample of unique cells (OUT/spaces/zc.yaml). Their input is
   the CIFAR-10 subset normalised by the dataset's mean and std, without ZCA: the published scorers were run on
   normalised CIFAR-10 (Abdelfattah et al.'s and Mellor et al.'s code), and each scorer's other choices (batch,
   batch-norm mode, precision) are its registry entry's (README, "Training-free proxies"). The scorers with a
   published value also score a seeded sample of all 15,625 cells, isomorphic duplicates included
   (OUT/spaces/zc-published.yaml): the frame their Spearman was published in, which differs from unique cells (a
   check on 300 cells each, 2026-12-04: synflow 0.76 over all cells against 0.81 over unique ones, snip 0.62
   against 0.44; published 0.737 and 0.596), so the comparison with the papers is made there.
3. trained proxies on a smaller seeded sample of unique cells, nested in the first (same seed), in a reduced network
   (OUT/spaces/trained.yaml): every candidate trained on a random subset, a herding coreset, DSA, DM, MTT and FTD
   proxies at the scale's IPC (made from the CIFAR-10 subset with ZCA, by the same commands as
   scripts/nas_table.py's, or taken finished from other experiments with --reuse-proxies), and on the real
   training split of the subset for a few epochs ("early stopping"). Proxy searches score on the real validation
   split; the report ranks them by it.
4. reports: `ftd-nas report` of every run against the truth over the trained sample (a report compares runs over
   one set of candidates, so the training-free proxies also score those cells in runs of their own: the same seeds,
   so the same scores as in their larger runs), and of the training-free runs alone over their whole sample; then
   OUT/table.md and table.csv (Spearman and Kendall with 95% intervals, Kendall over the better half of the truth,
   top-k both ways, regret in points, creation and search cost) and OUT/spearman.png, with the training-free
   proxies' Spearman beside the values their papers published (PUBLISHED).

Scales (chosen from measurements on the 2-core development machine, OMP_NUM_THREADS=1, while another experiment
ran there at nice 15 and other sessions' processes took about 0.7 of a core: the process measured got about 60% of
a core, so these are upper bounds, and the estimates for idle cores below divide by about 1.6):

- `ftd-nas search --plan` (DSA on, batch 256, an IPC-10 random subset of the CIFAR-10 subset with ZCA: 100
  images, one step per epoch), seconds per training epoch (3-5 candidates from the smallest to the largest cell):
  C 8 N 1: 0.30-0.60 (mean 0.42); C 8 N 2: 0.52-1.05; C 16 N 1: 0.70-1.22. Building a candidate and scoring it on
  the validation and test splits (C 8 N 1): 2.0-7.6 s (mean 3.7). Without DSA, C 8 N 1 trains at 0.31-0.51 s per
  epoch: the network, not the augmentation, is the cost; cells of average pooling are the slowest on a CPU.
- one epoch of real training (the subset's 4,577 training images, DSA on): C 8 N 1: 10.6-20.4 s; C 16 N 1:
  30.6-40.9 s.
- the training-free scorers on the benchmark network (C 16, N 5), median (range) seconds per candidate as the
  search records them over 8 mixed cells: synflow 0.23 (0.18-0.41), snip 1.28 (0.67-1.64), grad_norm 1.06
  (0.80-1.41), jacov 1.60 (1.09-2.34), naswot 4.52 (3.47-6.02), params 0.001, flops 0.03; building the network
  and the study's bookkeeping add about 0.5 s per candidate and scorer: about 12 s per cell for all seven.

cpu scale: training-free proxies over 1,000 of the 6,466 unique cells (12 s per cell: 1.7 hours on two cores as
measured here, about one when idle; all 6,466 would take about 7 idle hours), and the four with a published value
over 500 of all 15,625 cells (about 5 s per cell for the four: about 20 minutes on two cores); trained proxies over 200 of them in
C 8, N 1 (a quarter of the benchmark's width, one cell per stage: C 16 N 1 or C 8 N 2 cost 2-3 times more per
epoch), 40 epochs on each IPC-10 proxy (about 21 s per candidate with building, scoring and bookkeeping) and 1
epoch of real training for early stopping (about 19 s per candidate: early stopping costs about what a proxy
search costs). Projected on 2 idle cores: the seven trained searches about 2.5 hours (4 as measured here), the
seven training-free ones about an hour, and their runs over the 200 trained cells (for the common report) about
12 minutes more. With --reuse-proxies nothing is distilled; without, the proxies cost what
nas_table.py's cpu scale costs them: several more hours (experiment_nas_cpu.py recorded 7 and 9 minutes for the
two sets of experts and about 40 minutes per FTD proxy on this machine; DSA and DM come on top).

quick scale: 10 cells (the training-free ones in C 4 N 1 too), 2 epochs, IPC 2 proxies with a few distillation
iterations (nas_table's quick settings on the CIFAR-10 subset, no ZCA), one worker, every stage in this process: a
smoke test of the script, not a result. About 11 minutes with 20 cells on the loaded machine (half of it the one
real epoch per cell and the proxies' searches), so about 6 with these 10 and less on idle cores.

gpu scale: the whole unique space (6,466 cells) for the training-free proxies, 1,000 cells in the benchmark's own
network (C 16, N 5) for the trained ones, IPC 50 proxies of the full CIFAR-10 (nas_table.py's paper scale, as
DC-BENCH's NAS-Bench-201 search used), 200 epochs on each proxy, 12 epochs of real training (the benchmark's own
short schedule). Not yet run on a GPU: its cost is an estimate (about a day on one GPU for the searches).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nas_table  # noqa: E402  (the proxies' commands and the table helpers are that table's)

from ftd_nas.agreement import format_interval, format_value  # noqa: E402
from ftd_nas.cli import run_script  # noqa: E402
from ftd_nas.cli.common import add_normalize_arg  # noqa: E402
from ftd_nas.errors import InputError  # noqa: E402
from ftd_nas.io import write_json  # noqa: E402
from ftd_nas.models.nb201_cells import EDGE_AXES, OPS  # noqa: E402
from ftd_nas.proxy_methods import display_name  # noqa: E402
from ftd_nas.stages import Stage, run_stages  # noqa: E402

SCORERS = ("synflow", "snip", "grad_norm", "jacov", "naswot", "params", "flops")
METHODS = ("random", "herding", "dsa", "dm", "mtt", "ftd")
TABLE = "../shared/datasets/nats_bench_tss.csv"
SUBSET = "npz:../shared/datasets/cifar10_subset.npz"
# The training-free scorers read the real data themselves: as published (Abdelfattah et al.'s minibatch of CIFAR-10
# normalised by the standard constants), not whitened and not by the subset's own statistics. The trained proxies'
# files fix their own preprocessing (that of the experiments they are reused from).
ZC_NORMALIZE = "cifar10"

# zc_net, trained_net: (C, N) of the networks; zc_sample, trained_sample: cells kept of the 6,466 unique ones (None:
# all), seeded by sample_seed; published_sample: cells kept of all 15,625 (isomorphic duplicates included, None: all),
# which the scorers with a published value score in the published frame (PUBLISHED); search_epochs: training on each proxy; early_epochs: on the real subset; proxies: the nas_table.py
# scale whose commands make the proxies (its data, ZCA, ConvNet and device are the searches' too); in_process: run
# the stages in this process (one worker), which saves an interpreter start per stage.
SCALES = {
    "cpu": dict(table=TABLE, zc_net=(16, 5), zc_sample=1000, published_sample=500, trained_net=(8, 1),
                trained_sample=200, sample_seed=0, search_epochs=40, early_epochs=1, workers=2, ks=(5, 10, 20),
                bootstrap=1000, proxies=nas_table.SCALES["cpu"], in_process=False),
    "quick": dict(table=TABLE, zc_net=(4, 1), zc_sample=10, published_sample=10, trained_net=(4, 1), trained_sample=10,
                  sample_seed=0, search_epochs=2, early_epochs=1, workers=1, ks=(3, 5), bootstrap=100,
                  # nas_table's quick proxies, but from the CIFAR-10 subset: the truth judges CIFAR-10 runs only
                  proxies=dict(nas_table.SCALES["quick"], dataset=SUBSET, zca=False, workers=1), in_process=True),
    "gpu": dict(table=TABLE, zc_net=(16, 5), zc_sample=None, published_sample=None, trained_net=(16, 5),
                trained_sample=1000, sample_seed=0, search_epochs=200, early_epochs=12, workers=1, ks=(5, 10, 20),
                bootstrap=1000, proxies=nas_table.SCALES["paper"], in_process=False),
}

# Each scorer's whole-space Spearman with NAS-Bench-201's CIFAR-10 accuracy as its authors published it, with where
# it was read. Only values read in a source are here; None where none could be confirmed (said in the table).
# Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021: Table 1 as their companion code prints
# it (SamsungLabs/zero-cost-nas, notebooks/nasbench201_correlations.ipynb at commit ca61347, cell "Table 1:
# Spearman ρ of zero-cost proxies on NAS-Bench-201", row CIFAR10). That notebook takes |ρ| over all 15,625 cells
# (isomorphic duplicates included), one random minibatch of 64 normalised CIFAR-10 images, against the accuracy its
# nasbench2_pred.py reads from the benchmark's `cifar10-valid` entry (200 epochs), not the CSV's CIFAR-10 test
# column used here; so differences of a few hundredths are expected from that alone. Secondary sources quote the
# paper's table as synflow 0.74, jacob_cov 0.73, grad_norm 0.58 and snip 0.58; the paper's own table could not be
# read here (only its opening is stored), so the notebook's values stand.
# Mellor et al., "Neural Architecture Search without Training", ICML 2021 (naswot): no whole-space Spearman on
# NAS-Bench-201 CIFAR-10 could be found in what could be read (the paper's opening; BayesWatch/nas-without-training's
# README, which reports search accuracies only). params and flops: Abdelfattah et al.'s notebook does not print them
# and NAS-Bench-Suite-Zero's (Krishnakumar et al., NeurIPS 2022) tables could not be read here; a secondary summary
# of the EZNAS paper lists 0.75 for both, unconfirmed, so not used.
ABDELFATTAH = ("Abdelfattah et al., ICLR 2021, Table 1 (SamsungLabs/zero-cost-nas "
               "notebooks/nasbench201_correlations.ipynb, |ρ| over all 15,625 cells vs cifar10-valid)")
PUBLISHED: dict[str, tuple[float | None, str]] = {
    "synflow": (0.737, ABDELFATTAH),
    "snip": (0.596, ABDELFATTAH),
    "grad_norm": (0.594, ABDELFATTAH),
    "jacov": (0.731, ABDELFATTAH + " as jacob_cov"),
    "naswot": (None, "not confirmed (Mellor et al., ICML 2021: no whole-space Spearman found)"),
    "params": (None, "not confirmed (NAS-Bench-Suite-Zero's table could not be read)"),
    "flops": (None, "not confirmed (NAS-Bench-Suite-Zero's table could not be read)"),
}


PUBLISHED_SCORERS = tuple(name for name, (value, _) in PUBLISHED.items() if value is not None)


def space_text(name: str, C: int, N: int, sample: int | None, seed: int, what: str, unique: bool = True) -> str:
    """A space file of (unique) NAS-Bench-201 cells in a network of C channels and N cells per stage, keeping a
    seeded sample of `sample` of them (all with None). The same seed gives nested samples, so the trained proxies'
    cells are among the training-free ones'."""
    data = {"name": name, "description": what, "model": "nb201", "axes": {axis: list(OPS) for axis in EDGE_AXES},
            "fixed": {"C": C, "N": N}, "unique": unique}
    if sample is not None:
        data["sample"] = {"size": sample, "seed": seed}
    return yaml.safe_dump(data, sort_keys=False)


def shared_zc(s: dict) -> bool:
    """Whether the training-free runs' sample is the trained runs' sample, so one set of runs serves both reports."""
    return s["zc_sample"] == s["trained_sample"]


def write_spaces(s: dict, out: Path) -> dict[str, Path]:
    """OUT/spaces/*.yaml, written afresh each time (a search run refuses a changed space): zc (the training-free
    sample, benchmark network), trained (the trained sample, reduced network) and, where the samples differ,
    zc-common (the trained sample in the benchmark network: a report compares runs over one set of candidates, so
    the training-free proxies score the trained sample on its own too; their seeds do not depend on the sample, so
    those scores are the same as in the larger run), and zc-published (a sample of all cells, isomorphic duplicates
    included: the frame the published correlations were computed in, which ranks differently from unique cells)."""
    folder = out / "spaces"
    folder.mkdir(parents=True, exist_ok=True)
    (C, N), (c, n), seed = s["zc_net"], s["trained_net"], s["sample_seed"]
    texts = {"zc": space_text("nb201-zc", C, N, s["zc_sample"], seed,
                              "unique NAS-Bench-201 cells scored by the training-free proxies"),
             "trained": space_text(f"nb201-c{c}n{n}", c, n, s["trained_sample"], seed,
                                   "unique NAS-Bench-201 cells in a reduced network, trained on each proxy"),
             # the frame the scorers' Spearman was published in: every cell, isomorphic duplicates included
             "zc-published": space_text("nb201-zc-published", C, N, s["published_sample"], seed,
                                        "NAS-Bench-201 cells, duplicates included, as the published correlations "
                                        "counted them", unique=False)}
    if not shared_zc(s):
        texts["zc-common"] = space_text("nb201-zc-common", C, N, s["trained_sample"], seed,
                                        "the trained proxies' cells, scored by the training-free proxies")
    paths = {}
    for name, text in texts.items():
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(text)
    return paths


def early_label(s: dict) -> str:
    epochs = s["early_epochs"]
    return f"Early stopping ({epochs} epoch{'s' if epochs != 1 else ''})"


def zc_run(name: str, common: bool) -> str:
    """The run (and stage) name of a training-free search: over its own sample, or over the trained sample."""
    return f"{'common-' if common else ''}zc-{name}"


def labels(s: dict, common: bool = True) -> dict[str, str]:
    """run name -> its group label, for the report over the trained sample (`common`) or the training-free one,
    in the table's order."""
    zc = {zc_run(name, common and not shared_zc(s)): name for name in SCORERS}
    if not common:
        return zc
    return {**zc, **{m: display_name(m) for m in METHODS}, "early": early_label(s)}


def stage_of(run: str) -> str:
    """The stage that made a search run (by its folder name), for its time in experiment.json."""
    return run if run.startswith(("zc-", "common-zc-", "published-zc-")) else f"search-{run}"


def reused_path(out: Path, method: str) -> Path:
    return out / "proxies" / "reused" / f"{method}.safetensors"


def stages(s: dict, out: Path, reuse: bool = False) -> tuple[list[Stage], list[Stage]]:
    """The experiment's stages as two lists: those that need no reused proxy (truth, training-free, early stopping,
    and the proxies themselves when made here), then the rest; proxies taken with --reuse-proxies are copied in
    between, so a run can start before the experiments making them have finished."""
    plan = nas_table.plan_settings(s["proxies"], out)
    spaces = {name: out / "spaces" / f"{name}.yaml" for name in ("zc", "trained", "zc-common", "zc-published")}
    workers = s["workers"]
    truth = plan.truth("nb201", table=s["table"], to=out / "truth")
    zc_runs = {}
    for common in (False, True) if not shared_zc(s) else (False,):
        for name in SCORERS:
            run = zc_run(name, common)
            zc_runs[run] = plan.search(spaces["zc-common" if common else "zc"], f"zc:{name}", workers=workers,
                                       name=run, run=run, zca=False, normalize=ZC_NORMALIZE)
    published = {}
    for name in PUBLISHED_SCORERS:
        run = f"published-zc-{name}"
        published[run] = plan.search(spaces["zc-published"], f"zc:{name}", workers=workers, name=run, run=run,
                                     zca=False, normalize=ZC_NORMALIZE)
    early = plan.search(spaces["trained"], "real", epochs=s["early_epochs"], workers=workers, name="search-early",
                        run="early")
    if reuse:
        proxy = {m: reused_path(out, m) for m in METHODS}
    else:
        proxy = {m: path for (m, _), path in nas_table.add_proxies(plan, s["proxies"], list(METHODS)).items()}
    split = len(plan.stages)
    runs = {**zc_runs, "early": early}
    for m in METHODS:
        runs[m] = plan.search(spaces["trained"], proxy[m], epochs=s["search_epochs"], workers=workers,
                              name=stage_of(m), run=m)
    for common, name in ((True, "report"), (False, "report-zc")):
        plan.report([(runs[run], label) for run, label in labels(s, common).items()], truth, ks=s["ks"],
                    bootstrap=s["bootstrap"], name=name, to=out / name)
    plan.report([(path, run.removeprefix("published-zc-")) for run, path in published.items()], truth, ks=s["ks"],
                bootstrap=s["bootstrap"], name="report-published", to=out / "report-published")
    return plan.stages[:split], plan.stages[split:]


def find_proxy(dirs: list[Path], method: str) -> Path | None:
    """A finished proxy of `method` in the first folder holding one: FOLDER/proxies/METHOD.safetensors (how
    nas_table.py names its seed 0), FOLDER/proxies/METHOD_s0.safetensors (experiment_nas_cpu.py's), or either
    directly in FOLDER. A proxy file is written whole or not at all, so one that exists is finished."""
    for folder in dirs:
        for rel in (f"proxies/{method}.safetensors", f"proxies/{method}_s0.safetensors", f"{method}.safetensors",
                    f"{method}_s0.safetensors"):
            if (folder / rel).is_file():
                return folder / rel
    return None


def reuse_proxies(dirs: list[Path], out: Path, ipc: int, record: dict) -> None:
    """Copy each method's finished proxy from `dirs` into OUT/proxies/reused/ (once: a copy already there is kept,
    since the searches trained on it), checking that it is that method's at this scale's IPC, and record where it
    came from; a method matching expert trajectories also brings the experts' recorded time from the experiment
    that made them (its experiment.json), so its creation cost counts them as when made here."""
    from ftd_nas.proxy import Proxy
    from ftd_nas.search.table_sources import file_sha256

    taken = record.setdefault("reused_proxies", {})
    missing = [m for m in METHODS if not reused_path(out, m).exists() and find_proxy(dirs, m) is None]
    if missing:
        raise InputError(f"--reuse-proxies: no finished proxy of {', '.join(missing)} in "
                         f"{', '.join(map(str, dirs))} (looked for proxies/METHOD.safetensors and "
                         "proxies/METHOD_s0.safetensors); wait for the experiments making them, then run this again "
                         "(finished stages are kept), or leave --reuse-proxies out to make them here")
    for method in METHODS:
        target = reused_path(out, method)
        if not target.exists():
            source = find_proxy(dirs, method)
            proxy = Proxy.load(source)
            if proxy.record.method != method or proxy.ipc != ipc:
                raise InputError(f"--reuse-proxies: {source} is a {proxy.record.method} proxy at IPC {proxy.ipc}, "
                                 f"not {method} at IPC {ipc} as this scale needs")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            taken[method] = {"source": str(source.resolve()), "sha256": file_sha256(target)}
            stage = nas_table.EXPERTS.get(method)
            if stage:
                experiment = next((p for p in (source.parent.parent / "experiment.json",
                                               source.parent / "experiment.json") if p.is_file()), None)
                theirs = json.loads(experiment.read_text())["stages"].get(stage, {}) if experiment else {}
                if theirs.get("done") and stage not in record["stages"]:
                    record["stages"][stage] = {**theirs, "reused_from": str(experiment.parent.resolve())}
                elif stage not in record["stages"]:
                    logging.warning("the experts of %s (%s) have no finished record next to %s: its creation time "
                                    "will leave them out", method, stage, source)


# --- the table, from the two reports' report.json ---------------------------------------------------------------


def creation_minutes(run: dict, method: str, record: dict) -> float | None:
    """A proxy's creation cost: its file's own work time plus the experts it matched (nas_table.creation_seconds);
    None when the experts' time is not known."""
    if method in nas_table.EXPERTS and nas_table.EXPERTS[method] not in record["stages"]:
        return None
    return nas_table.creation_seconds(run, method, record) / 60


def table_rows(report_dir: Path, s: dict, record: dict, sample: str) -> list[dict]:
    """One row per group of a report (report.json): its estimates with 95% intervals on the candidates every run has
    (Kendall over the truth's better half among them), its costs; training-free rows carry their published
    Spearman."""
    from ftd_nas.search.report_record import read_report

    report = read_report(report_dir)
    runs = {r["label"]: r for r in report.runs}
    rows = []
    for label, group in report.groups.items():
        metrics, run = group["metrics"], runs[label]
        kind, method = run["source"]["kind"], run["source"].get("method", "")
        regret = metrics["regret"]
        published, source = PUBLISHED.get(run["source"].get("scorer"), (None, ""))
        stage = record["stages"].get(stage_of(Path(run["run"]).name), {})
        rows.append({
            "sample": sample, "method": label, "kind": {"zc": "training-free", "real": "real data (short)"}.get(
                kind, "coreset" if method in ("random", "herding", "kcenter") else "distilled"),
            "network": "C{} N{}".format(*(s["zc_net"] if kind == "zc" else s["trained_net"])),
            "n": report.comparison_candidates,
            **{key: metrics[metric][part] for metric in ("spearman", "kendall", "kendall_half")
               for key, part in ((metric, "value"), (f"{metric}_ci", "ci"))},
            **{f"top{k}_{way}{x}": metrics[f"top{k}_{way}"][part] for k in s["ks"] for way in ("by_real", "by_proxy")
               for x, part in (("", "value"), ("_ci", "ci"))},
            "regret_pts": 100 * regret["value"],
            "regret_ci_pts": [None if v is None else 100 * v for v in (regret["ci"] or [None, None])],
            "creation_min": creation_minutes(run, method, record) if kind == "proxy" else 0.0,
            "seconds_per_candidate": run["seconds_per_candidate"],
            "search_min": stage["seconds"] / 60 if "seconds" in stage else None,
            "images": run["train_images"],
            "published_spearman": published, "published_source": source if kind == "zc" else ""})
    return rows


def _cell(value, ci, **style) -> str:
    return format_interval(value, ci, **style)


def markdown(rows: list[dict], s: dict, zc_rows: list[dict], published_rows: list[dict]) -> str:
    """The two tables of the experiment, as markdown."""
    ks = s["ks"]
    head = ["method", "kind", "network", "Spearman [95% CI]", "Kendall [95% CI]", "Kendall, better half [95% CI]"]
    head += [f"top {k} ({'real' if way == 'by_real' else 'proxy'})" for k in ks for way in ("by_real", "by_proxy")]
    head += ["regret (pts) [95% CI]", "creation (min)", "s / candidate", "search (min)", "images"]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    def minutes(value) -> str:
        return "-" if value is None else f"{value:.1f}"

    lines = [f"### All methods on the {rows[0]['n'] if rows else 0} cells every run has "
             f"(trained proxies in C{s['trained_net'][0]} N{s['trained_net'][1]}, training-free in "
             f"C{s['zc_net'][0]} N{s['zc_net'][1]})", "", line(head), "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["method"], r["kind"], r["network"], _cell(r["spearman"], r["spearman_ci"]),
                 _cell(r["kendall"], r["kendall_ci"]), _cell(r["kendall_half"], r["kendall_half_ci"])]
        cells += [_cell(r[f"top{k}_{way}"], r[f"top{k}_{way}_ci"]) for k in ks for way in ("by_real", "by_proxy")]
        cells += [format_interval(r["regret_pts"], r["regret_ci_pts"], digits=2),
                  minutes(r["creation_min"]) if r["kind"] != "training-free" else "0",
                  format_value(r["seconds_per_candidate"]), minutes(r["search_min"]), str(r["images"] or "-")]
        lines.append(line(cells))
    in_frame = {r["method"]: r for r in published_rows}
    frame_n = published_rows[0]["n"] if published_rows else 0
    zc_head = ["scorer", f"Spearman, {zc_rows[0]['n'] if zc_rows else 0} unique cells [95% CI]",
               f"Spearman, {frame_n} of all cells [95% CI]", "published Spearman", "all cells - published",
               "Kendall, unique [95% CI]", "Kendall, better half [95% CI]", "regret (pts) [95% CI]",
               "s / candidate", "published in"]
    lines += ["", "### Training-free proxies over the cells they scored, and the values their papers published", "",
              line(zc_head), "|" + "---|" * len(zc_head)]
    for r in zc_rows:
        published, frame = r["published_spearman"], in_frame.get(r["method"])
        gap = "-" if published is None or frame is None else f"{frame['spearman'] - published:+.3f}"
        lines.append(line([r["method"], _cell(r["spearman"], r["spearman_ci"], digits=3),
                           _cell(frame["spearman"], frame["spearman_ci"], digits=3) if frame else "-",
                           "not confirmed" if published is None else f"{published:.3f}", gap,
                           _cell(r["kendall"], r["kendall_ci"]),
                           _cell(r["kendall_half"], r["kendall_half_ci"]),
                           format_interval(r["regret_pts"], r["regret_ci_pts"], digits=2),
                           format_value(r["seconds_per_candidate"]), r["published_source"]]))
    lines += ["", "Published values are |ρ| over all 15,625 cells, isomorphic duplicates included, against the "
              "benchmark's cifar10-valid accuracy; ours are signed, against the CSV's CIFAR-10 test accuracy (200 "
              "epochs), over a seeded sample of unique cells and, for the comparison, over a seeded sample of all "
              "cells (the published frame: duplicates rank differently from unique cells). Regret is against the "
              "best of the cells compared. Creation: the proxy file's own work time plus the expert trajectories it "
              "matched; s / candidate: training or scoring time per candidate as the search recorded it; search: "
              "the search stage's wall time (all workers)."]
    return "\n".join(lines) + "\n"


def write_table(out: Path, s: dict, record: dict) -> Path:
    """OUT/table.md, table.csv and spearman.png from the two reports."""
    from ftd_nas.figures.ranking import draw_interval
    from ftd_nas.figures.save import new_figure, save_figure

    rows = table_rows(out / "report", s, record, "common")
    zc_rows = table_rows(out / "report-zc", s, record, "training-free sample")
    published_rows = table_rows(out / "report-published", s, record, "sample of all cells")
    (out / "table.md").write_text(markdown(rows, s, zc_rows, published_rows))
    flat = [{k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()}
            for r in rows + zc_rows + published_rows]
    with open(out / "table.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(flat[0]))
        writer.writeheader()
        writer.writerows(flat)
    fig, (left, right) = new_figure(1, 2, figsize=(13, 4.5))
    for i, r in enumerate(rows):
        draw_interval(left, i, r["spearman"], r["spearman_ci"], color=f"C{i % 10}")
    left.set_xticks(range(len(rows)), [r["method"] for r in rows], rotation=45, ha="right", fontsize=8)
    left.set_title(f"all methods, {rows[0]['n']} common cells", fontsize=10)
    in_frame = {r["method"]: r for r in published_rows}
    for i, r in enumerate(zc_rows):
        draw_interval(right, i - 0.15, r["spearman"], r["spearman_ci"], color=f"C{i % 10}")
        if r["method"] in in_frame:  # the published frame's estimate, hollow, beside the unique cells' one
            frame = in_frame[r["method"]]
            draw_interval(right, i + 0.15, frame["spearman"], frame["spearman_ci"], color=f"C{i % 10}", hollow=True)
        if r["published_spearman"] is not None:
            right.scatter([i + 0.15], [r["published_spearman"]], marker="x", color="black", zorder=6)
    right.set_xticks(range(len(zc_rows)), [r["method"] for r in zc_rows], rotation=45, ha="right", fontsize=8)
    right.set_title(f"training-free: filled {zc_rows[0]['n']} unique cells, hollow "
                    f"{published_rows[0]['n'] if published_rows else 0} of all cells; x published", fontsize=9)
    for ax in (left, right):
        ax.set_ylabel("Spearman ρ with the benchmark's CIFAR-10 accuracy")
        ax.grid(axis="y", alpha=0.3)
        ax.axhline(0, color="grey", lw=0.8)
    save_figure(fig, out / "spearman")
    return out / "table.md"


def settings_record(s: dict, reuse: list[str] | None) -> dict:
    """The scale's settings as JSON has them (tuples as lists), and the folders proxies were taken from."""
    return {**json.loads(json.dumps(s)), "reuse_proxies": reuse}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=list(SCALES), default="cpu")
    p.add_argument("--data-root", default=None, help="folder of named datasets (gpu scale: CIFAR-10)")
    p.add_argument("--out", default=None, help="work folder (default runs/nb201_SCALE)")
    p.add_argument("--figures", default=None, help="copy the table, its figure, the reports and the stage times here "
                                                   "at the end")
    p.add_argument("--reuse-proxies", nargs="+", default=None, metavar="DIR",
                   help="take the finished random, herding, DSA, DM, MTT and FTD proxies (seed 0) from these "
                        "experiment folders (nas_table.py's and experiment_nas_cpu.py's outputs, first found wins) "
                        "instead of making them; they are copied in when the stages that need them start")
    add_normalize_arg(p, default=None)  # the proxies' and early stopping's data; the scorers' stays ZC_NORMALIZE
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    s = dict(SCALES[args.scale])
    if args.normalize:
        s["proxies"] = dict(s["proxies"], normalize=args.normalize)
    if args.data_root:
        s["proxies"] = dict(s["proxies"], data_root=args.data_root)
    out = Path(args.out or f"runs/nb201_{args.scale}")
    write_spaces(s, out)
    before, after = stages(s, out, reuse=bool(args.reuse_proxies))
    settings = settings_record(s, args.reuse_proxies)
    main_fn = None
    if s["in_process"]:  # the quick scale: no interpreter start per stage (each costs seconds of imports)
        from ftd_nas.cli import main as main_fn
    record = run_stages(before, out, settings, main=main_fn)
    if args.reuse_proxies:
        reuse_proxies([Path(d) for d in args.reuse_proxies], out, s["proxies"]["ipc"], record)
        write_json(out / "experiment.json", record)
    record = run_stages(after, out, settings, main=main_fn)
    table = write_table(out, s, record)
    print(table.read_text())
    total = sum(v.get("seconds", 0.0) for v in record["stages"].values() if "reused_from" not in v)
    print(f"table, CSV and figure in {out}; reports in {out / 'report'}, {out / 'report-zc'} and "
          f"{out / 'report-published'}; "
          f"{total / 3600:.2f} h of stage time here")
    if args.figures:
        dest = Path(args.figures)
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("table.md", "table.csv", "spearman.png", "experiment.json"):
            shutil.copy(out / name, dest / name)
        # candidates*.csv: every candidate's scores, so the reports can be recomputed from the repository alone
        for report, suffix in (("report", ""), ("report-zc", "-zc"), ("report-published", "-published")):
            for name in ("report.md", "report.csv", "candidates.csv"):
                stem, ext = name.split(".")
                shutil.copy(out / report / name, dest / f"{stem}{suffix}.{ext}")


if __name__ == "__main__":
    sys.exit(run_script("nb201.py", main))

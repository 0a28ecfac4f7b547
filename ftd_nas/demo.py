"""The whole chain on the built-in offline dataset (digits), in a few minutes on a laptop CPU.

experts (SGD and GSAM) -> FTD and MTT distillation -> evaluation against a random subset ->
search of a small space on each proxy and on real data -> ranking report with figures and learning curves.
Every stage is resumable, so re-running the demo into the same folder finishes what is missing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ftd_nas.checks import check_number
from ftd_nas.data import DataConfig
from ftd_nas.errors import ConfigError
from ftd_nas.distill import distill, resolve_config
from ftd_nas.evaluation import EvalConfig, evaluate_proxy, save_evaluation
from ftd_nas.experts import ExpertConfig, expert_train_config, train_experts
from ftd_nas.figures.curves import load_curves, write_curves
from ftd_nas.io import write_json
from ftd_nas.models import ModelSpec
from ftd_nas.proxy_methods import display_name, lookup
from ftd_nas.records import Record
from ftd_nas.runtime import resolve_device
from ftd_nas.search import SearchConfig, SearchRecipe, run_search
from ftd_nas.search.report import build_report, write_report
from ftd_nas.search.report_record import read_report
from ftd_nas.search.results import ByKey, from_unversioned, read_record

log = logging.getLogger(__name__)


@dataclass
class DemoConfig:
    out: str = "runs/demo"
    dataset: str = "digits"
    width: int = 16
    depth: int = 2
    experts: int = 3
    expert_epochs: int = 8
    ipc: int = 5
    iterations: int = 150
    syn_steps: int = 10
    eval_runs: int = 3
    eval_epochs: int = 200
    space: str = "convnet-tiny"
    search_epochs: int = 100
    truth_epochs: int = 15
    device: str = "auto"
    progress: bool | None = None

    def __post_init__(self) -> None:
        for name in ("width", "depth", "experts", "expert_epochs", "ipc", "iterations", "syn_steps", "eval_runs",
                     "eval_epochs", "search_epochs", "truth_epochs"):
            check_number(name, getattr(self, name), 1, integer=True)
        if self.expert_epochs < 3:
            raise ConfigError("the demo distils from expert epochs 0..expert_epochs-2 onwards: expert_epochs >= 3")


@dataclass(frozen=True)
class DemoSummary(ByKey, Record):
    """summary.json of a demo folder. Format version 1 is the file before it had format keys (the same content)."""

    FORMAT = "ftd-nas-demo-summary"
    UPGRADES = {1: from_unversioned}

    accuracy: dict  # proxy display name -> {test_mean, test_std} of its evaluation (ConvNet)
    spearman: dict  # report run name -> its Spearman with the real-data ranking
    report: str  # the report folder
    figures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stage_seconds: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)  # the DemoConfig it ran with

    @classmethod
    def read(cls, out: str | Path) -> "DemoSummary":
        """The summary.json of a demo folder."""
        return read_record(cls, Path(out) / "summary.json")


def run_demo(cfg: DemoConfig = DemoConfig()) -> DemoSummary:
    out, device = Path(cfg.out), resolve_device(cfg.device)
    stages, started = {}, time.perf_counter()
    data = DataConfig(cfg.dataset)
    dataset = data.load(device)
    model = ModelSpec(width=cfg.width, depth=cfg.depth)

    def stage(name: str):
        stages[name] = time.perf_counter()
        log.info("== %s", name)

    proxies = {}
    for method in ("mtt", "ftd"):
        optimizer = lookup(method).experts
        stage(f"experts ({optimizer})")
        train_experts(ExpertConfig(data=data, model=model, num_experts=cfg.experts,
                                   train=expert_train_config(optimizer, epochs=cfg.expert_epochs, alpha=1.0,
                                                             progress=cfg.progress)),
                      out / "experts" / optimizer, dataset=dataset, device=str(device))
        stage(f"distill ({method})")
        dcfg = resolve_config(cfg.dataset, cfg.ipc, method, syn_steps=cfg.syn_steps, expert_epochs=2,
                              max_start_epoch=cfg.expert_epochs - 2, iterations=cfg.iterations, lr_img=100.0,
                              ema_decay=0.95, image_every=cfg.iterations)
        proxies[method] = distill(dcfg, out / "experts" / optimizer, out / "proxies" / f"{method}.safetensors",
                                  dataset=dataset, device=device, progress=cfg.progress)
    stage("evaluate proxies")
    ecfg = EvalConfig(runs=cfg.eval_runs, epochs=cfg.eval_epochs, progress=cfg.progress)
    accuracy = {}
    for method, proxy in proxies.items():
        sets = ("proxy", "random") if method == "ftd" else ("proxy",)
        record = evaluate_proxy(proxy, ecfg, dataset, sets=sets, device=device)
        save_evaluation(record, proxy.path)
        accuracy[display_name(method)] = record.sets["proxy"]["results"]["convnet"]
        if "random" in record.sets:
            accuracy[display_name("random")] = record.sets["random"]["results"]["convnet"]
    runs = {}
    for label, proxy_arg, epochs in (("real", "real", cfg.truth_epochs),
                                     ("ftd", str(out / "proxies" / "ftd.safetensors"), cfg.search_epochs),
                                     ("mtt", str(out / "proxies" / "mtt.safetensors"), cfg.search_epochs),
                                     ("random", f"random:{cfg.ipc}", cfg.search_epochs)):
        stage(f"search {cfg.space} on {label}")
        runs[label] = str(out / "search" / label)
        run_search(SearchConfig(space=cfg.space, proxy=proxy_arg, out=runs[label], dataset=cfg.dataset,
                                recipe=SearchRecipe(epochs=epochs), device=str(device), progress=cfg.progress),
                   dataset=dataset)
    stage("report")
    report = build_report([runs["ftd"], runs["mtt"], runs["random"]], runs["real"], ks=(3, 5), bootstrap=500)
    written = write_report(report, out / "report", overwrite=True)  # the demo's own folder: refreshed each run
    curves = [load_curves(out / "proxies" / f"{m}.safetensors", display_name(m)) for m in proxies]
    curves += [load_curves(out / "experts" / o, f"{o.upper()} experts") for o in ("sgd", "gsam")]
    written["figures"] += write_curves(curves, out / "report" / "curves")
    stages["end"] = time.perf_counter()
    names = list(stages)
    timings = {n: stages[names[i + 1]] - stages[n] for i, n in enumerate(names[:-1])}
    rho = {e["name"]: e["agreement"]["spearman"] for e in read_report(written["dir"]).runs}
    summary = DemoSummary(
        accuracy={k: {"test_mean": v["test_mean"], "test_std": v["test_std"]} for k, v in accuracy.items()},
        spearman=rho, report=written["dir"], figures=written["figures"], seconds=time.perf_counter() - started,
        stage_seconds=timings, config=dict(cfg.__dict__))
    write_json(out / "summary.json", summary.to_dict())
    return summary


def format_summary(summary: DemoSummary) -> str:
    lines = ["", f"{'proxy':<10} {'test acc (%)':>14} {'Spearman rho vs real':>22}"]
    for key, acc in summary.accuracy.items():  # keyed by display name, as the report's labels begin
        rho = next((v for k, v in summary.spearman.items() if k.startswith(f"{key} IPC")), None)
        rho_text = "-" if rho is None or rho != rho else f"{rho:+.2f}"
        lines.append(f"{key:<10} {100 * acc['test_mean']:>8.1f} ± {100 * acc['test_std']:3.1f} {rho_text:>22}")
    lines += ["", f"finished in {summary.seconds:.0f} s; report and figures in {summary.report}"]
    return "\n".join(lines)

"""The whole chain on the built-in offline dataset (digits), in a few minutes on a laptop CPU.

experts (SGD and GSAM) -> FTD and MTT distillation -> evaluation against a random subset ->
search of a small space on each proxy and on real data -> ranking report with figures and learning curves.
Every stage is resumable, so re-running the demo into the same folder finishes what is missing. The stages are
the scripts' (ftd_nas/experiment.py), run by ftd_nas/stages.py; the summary is read from the files
they write: the evaluation records, report.json and experiment.json (each stage's seconds).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ftd_nas.checks import check_number
from ftd_nas.errors import ConfigError
from ftd_nas.experiment import ExperimentPlan, ExperimentSettings
from ftd_nas.io import write_json
from ftd_nas.proxy_methods import display_name, lookup
from ftd_nas.records import Record
from ftd_nas.search.report_record import read_report
from ftd_nas.search.results import ByKey, from_unversioned, read_record
from ftd_nas.stages import Main, run_stages

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


def demo_plan(cfg: DemoConfig) -> tuple[ExperimentPlan, dict[str, Path]]:
    """The demo's stages (named as its log lines show them), and each method's evaluation record."""
    out = Path(cfg.out)
    # progress True cannot be asked of a command (it has only --no-progress): it means "when the terminal shows it"
    settings = ExperimentSettings(cfg.dataset, width=cfg.width, depth=cfg.depth, device=cfg.device,
                                  quiet=cfg.progress is False)
    plan, proxies, evaluations = ExperimentPlan(settings, out), {}, {}
    for method in ("mtt", "ftd"):
        entry = lookup(method)
        plan.experts(entry.experts, cfg.experts, cfg.expert_epochs, 1.0, name=f"experts ({entry.experts})")
        ema = ["--ema-decay", "0.95"] if entry.keeps_ema else []
        proxies[method] = plan.proxy(method, cfg.ipc, name=f"distill ({method})", extra=[
            "--syn-steps", str(cfg.syn_steps), "--expert-epochs", "2", "--max-start-epoch", str(cfg.expert_epochs - 2),
            "--iterations", str(cfg.iterations), "--lr-img", "100.0", *ema, "--image-every", str(cfg.iterations)])
    for method, proxy in proxies.items():  # FTD also against a random real subset of as many images
        evaluations[method] = plan.evaluate(proxy, cfg.eval_runs, cfg.eval_epochs, name=f"evaluate ({method})",
                                            baseline="random" if method == "ftd" else None,
                                            json=out / "evaluations" / f"{method}.json")
    runs = {}
    for label, proxy_arg, epochs in (("real", "real", cfg.truth_epochs), ("ftd", proxies["ftd"], cfg.search_epochs),
                                     ("mtt", proxies["mtt"], cfg.search_epochs),
                                     ("random", f"random:{cfg.ipc}", cfg.search_epochs)):
        runs[label] = plan.search(cfg.space, proxy_arg, epochs=epochs, name=f"search {cfg.space} on {label}", run=label)
    report = plan.report([(runs[label], None) for label in ("ftd", "mtt", "random")], runs["real"], ks=(3, 5),
                         bootstrap=500)
    plan.curves([*((proxies[m], display_name(m)) for m in proxies),
                 *((out / "experts" / o, f"{o.upper()} experts") for o in ("sgd", "gsam"))], report / "curves")
    return plan, evaluations


def run_demo(cfg: DemoConfig = DemoConfig(), main: Main | None = None) -> DemoSummary:
    """Run the demo's stages (finished ones are kept), then summarise what they wrote. Given the CLI's `main`
    (`ftd-nas demo` passes it), the stages run in this process; else each in a `python -m ftd_nas` of its own."""
    out, started = Path(cfg.out), time.perf_counter()
    plan, evaluations = demo_plan(cfg)
    record = run_stages(plan.stages, out, dict(cfg.__dict__), main=main)
    accuracy = {}
    for method, path in evaluations.items():
        sets = json.loads(path.read_text())["sets"]
        accuracy[display_name(method)] = sets["proxy"]["results"]["convnet"]
        if "random" in sets:
            accuracy[display_name("random")] = sets["random"]["results"]["convnet"]
    report = read_report(out / "report")
    figures = list(report.figures) + sorted(str(path) for path in (out / "report").glob("curves-*"))
    summary = DemoSummary(
        accuracy={k: {"test_mean": v["test_mean"], "test_std": v["test_std"]} for k, v in accuracy.items()},
        spearman={e["name"]: e["agreement"]["spearman"] for e in report.runs}, report=str(out / "report"),
        figures=figures, seconds=time.perf_counter() - started,
        stage_seconds={s.name: record["stages"][s.name]["seconds"] for s in plan.stages}, config=dict(cfg.__dict__))
    write_json(out / "summary.json", summary.to_dict())
    return summary


def format_summary(summary: dict) -> str:
    lines = ["", f"{'proxy':<10} {'test acc (%)':>14} {'Spearman rho vs real':>22}"]
    for key, acc in summary["accuracy"].items():  # keyed by display name, as the report's labels begin
        rho = next((v for k, v in summary["spearman"].items() if k.startswith(f"{key} IPC")), None)
        rho_text = "-" if rho is None or rho != rho else f"{rho:+.2f}"
        lines.append(f"{key:<10} {100 * acc['test_mean']:>8.1f} ± {100 * acc['test_std']:3.1f} {rho_text:>22}")
    lines += ["", f"finished in {summary['seconds']:.0f} s; report and figures in {summary['report']}"]
    return "\n".join(lines)

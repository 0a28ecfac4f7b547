"""report.json: the rank agreement of proxy runs with a ground truth, as `ftd-nas report` wrote it.

The per-label means come first (what most readers want: `spearman[label]`); the nested statistics (agreement,
groups, comparisons, the noise ceiling) keep the shapes `ftd_nas.agreement` gives them, so they stay plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ftd_nas.records import Record
from ftd_nas.search.results import ByKey, from_unversioned, read_record

WAYS = ("by_real", "by_proxy")


@dataclass(frozen=True)
class ReportRecord(ByKey, Record):
    """report.json. Format version 1 is the file before it had format keys (the same content)."""

    FORMAT = "ftd-nas-report"
    UPGRADES = {1: from_unversioned}

    spearman: dict  # group label -> mean Spearman over its runs
    kendall: dict  # group label -> mean Kendall
    topk: dict  # group label -> {k: {by_real | by_proxy: {spearman: mean}}}
    noise_ceiling: dict | None  # the truth's split-half ceiling; None with one training per candidate
    comparisons: list[dict]  # paired comparisons of groups (agreement.paired_bootstrap)
    comparison_candidates: int  # candidates every run and the truth finished
    groups: dict  # label -> {runs, summary, bootstrap}
    runs: list[dict]  # per run: name, label, run, agreement, coverage, metrics, failed, costs (no scores)
    truth: str
    truth_metric: str
    proxy_metric: str
    space: dict
    truth_coverage: dict
    truth_recipe: dict
    partial: list[str] = field(default_factory=list)  # why each partial run is partial (--allow-partial)
    figures: list[str] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)  # what was asked: a report folder is refreshed only for the same

    @classmethod
    def from_report(cls, report: dict, figures: list[str]) -> "ReportRecord":
        """The file's record of a `build_report` result (without each run's scores: those are in its study)."""
        means = {label: {m: v["mean"] for m, v in g["summary"].items()} for label, g in report["groups"].items()}
        return cls(
            spearman={label: m["spearman"] for label, m in means.items()},
            kendall={label: m["kendall"] for label, m in means.items()},
            topk={label: {str(k): {way: {"spearman": m.get(f"top{k}_{way}")} for way in WAYS} for k in report["ks"]}
                  for label, m in means.items()},
            noise_ceiling=report["noise_ceiling"], comparisons=report["comparisons"],
            comparison_candidates=report["comparison_candidates"], groups=report["groups"],
            runs=[{k: v for k, v in e.items() if k not in ("scores", "spread")} for e in report["runs"]],
            truth=report["truth"], truth_metric=report["truth_metric"], proxy_metric=report["proxy_metric"],
            space=report["space"], truth_coverage=report["truth_coverage"], truth_recipe=report["truth_recipe"],
            partial=report["partial"], figures=figures, inputs=report["inputs"])


def read_report(path: str | Path) -> ReportRecord:
    """A report.json (a folder's, when given the folder)."""
    path = Path(path)
    return read_record(ReportRecord, path / "report.json" if path.is_dir() else path)

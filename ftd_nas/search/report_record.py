"""report.json: the rank agreement of proxy runs with a ground truth, as `ftd-nas report` wrote it.

The per-label estimates come first (what most readers want: `spearman[label]`); the nested statistics (agreement,
groups, comparisons, the truth's reliability) keep the shapes `ftd_nas.agreement` and `search.comparisons` give
them, so they stay plain data.

Version 3 (issue 25) replaced the inference: groups and comparisons with the design that says what varies, the
declared family with Holm's correction, the minimum detectable differences, and the truth's reliability in place of
the split-half "noise ceiling". A version 2 file's inference over-covered and is not carried over: it reads with
its per-run agreement, inputs and figures, and with no groups, comparisons or ceiling (re-run `ftd-nas report`).
Version 4 added `truth_source`: whether the truth was a real-data run or a published table (`ftd-nas truth`), and
the table's source; a version 3 file's truth was always a real-data run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ftd_nas.records import Record
from ftd_nas.search.results import ByKey, from_unversioned, read_record

WAYS = ("by_real", "by_proxy")


def _v2_to_v3(body: dict) -> dict:
    """Drop version 2's inference (see the module docstring); keep what was measured per run."""
    return {**body, "spearman": {}, "kendall": {}, "topk": {}, "noise_ceiling": None, "comparisons": [],
            "groups": {}, "family": {}, "detectable": {}}


def _v3_to_v4(body: dict) -> dict:
    return {**body, "truth_source": {"kind": "run"}}


@dataclass(frozen=True)
class ReportRecord(ByKey, Record):
    """report.json. Format version 1 is the file before it had format keys (the same content)."""

    FORMAT = "ftd-nas-report"
    VERSION = 4
    UPGRADES = {1: from_unversioned, 2: _v2_to_v3, 3: _v3_to_v4}

    spearman: dict  # group label -> mean Spearman over its runs
    kendall: dict  # group label -> mean Kendall
    topk: dict  # group label -> {k: {by_real | by_proxy: {spearman: mean}}}
    noise_ceiling: dict | None  # the truth's reliability and bound (agreement.ceiling); None with one training each
    comparisons: list[dict]  # every pair of groups per metric, primary (Holm) or exploratory (search.comparisons)
    comparison_candidates: int  # candidates every run and the truth have (failures ranked last)
    groups: dict  # label -> {runs, proxies, metrics: {metric: Estimate}, per_proxy}
    runs: list[dict]  # per run: name, label, run, agreement, coverage, metrics, failed, costs (no scores)
    truth: str
    truth_metric: str
    proxy_metric: str
    space: dict
    truth_coverage: dict
    truth_recipe: dict  # how a trained truth trained ({} for a published table)
    family: dict = field(default_factory=dict)  # the declared primary comparisons and their correction
    detectable: dict = field(default_factory=dict)  # metric -> minimum detectable differences
    truth_source: dict = field(default_factory=dict)  # {kind: run | table, description, and a table's source}
    partial: list[str] = field(default_factory=list)  # why each partial run is partial (--allow-partial)
    figures: list[str] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)  # what was asked: a report folder is refreshed only for the same

    @classmethod
    def from_report(cls, report: dict, figures: list[str]) -> "ReportRecord":
        """The file's record of a `build_report` result (without each run's scores: those are in its study)."""
        means = {label: {m: v["value"] for m, v in g["metrics"].items()} for label, g in report["groups"].items()}
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
            family=report["family"], detectable=report["detectable"], truth_source=report["truth_source"],
            partial=report["partial"], figures=figures,
            inputs=report["inputs"])


def read_report(path: str | Path) -> ReportRecord:
    """A report.json (a folder's, when given the folder)."""
    path = Path(path)
    return read_record(ReportRecord, path / "report.json" if path.is_dir() else path)

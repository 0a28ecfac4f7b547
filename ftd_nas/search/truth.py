"""A ground truth, however it was made: what `report` judges proxy runs against and `verify` reads real accuracies
from, asked for through `load_truth` alone.

Two kinds of folder are a truth:

- a real-data search run (`search --proxy real`, run.json): trained here, on the same data as the runs it judges
  (same space, same data fingerprint), with repeats when asked for;
- a published table imported by `ftd-nas truth` (truth.json): measured by its publisher on its own copy of a
  dataset, one value per candidate. A run may be judged against it when the run's data is of the table's dataset
  family (`ftd_nas/data/family.py` says how a run's family is known) and its space is the table's.

Everything that differs between the two is decided here, once: which runs a truth may judge (`Truth.judge`), its
description, and whether it was trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ftd_nas.data.family import RULE, dataset_family
from ftd_nas.data.fingerprint import DataFingerprint
from ftd_nas.errors import ConfigError, InputError
from ftd_nas.records import diff_settings, format_diff
from ftd_nas.search.record import SearchIdentity
from ftd_nas.search.results import COMPLETE, METRICS, CandidateResult
from ftd_nas.search.runner import load_run
from ftd_nas.search.truth_record import TRUTH_FILE, TruthTableRecord, holds_table, read_truth_table


@dataclass(frozen=True)
class Truth:
    """One row per candidate the truth has (a table's: only its `metrics`, no repeats, no training time), and what
    a report says of it."""

    dir: str
    rows: list[CandidateResult]
    space: dict  # the space's dict, as search runs record it
    space_size: int
    description: str  # one line for report.md and verify.md
    dataset_family: str | None  # a table's declared family; a run's, by the rule of data/family.py (or None)
    trained: bool  # True: a real-data run of this repository; False: a published table
    metrics: tuple[str, ...]  # the metrics its rows have
    recipe: dict = field(default_factory=dict)  # how a trained truth trained ({} for a table)
    source: dict = field(default_factory=dict)  # what a report records of where the truth came from
    data: DataFingerprint | None = None  # the data a trained truth scored on (None for a table)

    def scores(self, metric: str) -> dict[str, float]:
        """Each candidate's finite score in `metric`; refused when the truth does not have that metric."""
        if metric not in self.metrics:
            raise ConfigError(f"the truth {self.dir!r} has {' and '.join(self.metrics)} only ({self.description}); "
                              f"use --truth-metric {self.metrics[0]}")
        return {r.candidate: s for r in self.rows if (s := r.score(metric)) is not None and math.isfinite(s)}

    def judge(self, identity: SearchIdentity, run_dir: str) -> str:
        """Refuse a run this truth cannot judge; otherwise say, for the report, what the run's data is to it.

        Same space always (the same axes and values); the same data as a trained truth's (fingerprint, split and
        content hash), or data of a table's dataset family."""
        if self.data is not None:
            diff = diff_settings({"space": self.space, "data": self.data.settings()},
                                 {"space": identity.space, "data": identity.data.settings()})
            if diff:
                raise ConfigError(f"{run_dir!r} and the truth run {self.dir!r} differ in their space or real data "
                                  f"({format_diff(diff)}; truth vs run): compare runs over the same space, dataset "
                                  "and validation split")
            return f"{identity.data.name}, the truth's own data"
        diff = diff_settings(self.space, identity.space)
        if diff:
            raise ConfigError(f"{run_dir!r} searched another space than the truth table {self.dir!r} covers "
                              f"({format_diff(diff)}; truth vs run): import the table for the run's space "
                              "(ftd-nas truth --space)")
        family, why = dataset_family(identity.data)
        if family != self.dataset_family:
            raise ConfigError(f"{run_dir!r} scored its candidates on {why}: "
                              f"{'no dataset family' if family is None else f'the family {family}'}, and the truth "
                              f"table {self.dir!r} was measured on {self.dataset_family}. A table judges runs on data "
                              f"of its own family only ({RULE})")
        return f"{why} (family {family})"


def _table_truth(folder: Path, record: TruthTableRecord) -> Truth:
    source = record.source
    rows = [CandidateResult(candidate=c, params={}, state=COMPLETE, trial=i, **{record.metric: value})
            for i, (c, value) in enumerate(record.rows.items())]
    description = (f"published table {source.name} ({source.accuracy_column} as {record.metric}, given in "
                   f"{record.scale}; sha256 {source.sha256[:12]}), measured on {record.dataset_family}; "
                   f"{record.covered} of {record.space_size} candidates")
    return Truth(dir=str(folder), rows=rows, space=record.space, space_size=record.space_size,
                 description=description, dataset_family=record.dataset_family, trained=False,
                 metrics=(record.metric,),
                 source={"kind": "table", "table": source.to_dict(), "metric": record.metric, "scale": record.scale,
                         "dataset_family": record.dataset_family, "covered": record.covered,
                         "missing": len(record.missing), "unknown": record.unknown})


def _axes_product(space: dict) -> int:
    """The size of a space recorded before runs kept theirs: the product of its axes."""
    n = 1
    for values in space["axes"].values():
        n *= len(values)
    return n


def load_truth(folder: str | Path, storage: str | None = None, option: str = "--truth") -> Truth:
    """The truth in a folder: a table imported by `ftd-nas truth`, or a real-data search run (its study read
    without writing; `storage` as `load_run`'s). `option` names the folder in messages."""
    path = Path(folder)
    if holds_table(path):
        return _table_truth(path, read_truth_table(path))
    if not (path / "run.json").exists():
        raise InputError(f"{option} {str(folder)!r} is no truth: neither a real-data search run (run.json, from `ftd-nas "
                         f"search --proxy real`) nor a published table ({TRUTH_FILE}, from `ftd-nas truth`)")
    run = load_run(path, storage)
    identity = run.record.identity
    if identity.source["kind"] != "real":
        raise ConfigError(f"{option} {str(folder)!r} is not a real-data run (it trained on a {identity.source['kind']} "
                          "proxy); make a truth with `ftd-nas search --proxy real` or from a published table with "
                          "`ftd-nas truth`")
    trainings = sum(r.repeats for r in run.rows)
    family, _ = dataset_family(identity.data)
    return Truth(dir=str(folder), rows=run.rows, space=identity.space,
                 space_size=run.record.space_size or _axes_product(identity.space),
                 description=f"real-data run {path.name}: {identity.recipe.epochs} epochs on "
                             f"{identity.data.describe()}, {trainings} trainings",
                 dataset_family=family, trained=True, metrics=METRICS, recipe=identity.recipe.to_dict(),
                 source={"kind": "run"}, data=identity.data)

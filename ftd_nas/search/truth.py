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

A table judges more than the exact space it was imported over: a run over part of it (a `unique` or `sample` space,
a space with fewer axis values) is judged on its own candidates, and a run of a network sized otherwise (a
family's settings, nb201's C and N: a reduced network as a cheaper proxy) is judged too, since a cell keeps its id
and its published accuracy whatever network the proxy trained it in. Both are named in the report (`Judgement`).
A trained truth judges runs over its own space only: its ranking is of the network it trained.
"""

from __future__ import annotations

import functools
import json
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
from ftd_nas.search.space import SearchSpace
from ftd_nas.search.truth_record import TRUTH_FILE, TruthTableRecord, holds_table, read_truth_table


@dataclass(frozen=True)
class Judgement:
    """What a truth says of a run it accepts, for the report."""

    data: str  # what the run's data is to the truth
    scope: frozenset[str] | None = None  # the candidates of the run's space, where it searched part of the truth's
    differences: tuple[str, ...] = ()  # how the run's space differs from the truth's, in words


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
    space_ids: frozenset[str] = frozenset()  # a table's: every candidate of the space it was imported over

    def scores(self, metric: str) -> dict[str, float]:
        """Each candidate's finite score in `metric`; refused when the truth does not have that metric."""
        if metric not in self.metrics:
            raise ConfigError(f"the truth {self.dir!r} has {' and '.join(self.metrics)} only ({self.description}); "
                              f"use --truth-metric {self.metrics[0]}")
        return {r.candidate: s for r in self.rows if (s := r.score(metric)) is not None and math.isfinite(s)}

    def judge(self, identity: SearchIdentity, run_dir: str) -> Judgement:
        """Refuse a run this truth cannot judge; otherwise say, for the report, what the run's data and space are
        to it.

        A trained truth: the same space (axes and values) and the same data (fingerprint, split and content hash).
        A table: data of the table's dataset family, and a space of the table's model whose candidates the table's
        space holds (in another network size where the family has settings)."""
        if self.data is not None:
            diff = diff_settings({"space": self.space, "data": self.data.settings()},
                                 {"space": identity.space, "data": identity.data.settings()})
            if diff:
                raise ConfigError(f"{run_dir!r} and the truth run {self.dir!r} differ in their space or real data "
                                  f"({format_diff(diff)}; truth vs run): compare runs over the same space, dataset "
                                  "and validation split")
            return Judgement(f"{identity.data.name}, the truth's own data")
        scope, differences = self._table_scope(identity.space, run_dir)
        family, why = dataset_family(identity.data)
        if family != self.dataset_family:
            raise ConfigError(f"{run_dir!r} scored its candidates on {why}: "
                              f"{'no dataset family' if family is None else f'the family {family}'}, and the truth "
                              f"table {self.dir!r} was measured on {self.dataset_family}. A table judges runs on data "
                              f"of its own family only ({RULE})")
        return Judgement(f"{why} (family {family})", scope, differences)

    def _table_scope(self, space: dict, run_dir: str) -> tuple[frozenset[str] | None, tuple[str, ...]]:
        """The run's candidates where they are part of the table's space (None: all of it), and the differences
        of the run's space to the table's, in words; refused where the table cannot judge the run's space."""
        model, run_model = self.space.get("model", "convnet"), space.get("model", "convnet")
        redo = (f"import the table for the run's space (ftd-nas truth --space) or search a space within "
                f"{self.space['name']}")
        if model != run_model:
            raise ConfigError(f"{run_dir!r} searched {run_model} candidates and the truth table {self.dir!r} covers "
                              f"{model} candidates: {redo}")
        run_space = SearchSpace.from_dict(space)
        settings = run_space.family.settings if run_space.family is not None else ()
        differences = [f"{axis} {space['axes'].get(axis)} (table: {self.space['axes'].get(axis)})"
                       for axis in settings if space["axes"].get(axis) != self.space["axes"].get(axis)]
        if differences:
            differences = [f"network settings {', '.join(differences)}: the run trained its cells in another network "
                           "than the table's publisher"]
        ids = _candidate_ids(json.dumps(space))
        outside = sorted(ids - self.space_ids)
        if outside:
            raise ConfigError(f"{run_dir!r} searched {len(outside)} candidates that the truth table {self.dir!r} does "
                              f"not have in its space {self.space['name']!r} (e.g. {outside[0]!r}): {redo}")
        if ids == self.space_ids:
            return None, tuple(differences)
        how = ["one per isomorphism class" if run_space.unique else "",
               f"a sample of seed {run_space.sample['seed']}" if run_space.sample else ""]
        how = ", ".join(h for h in how if h)
        differences.append(f"the run searched {len(ids)} of the table's {len(self.space_ids)} candidates"
                           + (f" ({how})" if how else ""))
        return ids, tuple(differences)


@functools.lru_cache(maxsize=8)
def _candidate_ids(space_json: str) -> frozenset[str]:
    """The ids of a space's candidates, by the space's JSON: cached, because a report judges each of its runs, all
    over one space, and enumerating nb201's cells takes about 0.4 s each time. The JSON keeps the record's key order:
    the order of a space's axes is part of it (candidate ids follow it)."""
    space = SearchSpace.from_dict(json.loads(space_json))
    return frozenset(space.candidate_id(params) for params in space.candidates())


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
                         "missing": len(record.missing), "unknown": record.unknown},
                 space_ids=frozenset(record.rows) | frozenset(record.missing))


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

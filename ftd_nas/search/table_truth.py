"""`ftd-nas truth`: a ground truth from a published benchmark table, without training anything.

A table (a CSV with a column of architecture ids and one of accuracies, e.g. NAS-Bench-201's in
../shared/datasets/nats_bench_tss.csv) or the benchmark's own archive (`nats_archive.py`) is matched against a
search space: every id must be a candidate id of the space (`candidate_id`), each at most once. The result is a
truth folder (truth.json, `truth_record.py`) that `report --truth` and `verify --real-run` accept wherever a
real-data search run is accepted (`truth.py`).

What is refused, with the file, column and line: a missing column, an empty id, a non-numeric or non-finite
accuracy, one outside its scale, an id given twice, a table covering none of the space; ids that are no candidate
of the space unless `allow_unknown` (then counted and recorded, never silently dropped). Accuracies given in
percent (any value above 1, or `scale="percent"`) are stored as fractions, as search runs store theirs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ftd_nas.data.family import FAMILY_NAME
from ftd_nas.errors import ConfigError, InputError
from ftd_nas.io import write_json
from ftd_nas.records import RUNTIME_ONLY, Part, RecordError
from ftd_nas.search.nats_archive import read_nats_archive
from ftd_nas.search.results import METRICS
from ftd_nas.search.space import SearchSpace, load_space
from ftd_nas.search.table_sources import TableEntry, TableSource, read_csv_table
from ftd_nas.search.truth_record import TRUTH_FILE, TruthTableRecord, read_truth_table

log = logging.getLogger(__name__)
# NAS-Bench-201's table as ../shared/datasets/nats_bench_tss.csv has it
DEFAULT_ID_COLUMN = "ArchitectureString"
DEFAULT_ACCURACY_COLUMN = "CIFAR10TestAccuracy200Epochs"
DEFAULT_FAMILY = "cifar10"
SCALE_CHOICES = ("auto", "percent", "fraction")
SHOWN_UNKNOWN = 10  # unknown ids kept in truth.json as examples (the count is kept in full)


@dataclass
class TableTruthConfig(Part):
    space: str  # a space name or file, as `search --space`
    out: str  # the truth folder
    table: str | None = None  # a CSV table ...
    archive: str | None = None  # ... or a NATS-Bench topology archive folder
    id_column: str = DEFAULT_ID_COLUMN  # (CSV) the column of architecture ids
    accuracy_column: str = DEFAULT_ACCURACY_COLUMN  # (CSV) the column of accuracies
    dataset_family: str = DEFAULT_FAMILY  # the data the table's publisher measured on
    metric: str = "test_acc"  # which of a run's metrics the accuracies are
    scale: str = "auto"  # percent | fraction | auto: percent when any value is above 1
    allow_unknown: bool = False  # leave out (and count) ids that are no candidate of the space
    archive_hp: str = "200"  # (archive) training epochs of the results: "12" or "200"
    archive_dataset: str | None = None  # (archive) the benchmark's dataset name; default: the dataset family
    archive_split: str = "ori-test"  # (archive) the evaluation split
    progress: bool | None = field(default=None, metadata=RUNTIME_ONLY)

    def __post_init__(self) -> None:
        if (self.table is None) == (self.archive is None):
            raise ConfigError("give the published truth as --table FILE.csv or as --archive DIR (one of them)")
        if not FAMILY_NAME.fullmatch(self.dataset_family):
            raise ConfigError(f"--dataset-family {self.dataset_family!r}: a lower-case name such as cifar10, "
                              "cifar100 or digits")
        if self.metric not in METRICS:
            raise ConfigError(f"--metric {self.metric!r}: choose {', '.join(METRICS)}")
        if self.scale not in SCALE_CHOICES:
            raise ConfigError(f"--scale {self.scale!r}: choose {', '.join(SCALE_CHOICES)}")
        for option, value in (("--id-column", self.id_column), ("--accuracy-column", self.accuracy_column),
                              ("--archive-hp", self.archive_hp), ("--archive-split", self.archive_split)):
            if not value.strip():
                raise ConfigError(f"{option} is empty")


def read_source(config: TableTruthConfig) -> tuple[list[TableEntry], TableSource]:
    """The entries of the table or archive the configuration names."""
    if config.table is not None:
        return read_csv_table(config.table, config.id_column, config.accuracy_column)
    return read_nats_archive(config.archive, config.archive_hp, config.archive_dataset or config.dataset_family,
                             config.archive_split, config.progress)


def resolve_scale(entries: list[TableEntry], scale: str) -> tuple[str, bool]:
    """(scale, whether it was read off the values); every value must lie within it."""
    detected = scale == "auto"
    if detected:
        scale = "percent" if any(e.value > 1 for e in entries) else "fraction"
    top = 100.0 if scale == "percent" else 1.0
    outside = next((e for e in entries if not 0.0 <= e.value <= top), None)
    if outside is not None:
        why = "read off the values: one above 1 means percent" if detected else "--scale"
        raise InputError(f"{outside.where}: accuracy {outside.value!r} is outside [0, {top:g}] of the {scale} "
                         f"scale ({why})")
    return scale, detected


def match_space(entries: list[TableEntry], source: TableSource, space: SearchSpace,
                allow_unknown: bool) -> tuple[dict[str, float], list[str], list[TableEntry]]:
    """(value per covered candidate in the space's order, the space's ids the table lacks, the unknown entries)."""
    ids = [space.candidate_id(params) for params in space.candidates()]
    known, found, unknown = set(ids), {}, []
    for entry in entries:
        if entry.candidate not in known:
            unknown.append(entry)
        elif entry.candidate in found:
            raise InputError(f"{entry.where}: {entry.candidate!r} is given twice (also at "
                             f"{found[entry.candidate].where}); a truth has one value per candidate")
        else:
            found[entry.candidate] = entry
    if not found:
        example = f" (its first id: {entries[0].candidate!r})" if entries else ""
        raise InputError(f"the table {source.name!r} covers none of the {len(ids)} candidates of the space "
                         f"{space.name!r}{example}; the space's ids look like {ids[0]!r}: check {source.id_column!r} "
                         "(--id-column) and --space")
    if unknown and not allow_unknown:
        first = unknown[0]
        raise InputError(f"{first.where}: {first.candidate!r} is no candidate of the space {space.name!r}, and "
                         f"neither are {len(unknown) - 1} more ids of the table; check --space and --id-column, or "
                         "pass --allow-unknown to leave them out (counted in truth.json)")
    rows = {c: found[c].value for c in ids if c in found}
    return rows, [c for c in ids if c not in found], unknown


def _check_out(out: Path, record: TruthTableRecord, overwrite: bool) -> None:
    """A truth folder is its own: never a search run's, and another truth in it is replaced only with --overwrite."""
    if (out / "run.json").exists():
        raise ConfigError(f"{str(out)!r} is a search run folder: give the truth its own --out")
    if not (out / TRUTH_FILE).exists() or overwrite:
        return
    try:
        same = read_truth_table(out).settings() == record.settings()
    except RecordError:
        same = False
    if not same:
        raise ConfigError(f"{str(out)!r} holds a truth of another table or settings; pass --overwrite to replace "
                          "it, or choose another --out")


def make_table_truth(config: TableTruthConfig, overwrite: bool = False) -> TruthTableRecord:
    """Read the table, match it to the space, and write the truth folder; returns its record."""
    space = load_space(config.space)
    entries, source = read_source(config)
    scale, detected = resolve_scale(entries, config.scale)
    rows, missing, unknown = match_space(entries, source, space, config.allow_unknown)
    factor = 100.0 if scale == "percent" else 1.0
    record = TruthTableRecord(
        source=source, metric=config.metric, scale=scale, scale_detected=detected,
        dataset_family=config.dataset_family, space=space.to_dict(), space_size=len(rows) + len(missing),
        rows={c: v / factor for c, v in rows.items()}, missing=missing, unknown=len(unknown),
        unknown_examples=[e.candidate for e in unknown[:SHOWN_UNKNOWN]], created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    out = Path(config.out)
    _check_out(out, record, overwrite)
    write_json(out / TRUTH_FILE, record.to_dict())
    log.info("truth from %s: %d of the %d candidates of %s covered, %d missing, %d ids of no candidate left out; "
             "accuracies in %s (%s), stored as fractions", source.name, record.covered, record.space_size,
             space.name, len(missing), len(unknown), scale, "read off the values" if detected else "given")
    return record

"""truth.json: a ground truth imported from a published table by `ftd-nas truth`, without training anything.

It records where the numbers came from (the table's or archive's name and content hash, the columns of ids and
accuracies), what they measure (`metric`, the scale the source used) and on which dataset family its publisher
measured them, the space (the space file's dict, as a search run records it) and how much of it the table covers:
one row per covered candidate, the candidates it lacks, and how many of its ids are no candidate of the space.
Accuracies are stored as fractions, as search runs store theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ftd_nas.data.family import FAMILY_NAME
from ftd_nas.paths import inside
from ftd_nas.records import Record, RecordError
from ftd_nas.search.results import METRICS
from ftd_nas.search.table_sources import TableSource

TRUTH_FILE = "truth.json"
SCALES = ("percent", "fraction")


@dataclass(frozen=True)
class TruthTableRecord(Record):
    """truth.json (format version 1: the first)."""

    FORMAT = "ftd-nas-truth-table"
    VERSION = 1

    source: TableSource
    metric: str  # which of a run's metrics the accuracies are: test_acc or val_acc
    scale: str  # the source's: percent or fraction (`rows` are fractions either way)
    scale_detected: bool  # True: read off the values (no value above 1 means fractions); False: given
    dataset_family: str  # the data its publisher measured on (data/family.py: which runs it may judge)
    space: dict  # the space file's dict, as search runs record it
    space_size: int  # the space's candidates after its exclusions (no shape limits: a table has no data shape)
    rows: dict[str, float]  # candidate id -> accuracy (fraction): one per covered candidate, in the space's order
    missing: list[str]  # the space's candidates the table lacks
    unknown: int = 0  # ids of the table that are no candidate of the space (left out with --allow-unknown)
    unknown_examples: list[str] = field(default_factory=list)  # the first of them, for a reader to see why
    created: str = ""

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric {self.metric!r} is not one of {', '.join(METRICS)}")
        if self.scale not in SCALES:
            raise ValueError(f"scale {self.scale!r} is not one of {', '.join(SCALES)}")
        if not FAMILY_NAME.fullmatch(self.dataset_family):
            raise ValueError(f"dataset family {self.dataset_family!r} is not a lower-case name like cifar10")
        if not self.rows:
            raise ValueError("no rows: a truth covers at least one candidate")
        outside = next((c for c, v in self.rows.items() if not 0.0 <= v <= 1.0), None)
        if outside is not None:
            raise ValueError(f"the accuracy of {outside!r} is {self.rows[outside]!r}, outside [0, 1]")
        if len(self.rows) + len(self.missing) != self.space_size or set(self.rows) & set(self.missing):
            raise ValueError(f"{len(self.rows)} covered and {len(self.missing)} missing candidates do not make the "
                             f"space's {self.space_size}")

    @property
    def covered(self) -> int:
        return len(self.rows)

    def settings(self) -> dict:
        """Everything but when it was made: two imports of one table with the same options are the same truth."""
        return {k: v for k, v in self.to_dict().items() if k != "created"}


def holds_table(folder: str | Path) -> bool:
    """Whether a folder holds a truth imported from a table (as opposed to a search run, or nothing)."""
    return (Path(folder) / TRUTH_FILE).is_file()


def read_truth_table(folder: str | Path) -> TruthTableRecord:
    """A truth folder's truth.json, every field checked."""
    path = inside(folder, TRUTH_FILE, "the truth record")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"{str(path)!r} is not readable JSON: {exc}") from None
    return TruthTableRecord.from_dict(data, repr(str(path)))

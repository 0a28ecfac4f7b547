"""Where a published truth's numbers come from: a CSV table, read as plain text with every cell checked.

A source yields `TableEntry`s (an architecture's id, its accuracy as the source gives it, and where in the file it
stands, for messages) and a `TableSource`, what truth.json records of it: its kind, its file's name (never its
location), a content hash, and the column (or key path) of the ids and of the accuracies. The NATS-Bench archive
is the other source (`nats_archive.py`).
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ftd_nas.errors import InputError
from ftd_nas.records import Part


class TableEntry(NamedTuple):
    candidate: str  # the architecture's id as the source writes it
    value: float  # its accuracy, in the source's own scale (percent or fraction)
    where: str  # "FILE, line N" or "ARCHIVE/FILE": for every message about this entry


@dataclass(frozen=True)
class TableSource(Part):
    """A truth's source as truth.json records it: shown and checked, never opened again from here."""

    kind: str  # "csv" | "nats-archive"
    name: str  # the file's (or the archive folder's) name, without its location
    sha256: str  # of the file; of an archive, of its files' names and hashes (`nats_archive`)
    id_column: str  # the CSV column, or the archive's key, of the architecture ids
    accuracy_column: str  # the CSV column, or the archive's key path, of the accuracies

    def __post_init__(self) -> None:
        if self.kind not in ("csv", "nats-archive"):
            raise ValueError(f"source kind {self.kind!r} is neither 'csv' nor 'nats-archive'")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _value(text: str, column: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: column {column!r} holds {text!r}, not a number (--accuracy-column names the "
                         "column of accuracies)") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: column {column!r} holds {text!r}, not a finite number")
    return value


def read_csv_table(path: str | Path, id_column: str, accuracy_column: str) -> tuple[list[TableEntry], TableSource]:
    """Every row of a CSV table with a header line, as entries; errors name the file, the column and the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"the table {str(path)!r} does not exist (--table)")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:  # a spreadsheet's byte-order mark is not a column
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"the table {str(path)!r} is not a readable CSV file: {exc}") from None
    if not rows:
        raise InputError(f"the table {str(path)!r} is empty: expected a header line naming its columns")
    header = [name.strip() for name in rows[0]]
    for option, column in (("--id-column", id_column), ("--accuracy-column", accuracy_column)):
        if column not in header:
            raise InputError(f"the table {str(path)!r} has no column {column!r} ({option}); its columns are "
                             f"{', '.join(repr(h) for h in header[:12])}{', ...' if len(header) > 12 else ''}")
    at_id, at_value = header.index(id_column), header.index(accuracy_column)
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        where = f"{str(path)!r}, line {number}"
        if not row or all(not cell.strip() for cell in row):
            continue  # a blank line (often the last one) holds no architecture
        if len(row) != len(header):
            raise InputError(f"{where}: {len(row)} fields where the header has {len(header)}")
        candidate = row[at_id].strip()
        if not candidate:
            raise InputError(f"{where}: column {id_column!r} is empty")
        entries.append(TableEntry(candidate, _value(row[at_value].strip(), accuracy_column, where), where))
    return entries, TableSource(kind="csv", name=path.name, sha256=file_sha256(path), id_column=id_column,
                                accuracy_column=accuracy_column)

"""candidates.csv: every candidate's score in every run of a report and in its truth, with the truth's repeats and
what the report needs to know about each run (its group, its kind of proxy, its size). A few kilobytes that the
repository keeps under docs/, so the report's statistics can be recomputed without the runs' studies
(`read_candidates`, and scripts/recompute_report.py).

The file may come from elsewhere: it is parsed as plain text, every value checked, and a bad row refused with its
line number; nothing in it names a path to follow.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from ftd_nas.agreement import FAILED
from ftd_nas.errors import InputError
from ftd_nas.io import atomic_path

COLUMNS = ["run_name", "group", "kind", "method", "train_images", "candidate", "state", "score", "repeats"]
TRUTH = "truth"  # the run_name and group of the truth's rows
KINDS = ("proxy", "random", "real", "zc")
STATES = ("finished", "failed")


def write_candidates(report: dict, path: Path) -> None:
    """The report's scores as candidates.csv (see the module docstring); a candidate that failed on a proxy has
    state "failed" and no score (the statistics rank it last). A training-free run's method is its scorer."""
    rows = [{"run_name": TRUTH, "group": TRUTH, "kind": "real", "method": "", "train_images": "",
             "candidate": c, "state": "finished", "score": repr(score),
             "repeats": ";".join(repr(v) for v in report["truth_repeats"].get(c, []))}
            for c, score in sorted(report["truth_scores"].items())]
    for e in report["runs"]:
        source = e["source"]
        rows += [{"run_name": e["name"], "group": e["label"], "kind": source["kind"],
                  "method": source.get("method", source.get("scorer", "")), "train_images": e["train_images"] or "",
                  "candidate": c,
                  "state": "finished" if math.isfinite(score) else "failed",
                  "score": repr(score) if math.isfinite(score) else "", "repeats": ""}
                 for c, score in sorted(e["scores"].items())]
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)


@dataclass(frozen=True)
class CandidatesTable:
    """What a report is computed from: the runs (as `search.comparisons.inference` takes them), the truth's
    scores and its repeats."""

    runs: list[dict]
    truth: dict[str, float]
    truth_repeats: dict[str, list[float]]


def _number(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: {what} {text!r} is not finite (a failed candidate has state 'failed' and no "
                         "score)")
    return value


def read_candidates(path: str | Path) -> CandidatesTable:
    """candidates.csv back into runs and truth, every row checked."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames != COLUMNS:
                raise InputError(f"{path}: not a candidates.csv of ftd-nas report: its header is "
                                 f"{reader.fieldnames}, expected {COLUMNS}")
            lines = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    truth, repeats, runs, seen = {}, {}, {}, set()
    for number, row in enumerate(lines, start=2):
        where = f"{path}, line {number}"
        if None in row or any(v is None for v in row.values()):
            raise InputError(f"{where}: expected {len(COLUMNS)} fields")
        key = (row["run_name"], row["candidate"])
        if key in seen:
            raise InputError(f"{where}: candidate {row['candidate']!r} appears twice in {row['run_name']!r}")
        seen.add(key)
        if row["state"] not in STATES or row["kind"] not in KINDS:
            raise InputError(f"{where}: state {row['state']!r} / kind {row['kind']!r}; expected one of {STATES} / "
                             f"{KINDS}")
        if row["run_name"] == TRUTH:
            truth[row["candidate"]] = _number(row["score"], "score", where)
            repeats[row["candidate"]] = [_number(v, "repeat", where) for v in row["repeats"].split(";") if v]
            continue
        score = FAILED if row["state"] == "failed" else _number(row["score"], "score", where)
        images = int(_number(row["train_images"], "train_images", where)) if row["train_images"] else None
        run = runs.setdefault(row["run_name"], {
            "name": row["run_name"], "label": row["group"], "train_images": images, "scores": {},
            "source": {"kind": row["kind"], **({"method": row["method"]} if row["method"] else {})}})
        if (run["label"], run["source"]["kind"], run["train_images"]) != (row["group"], row["kind"], images):
            raise InputError(f"{where}: run {row['run_name']!r} changes its group, kind or size between rows")
        run["scores"][row["candidate"]] = score
    if not truth or not runs:
        raise InputError(f"{path}: needs the truth's rows (run_name 'truth') and at least one run's")
    return CandidatesTable(list(runs.values()), truth, repeats)

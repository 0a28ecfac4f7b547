"""What a search produces: one `CandidateResult` per candidate, a `SearchSummary` per worker run, the trial
states they speak of, and how the result files (report.json, verify.json, the demo's summary.json) are read.

The states are optuna's names (`TrialState.COMPLETE.name` ...), kept as plain strings so that results.csv and the
JSON files stay as they were; only the optuna-facing code (study.py, `collect_results`) deals in TrialState.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from ftd_nas.records import Part, Record, RecordError

COMPLETE, FAIL, PRUNED = "COMPLETE", "FAIL", "PRUNED"
STATES = (COMPLETE, FAIL, PRUNED)
METRICS = ("val_acc", "test_acc", "proxy_score")  # the scores a row ranks candidates by
PROXY_SCORE = "proxy_score"  # a training-free run's only score (`--proxy zc:NAME`): no candidate is trained
ZC = "zc"  # the source kind of a training-free run

R = TypeVar("R", bound=Record)


class ByKey:
    """`record["val_acc"]` as well as `record.val_acc`: callers written against the dicts these records replaced
    keep working; the keys are the field names (and a derived property's name), so there is one name per fact."""

    def __getitem__(self, key: str) -> Any:
        if key in {f.name for f in fields(self)} or isinstance(getattr(type(self), key, None), property):
            return getattr(self, key)
        raise KeyError(key)


@dataclass(frozen=True, eq=True)
class CandidateResult(ByKey, Part):
    """One candidate of a search: the mean over its finished repeats (their values and spread kept), or why it
    failed or was pruned. A trained candidate has accuracies; a training-free run's (zc:NAME) has `proxy_score`
    instead, the scorer's value (higher = predicted better; the scorer and its choices are the run's identity)."""

    candidate: str
    params: dict  # the space's axes (and fixed values) of the candidate, as the trial suggested them
    state: str  # COMPLETE once one repeat finished; else FAIL (any failed) or PRUNED
    trial: int  # the trial number of its first finished (or failed, or pruned) repeat
    val_acc: float | None = None
    test_acc: float | None = None
    train_acc: float | None = None
    seconds: float | None = None  # training (zc: scoring) time summed over finished repeats
    num_params: int | None = None
    macs: int | None = None
    epochs_trained: int = 0  # over every repeat, pruned ones included
    fail_reason: str | None = None
    repeats: int = 0  # finished repeats
    failed_repeats: int = 0
    val_std: float | None = None
    test_std: float | None = None
    val_accs: list[float] = field(default_factory=list)
    test_accs: list[float] = field(default_factory=list)
    repeat_ids: list[int] = field(default_factory=list)
    proxy_score: float | None = None
    proxy_std: float | None = None
    proxy_scores: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"state {self.state!r} is not one of {', '.join(STATES)}")

    def __getitem__(self, key: str) -> Any:
        try:
            return super().__getitem__(key)
        except KeyError:
            return self.params[key]  # results.csv and the old rows put the axes next to the fields

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    def score(self, metric: str) -> float | None:
        """The mean `val_acc`, `test_acc` or `proxy_score` of a finished candidate (None otherwise)."""
        return getattr(self, _metric(metric)) if self.complete else None

    def repeat_scores(self, metric: str) -> list[float]:
        return list(getattr(self, _REPEATS[_metric(metric)][0])) if self.complete else []

    def spread(self, metric: str) -> float | None:
        return getattr(self, _REPEATS[_metric(metric)][1]) if self.complete else None

    def flat(self) -> dict:
        """A results.csv row: the axes right after the candidate id, as the rows have always been."""
        data = self.to_dict()
        params = data.pop("params")
        return {"candidate": data.pop("candidate"), **params, **data}


_REPEATS = {"val_acc": ("val_accs", "val_std"), "test_acc": ("test_accs", "test_std"),
            PROXY_SCORE: ("proxy_scores", "proxy_std")}  # each metric's per-repeat values and their spread


def _metric(metric: str) -> str:
    if metric not in METRICS:
        raise KeyError(f"unknown metric {metric!r}; choose {', '.join(METRICS)}")
    return metric


def ranking_metric(source: dict, requested: str = "val_acc") -> str:
    """What a run's rows rank candidates by: `requested` (an accuracy) for a run that trained its candidates; a
    training-free run's score (`PROXY_SCORE`) whatever was requested, since it has nothing else."""
    return PROXY_SCORE if source.get("kind") == ZC else _metric(requested)


@dataclass(frozen=True)
class SearchSummary(ByKey, Record):
    """What one worker's `Search.run()` did (its counts and time) and every candidate's result in the study."""

    FORMAT = "ftd-nas-search-summary"
    VERSION = 1

    study: str
    queued: int = 0  # trials this worker added to the grid's queue
    trained: int = 0
    failed: int = 0
    duplicate: int = 0
    pruned: int = 0
    excluded: int = 0
    lost: int = 0  # trained here but dropped: another worker had declared the trial dead
    candidates: int = 0  # the space's size for this data
    repeats: int = 1
    seconds: float = 0.0
    rows: list[CandidateResult] = field(default_factory=list)

    @property
    def complete(self) -> int:
        """Candidates of the whole study with a finished repeat."""
        return sum(r.state == COMPLETE for r in self.rows)

    @property
    def failed_total(self) -> int:
        """Candidates of the whole study that failed (not only in this worker)."""
        return sum(r.state == FAIL for r in self.rows)


def from_unversioned(body: dict) -> dict:
    """Format version 1 is the file as written before it had a format: the same keys, so nothing to change."""
    return body


def read_record(cls: type[R], path: str | Path) -> R:
    """A result file as its record; one without format keys (written before they existed) is format version 1."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RecordError(f"{str(path)!r} is not readable JSON: {exc}") from None
    if isinstance(data, dict) and "format" not in data and "format_version" not in data:
        data = {"format": cls.FORMAT, "format_version": 1, **data}
    return cls.from_dict(data, repr(str(path)))

"""`ftd-nas status RUN`: where a search stands, read from its storage without writing to it.

Counts units of work (a candidate's repeat): finished, running (which worker, how long since its heartbeat),
waiting in the queue, not queued yet, failed and pruned; the throughput over the last minutes and the time
to finish at that rate. Works for every storage (SQLite, journal file, PostgreSQL) and for a run in progress.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from ftd_nas.queue import DUPLICATE, FAIL_REASON, MAX_CRASHES, crash_counts, heartbeat_ages, redact_url, unit_of
from ftd_nas.search.record import SearchRunRecord
from ftd_nas.search.runner import EXCLUDED, WORKER, open_run_study


@dataclass
class RunningUnit:
    trial: int
    candidate: str
    repeat: int
    worker: str | None
    started: str | None
    heartbeat_age: float | None  # seconds since its last heartbeat (None: no heartbeat recorded)


@dataclass
class RunStatus:
    run: str
    study: str
    storage: str
    units: int | None  # candidates x repeats of a grid; --n-trials of a budgeted search
    finished: int
    failed: int
    pruned: int
    waiting: int
    not_queued: int | None
    running: list[RunningUnit] = field(default_factory=list)
    window_minutes: float = 0.0  # the span the throughput was measured over
    per_minute: float | None = None  # units finished per minute over that span
    eta_seconds: float | None = None  # remaining units at that rate
    workers: list[str] = field(default_factory=list)  # workers that finished a unit within the window

    def to_dict(self) -> dict:
        return asdict(self)


def _ended(t: FrozenTrial) -> str | None:
    """How a trial ended for good: complete, failed (a reason that would recur) or pruned; None otherwise."""
    if DUPLICATE in t.user_attrs or EXCLUDED in t.user_attrs or unit_of(t)[0] is None:
        return None
    if t.state == TrialState.COMPLETE:
        return "finished"
    if t.state == TrialState.FAIL and FAIL_REASON in t.user_attrs:
        return "failed"
    return "pruned" if t.state == TrialState.PRUNED else None


def study_status(study: optuna.Study, record: SearchRunRecord, run: str, window_minutes: float = 10.0,
                 now: dt.datetime | None = None) -> RunStatus:
    now = now or dt.datetime.now()
    trials = study.get_trials(deepcopy=False)
    ended: dict[tuple[str, int], tuple[str, FrozenTrial]] = {}
    for t in trials:
        how = _ended(t)
        if how is not None and (unit_of(t) not in ended or how == "finished"):
            ended[unit_of(t)] = (how, t)
    for unit, count in crash_counts(trials).items():  # given up after its workers died MAX_CRASHES times
        if count >= MAX_CRASHES and unit not in ended:
            ended[unit] = ("failed", next(t for t in trials if unit_of(t) == unit))
    counts = {how: sum(h == how for h, _ in ended.values()) for how in ("finished", "failed", "pruned")}
    live = [t for t in trials if DUPLICATE not in t.user_attrs and unit_of(t) not in ended]
    running = [t for t in live if t.state == TrialState.RUNNING]
    waiting = sum(t.state == TrialState.WAITING for t in live)
    ages = heartbeat_ages(study, running)
    units = (record.space_size or 0) * record.repeats if record.sampler == "grid" else record.n_trials
    not_queued = max(0, units - len(ended) - len(running) - waiting) if units else None

    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    span = min(window_minutes, (now - min(starts)).total_seconds() / 60) if starts else 0.0
    since = now - dt.timedelta(minutes=span)
    recent = [t for _, t in ended.values() if t.datetime_complete is not None and t.datetime_complete >= since]
    per_minute = len(recent) / span if span > 0 else None
    left = (not_queued or 0) + waiting + len(running)
    eta = 0.0 if left == 0 else (60 * left / per_minute if per_minute else None)
    return RunStatus(
        run=run, study=study.study_name, storage=redact_url(record.storage), units=units, waiting=waiting,
        not_queued=not_queued,
        running=[RunningUnit(t.number, unit_of(t)[0], unit_of(t)[1], t.user_attrs.get(WORKER),
                             t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else None,
                             ages.get(t.number)) for t in running],
        window_minutes=span, per_minute=per_minute, eta_seconds=eta,
        workers=sorted({t.user_attrs[WORKER] for t in recent if WORKER in t.user_attrs}), **counts)


def run_status(run_dir: str | Path, storage: str | None = None, window_minutes: float = 10.0) -> RunStatus:
    """The status of a search run folder, its study opened read-only (`storage`: the URL, when it lives in a
    server whose password run.json leaves out, or a journal outside the folder)."""
    record, study = open_run_study(Path(run_dir), storage)
    return study_status(study, record, str(run_dir), window_minutes)


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def format_status(s: RunStatus) -> str:
    total = f" of {s.units}" if s.units else ""
    lines = [f"{s.run}: study {s.study!r} in {s.storage}",
             f"  finished {s.finished}{total}, running {len(s.running)}, waiting {s.waiting}"
             + (f", not queued yet {s.not_queued}" if s.not_queued else "")
             + f", failed {s.failed}, pruned {s.pruned}"]
    for r in s.running:
        beat = f"heartbeat {r.heartbeat_age:.0f} s ago" if r.heartbeat_age is not None else "no heartbeat yet"
        lines.append(f"    #{r.trial} {r.candidate} (repeat {r.repeat}) on {r.worker or '?'} since {r.started}, "
                     f"{beat}")
    if s.per_minute is not None:
        lines.append(f"  throughput {s.per_minute:.2f} units/min over the last {s.window_minutes:.0f} min "
                     f"({len(s.workers)} workers finished units)")
    if s.eta_seconds == 0:
        lines.append("  done: nothing left to train")
    elif s.eta_seconds is not None:
        lines.append(f"  about {_duration(s.eta_seconds)} to finish at that rate")
    else:
        lines.append("  time to finish: unknown until a unit finishes within the window")
    return "\n".join(lines)

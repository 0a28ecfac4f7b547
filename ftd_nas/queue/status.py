"""How long ago each running trial's worker last beat, read without writing to the storage."""

from __future__ import annotations

import datetime as dt

import optuna
from optuna.trial import FrozenTrial

from ftd_nas.queue.backend import backend_of, rdb_of, trial_id
from ftd_nas.queue.journal import HeartbeatJournalStorage


def _rdb_heartbeats(study: optuna.Study) -> dict[int, float]:
    """Seconds since each trial's heartbeat, by trial id and the database server's clock (as optuna judges them).
    Optuna has no public reader of its heartbeat table, so this reads the table itself."""
    import sqlalchemy

    with rdb_of(study).engine.connect() as conn:
        now = conn.execute(sqlalchemy.select(sqlalchemy.func.now())).scalar()
        rows = conn.exec_driver_sql("SELECT trial_id, heartbeat FROM trial_heartbeats").all()
    now = now.replace(tzinfo=None) if isinstance(now, dt.datetime) else dt.datetime.fromisoformat(str(now))
    ages = {}
    for trial, beat in rows:
        beat = beat if isinstance(beat, dt.datetime) else dt.datetime.fromisoformat(str(beat))
        ages[trial] = (now - beat.replace(tzinfo=None)).total_seconds()
    return ages


def heartbeat_ages(study: optuna.Study, running: list[FrozenTrial]) -> dict[int, float | None]:
    """Seconds since each running trial's last heartbeat, by trial number (None: none recorded, or unknown)."""
    storage = backend_of(study)
    if isinstance(storage, HeartbeatJournalStorage):
        return {t.number: storage.heartbeat_age(t) for t in running}
    try:
        ages = _rdb_heartbeats(study)
    except Exception:  # an RDB without the heartbeat table (never run with heartbeats): ages unknown
        ages = {}
    return {t.number: ages.get(trial_id(t)) for t in running}

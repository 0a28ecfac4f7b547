"""One lock per storage that serialises queueing and claiming among workers.

SQLite ignores SELECT ... FOR UPDATE, so claims there go through a lock file beside the database;
PostgreSQL locks the claimed row itself and gets an advisory lock so workers do not queue twice; a journal
rejects a second claim of a trial on replay and gets a lock file (safe on NFS) for queueing.
"""

from __future__ import annotations

import fcntl
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

import optuna
from optuna.storages import RDBStorage

from ftd_nas.queue.backend import backend_of, rdb_of
from ftd_nas.queue.journal import HeartbeatJournalStorage

ADVISORY_KEY = 0x46_54_44  # "FTD": the PostgreSQL advisory lock every worker of every study takes


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path` (created if missing): processes of one machine only, not NFS."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(storage: RDBStorage, key: int = ADVISORY_KEY) -> Iterator[None]:
    with storage.engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
            conn.commit()


def storage_lock(study: optuna.Study) -> AbstractContextManager:
    """The lock that serialises queueing and claiming in the study's storage: use it in `with`."""
    backend = backend_of(study)
    if isinstance(backend, HeartbeatJournalStorage):
        return backend.queue_lock()
    storage = rdb_of(study)
    if storage is None:
        return nullcontext()
    url = storage.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return file_lock(Path(url.database + ".lock"))
    if url.get_backend_name() == "postgresql":
        return _advisory_lock(storage)
    return nullcontext()

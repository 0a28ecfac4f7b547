"""The storage behind an optuna study, reached through optuna's private attributes.

Optuna has no public way to get at a study's storage or a trial's id in it, and the queue needs both: to lock
the storage, to record heartbeats and to read a trial's state past the cache. This module is the one place
that reaches into optuna's privates, so an optuna upgrade that renames them breaks here and nowhere else.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import optuna
from optuna.exceptions import StorageInternalError
from optuna.storages import RDBStorage, _CachedStorage
from optuna.storages._heartbeat import BaseHeartbeat  # optuna exports no public name for it
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["BaseHeartbeat", "backend_of", "rdb_of", "heartbeat_of", "storage_of", "trial_id", "is_finished",
           "one_transaction"]


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage the study talks to (for RDB storages, optuna's cache in front of the database)."""
    return study._storage


def backend_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage behind a study (optuna wraps an RDB storage in a cache layer)."""
    storage = storage_of(study)
    return storage._backend if isinstance(storage, _CachedStorage) else storage


def rdb_of(study: optuna.Study) -> RDBStorage | None:
    storage = backend_of(study)
    return storage if isinstance(storage, RDBStorage) else None


def heartbeat_of(study: optuna.Study) -> BaseHeartbeat | None:
    """The study's storage when it records heartbeats (RDB storages and our journal)."""
    storage = backend_of(study)
    return storage if isinstance(storage, BaseHeartbeat) and storage.get_heartbeat_interval() else None


def trial_id(trial: optuna.Trial | optuna.trial.FrozenTrial) -> int:
    """A trial's id in its storage (unique across studies, unlike its number)."""
    return trial._trial_id


def is_finished(study: optuna.Study, trial: optuna.Trial) -> bool:
    """Has the trial finished in the storage itself (another worker may have failed it since we last looked)?"""
    return backend_of(study).get_trial(trial_id(trial)).state.is_finished()


@contextmanager
def one_transaction(study: optuna.Study) -> Iterator[None]:
    """Make the writes this thread sends to the study's database inside the block one transaction: committed when
    the block ends, rolled back when an exception leaves it. Optuna commits every call on its own (each parameter
    of a trial, each user attribute, its state), and each commit syncs the disk; a trial's bookkeeping is a handful
    of calls, so this is one sync instead of a handful, and what they record appears all at once or not at all.
    Other threads (a trial's heartbeat) keep their own sessions and commits, and a write of theirs waits for this
    transaction to end (SQLite has one writer at a time): keep blocks short, and never wait inside one for a thread
    that writes. A storage other than a database (a journal file): the block runs as it is. Nested blocks are part
    of the outermost one."""
    storage = rdb_of(study)
    if storage is None or isinstance(storage.scoped_session, _OneSession):
        yield
        return
    factory = storage.scoped_session
    held = _OneSession(factory)
    storage.scoped_session = held  # what optuna's calls ask for a session (`optuna.storages._rdb.storage`)
    try:
        yield
    except BaseException:
        held.rollback()
        raise
    else:
        held.commit()
    finally:
        storage.scoped_session = factory
        held.close()


class _OneSession:
    """Stands in for an RDB storage's session factory (a SQLAlchemy scoped_session) while a block of
    `one_transaction` runs: its own thread gets one session, held open, whose commits only send the writes
    (flush); every other thread gets its usual session."""

    def __init__(self, factory):
        self._factory, self._owner = factory, threading.get_ident()
        self._session = _HeldSession(factory())

    def __call__(self):
        return self._session if threading.get_ident() == self._owner else self._factory()

    def __getattr__(self, name):  # remove() and the like: the factory's own
        return getattr(self._factory, name)

    def commit(self) -> None:
        if self._session.lost:  # optuna rolled back a failed call and went on: the calls before it are undone
            self.rollback()
            raise StorageInternalError("a storage call failed and was rolled back inside a transaction of several "
                                       "calls, taking the calls before it along: nothing of the block was recorded")
        try:
            self._session.real.commit()
        except SQLAlchemyError as exc:  # as optuna reports a failed commit (a full disk, a locked database)
            self._session.real.rollback()
            raise StorageInternalError(f"the commit of a transaction failed: {exc}") from exc

    def rollback(self) -> None:
        self._session.real.rollback()

    def close(self) -> None:
        self._session.real.close()


class _HeldSession:
    """A session whose commit() sends the writes without committing them, and whose close() keeps the transaction
    open: optuna calls both after each storage call. Like a commit and a close, they forget every object loaded,
    so the next call reads the database again."""

    def __init__(self, session):
        self.real, self.lost, self._sent = session, False, False

    def __getattr__(self, name):
        return getattr(self.real, name)

    def commit(self) -> None:
        self.real.flush()
        self._sent = True

    def close(self) -> None:
        self.real.expunge_all()

    def rollback(self) -> None:
        self.lost |= self._sent  # the writes of earlier calls go with it
        self._sent = False
        self.real.rollback()

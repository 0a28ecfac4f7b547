"""The storage behind an optuna study, reached through optuna's private attributes.

Optuna has no public way to get at a study's storage or a trial's id in it, and the queue needs both: to lock
the storage, to record heartbeats and to read a trial's state past the cache. This module is the one place
that reaches into optuna's privates, so an optuna upgrade that renames them breaks here and nowhere else.
"""

from __future__ import annotations

import optuna
from optuna.storages import RDBStorage, _CachedStorage
from optuna.storages._heartbeat import BaseHeartbeat  # optuna exports no public name for it

__all__ = ["BaseHeartbeat", "backend_of", "rdb_of", "heartbeat_of", "storage_of", "trial_id", "is_finished"]


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

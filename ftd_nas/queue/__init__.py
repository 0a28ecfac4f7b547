"""The exactly-once queue of units of work over an optuna study, shared by workers on one or many machines.

It knows storages and their URLs (`urls.py`, `storage.py`, the journal file with heartbeats in `journal.py`),
the lock that serialises claims (`lock.py`), opening a study checked against its identity (`study.py`), the
units themselves (`units.py`: enqueue, claim, heartbeat, crash counts), heartbeat ages for a status
(`status.py`), and starting workers locally or under SLURM (`workers.py`, `slurm.py`). A unit is an opaque key,
a repeat number and the params its trial is created with: what a unit means, and how it is trained, is the
caller's (`ftd_nas/search/`). Only this package reaches into optuna's private modules (`backend.py`, which also
makes several storage calls one transaction: `one_transaction`); `commits.py` counts the commits a process makes,
for the benchmark and tests of the bookkeeping per trial.
"""

from ftd_nas.queue.backend import is_finished, one_transaction
from ftd_nas.queue.quiet import quiet_optuna
from ftd_nas.queue.status import heartbeat_ages
from ftd_nas.queue.storage import close_storage, make_storage, open_storage_readonly
from ftd_nas.queue.study import open_study
from ftd_nas.queue.units import (DUPLICATE, FAIL_REASON, INTERRUPTED, MAX_CRASHES, REPEAT, UNIT_KEY, Unit,
                                 crash_counts, earlier_live_trial, enqueue_missing, finished_and_running, heartbeat,
                                 pop_waiting, remaining, unit_of)
from ftd_nas.queue.urls import in_run_folder, normalise_url, redact, redact_url, storage_location, storage_url

__all__ = ["DUPLICATE", "FAIL_REASON", "INTERRUPTED", "MAX_CRASHES", "REPEAT", "UNIT_KEY", "Unit", "close_storage",
           "crash_counts", "earlier_live_trial", "enqueue_missing", "finished_and_running", "heartbeat",
           "heartbeat_ages", "in_run_folder", "is_finished", "make_storage", "normalise_url", "one_transaction",
           "open_storage_readonly", "open_study", "pop_waiting", "quiet_optuna", "redact", "redact_url", "remaining",
           "storage_location", "storage_url", "unit_of"]

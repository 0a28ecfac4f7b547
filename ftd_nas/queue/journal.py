"""Optuna's journal storage on a file, with the heartbeats optuna gives only its RDB storages.

A journal file is an append-only log that every worker replays; appends go through a lock file that works on
network filesystems (NFS) and is broken safely when a worker dies holding it (`ftd_nas/lockfile.py`), so it is the
multi-machine storage that needs no database server. Claims are exactly-once because a WAITING -> RUNNING
entry that loses the race to an earlier one is rejected on replay.

Optuna's journal storage has no heartbeat, so a trial whose worker was killed would stay RUNNING for ever.
`HeartbeatJournalStorage` adds one: a running trial's worker appends a beat every `heartbeat` seconds, and a
trial whose last beat another worker has seen unchanged for `grace` seconds (by its own clock, so the machines'
clocks need not agree) is stale, failed and re-queued like an RDB storage's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import FrozenTrial, TrialState

from ftd_nas.lockfile import TokenSymlinkLock
from ftd_nas.queue.backend import BaseHeartbeat

HEARTBEAT_ATTR = "ftd_nas:heartbeat"  # system attr: {"trial": id, "at": unix time} of a running trial's last beat
LOCK_GRACE = 30  # seconds after which a lock file left by a killed worker is broken (at most)


def check_journal_file(path: Path) -> None:
    """Refuse a file that is not an optuna journal before appending to it would bury it: its first line must be
    a journal entry and its last line complete."""
    size = path.stat().st_size if path.exists() else 0
    if size == 0:
        return
    with open(path, "rb") as fh:
        first = fh.readline(1 << 20)
        fh.seek(size - 1)
        last = fh.read(1)
    try:
        entry = json.loads(first)
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or "op_code" not in entry:
        raise ValueError("its first line is not an optuna journal entry")
    if last != b"\n":
        raise ValueError("its last line is incomplete (a worker died while writing it?); remove that line, or "
                         "restore the file from a copy")


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    def __init__(self, path: Path, heartbeat: int | None = None, grace: int | None = None,
                 stale_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None):
        self.path = Path(path)
        check_journal_file(self.path)
        # A lock left by a killed worker delays every live worker's heartbeat until it is broken, so it must be
        # broken well within `grace`, or the live workers would be declared dead too.
        self.lock_grace = LOCK_GRACE if grace is None else min(LOCK_GRACE, max(grace / 4, 1.0))
        # the lock's name is optuna's own (PATH.lock), so workers of older versions still exclude ours
        super().__init__(JournalFileBackend(str(path), lock_obj=TokenSymlinkLock(f"{path}.lock", self.lock_grace)))
        self._heartbeat, self._grace, self._stale_callback = heartbeat, grace, stale_callback
        self._beats_seen: dict[int, tuple[float, float]] = {}  # trial id -> (its last beat, when we first saw it)

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, {"trial": trial_id, "at": time.time()})
        except UpdateFinishedTrialError:  # another worker declared it dead meanwhile; its result is refused later
            pass

    @staticmethod
    def _own_beat(trial: FrozenTrial) -> float | None:
        """The wall time of the trial's last heartbeat, None when it has none of its own (a retried trial
        carries its predecessor's attributes, so a beat counts only when it names this trial)."""
        beat = trial.system_attrs.get(HEARTBEAT_ATTR)
        if not isinstance(beat, dict) or beat.get("trial") != trial._trial_id:
            return None
        return float(beat["at"])

    def heartbeat_age(self, trial: FrozenTrial, now: float | None = None) -> float | None:
        """Seconds since the trial's last heartbeat by the wall clocks of its worker and of this machine (for
        display: staleness never compares two machines' clocks)."""
        beat = self._own_beat(trial)
        return None if beat is None else (time.time() if now is None else now) - beat

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        # Stale: the same last beat seen for `grace` seconds of this machine's monotonic clock. Comparing the
        # beat's wall time with ours would declare live workers dead whenever the clocks disagree by `grace`.
        now = time.monotonic()
        running = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
        stale = []
        for t in running:
            beat = self._own_beat(t)
            if beat is None:
                continue
            seen = self._beats_seen.get(t._trial_id)
            if seen is None or seen[0] != beat:
                self._beats_seen[t._trial_id] = seen = (beat, now)
            if now - seen[1] > self._grace:
                stale.append(t._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self._heartbeat

    def get_heartbeat_stale_trial_callback(self) -> Callable[[optuna.Study, FrozenTrial], None] | None:
        return self._stale_callback

    get_failed_trial_callback = get_heartbeat_stale_trial_callback  # its name before optuna 4.9

    def queue_lock(self) -> TokenSymlinkLock:
        """Serialise queueing among workers (a lock file beside the journal, safe on NFS): use it in `with`."""
        return TokenSymlinkLock(f"{self.path}.queue.lock", self.lock_grace)

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
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.storages.journal._file import get_lock_file
from optuna.storages.journal._storage import JournalOperation
from optuna.trial import FrozenTrial, TrialState

from ftd_nas.errors import StorageError, disk_full, disk_full_error
from ftd_nas.lockfile import TokenSymlinkLock
from ftd_nas.queue.backend import BaseHeartbeat

log = logging.getLogger(__name__)

HEARTBEAT_ATTR = "ftd_nas:heartbeat"  # system attr: {"trial": id, "at": unix time} of a running trial's last beat
LOCK_GRACE = 30  # seconds after which a lock file left by a killed worker is broken (at most)
ENTRY_START = b'{"op_code":'  # how optuna writes every entry (compact JSON, the operation first)
OPERATIONS = {int(op) for op in JournalOperation}


def check_journal_file(path: Path) -> None:
    """Refuse a file that is not an optuna journal before appending to it would bury it: its first line must be
    a journal entry, or (a first append cut short by a full disk) the start of one."""
    size = path.stat().st_size if path.exists() else 0
    if size == 0:
        return
    with open(path, "rb") as fh:
        first = fh.readline(1 << 20)
    if not first.endswith(b"\n"):  # the only line, and incomplete: a torn first entry is repaired when opened
        if first.startswith(ENTRY_START) or ENTRY_START.startswith(first):
            return
        raise ValueError("its first line is not an optuna journal entry")
    try:
        entry = json.loads(first)
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or "op_code" not in entry:
        raise ValueError("its first line is not an optuna journal entry")


class JournalFile(JournalFileBackend):
    """Optuna's journal file, read strictly and appended safely.

    An append is one write under the lock; if it fails (a full disk, a quota) the file is cut back to where it
    was, so no half line is left for the next append to bury, and the operation never happened, as optuna
    expects of a failed append. A half line left all the same (a worker killed in mid-write, or a version without
    this rule) is removed, under the lock, by the next worker that appends or opens the journal, and said so in
    the log; a reader ignores it. An entry that cannot be replayed (not JSON, or an operation this optuna does not
    know, written by another version) is a StorageError naming its line, never a crash in optuna.
    """

    def __init__(self, path: Path, lock: TokenSymlinkLock):
        super().__init__(str(path), lock_obj=lock)
        self._torn_reported: int | None = None  # the size of the file when its torn last line was logged

    # ------------------------------------------------------------------ reading
    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        with open(self._file_path, "rb") as f:
            remaining = os.fstat(f.fileno()).st_size  # what is appended while we read is read next time
            number = 0
            if log_number_from in self._log_number_offset:
                f.seek(self._log_number_offset[log_number_from])
                number = log_number_from
                remaining -= self._log_number_offset[log_number_from]
            for line in f:
                remaining -= len(line)
                if remaining < 0:
                    break
                if not line.endswith(b"\n"):  # the last line, cut short: its operation never happened
                    self._report_torn(len(line), repaired=False)
                    break
                self._log_number_offset.setdefault(number + 1, self._log_number_offset[number] + len(line))
                if number >= log_number_from:
                    yield self._entry(line, number)
                number += 1

    def _entry(self, line: bytes, number: int) -> dict[str, Any]:
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise StorageError(f"line {number + 1} of the journal {self._file_path!r} is not a journal entry "
                               f"({exc}): the file is damaged; restore it from a copy") from None
        op = entry.get("op_code") if isinstance(entry, dict) else None
        if not (isinstance(op, int) and not isinstance(op, bool) and op in OPERATIONS):
            raise StorageError(f"line {number + 1} of the journal {self._file_path!r} holds an operation this optuna "
                               f"({optuna.__version__}) cannot replay (op_code {op!r}): it was written by another "
                               "version of optuna (use the version that wrote it), or the file is damaged (restore "
                               "it from a copy)")
        return entry

    def _report_torn(self, size: int, repaired: bool) -> None:
        total = os.path.getsize(self._file_path) if not repaired else None
        if not repaired and self._torn_reported == total:
            return
        self._torn_reported = total
        log.warning("the last line of the journal %s was incomplete (%d bytes: a worker stopped while appending it, "
                    "e.g. on a full disk), so its operation never happened: %s", self._file_path, size,
                    "removed it" if repaired else "ignored (the next search worker on it removes it)")

    # ------------------------------------------------------------------ writing
    def repair(self) -> None:
        """Remove a torn last line (under the lock: a line being appended right now is not torn)."""
        with get_lock_file(self._lock):
            fd = os.open(self._file_path, os.O_RDWR)
            try:
                self._cut_torn_tail(fd)
            finally:
                os.close(fd)

    def _cut_torn_tail(self, fd: int) -> int:
        """The file's size once a torn last line (bytes after the last newline) is cut off."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return size
        start, chunk = size, 1 << 16
        while start > 0:
            low = max(0, start - chunk)
            newline = os.pread(fd, start - low, low).rfind(b"\n")
            if newline >= 0:
                start = low + newline + 1
                break
            start = low
        os.ftruncate(fd, start)
        os.fsync(fd)
        self._report_torn(size - start, repaired=True)
        return start

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = ("\n".join(json.dumps(entry, separators=(",", ":")) for entry in logs) + "\n").encode("utf-8")
        with get_lock_file(self._lock):
            fd = os.open(self._file_path, os.O_RDWR | os.O_APPEND)
            try:
                end = self._cut_torn_tail(fd)
                try:
                    written = 0
                    while written < len(data):
                        written += os.write(fd, data[written:])
                    os.fsync(fd)
                except BaseException as exc:
                    os.ftruncate(fd, end)  # no half line behind: the journal stays readable, the operation undone
                    if isinstance(exc, OSError) and disk_full(exc):
                        raise disk_full_error(exc, self._file_path) from exc
                    raise
            finally:
                os.close(fd)


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    def __init__(self, path: Path, heartbeat: int | None = None, grace: int | None = None,
                 stale_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None, readonly: bool = False):
        self.path = Path(path)
        check_journal_file(self.path)
        # A lock left by a killed worker delays every live worker's heartbeat until it is broken, so it must be
        # broken well within `grace`, or the live workers would be declared dead too.
        self.lock_grace = LOCK_GRACE if grace is None else min(LOCK_GRACE, max(grace / 4, 1.0))
        # the lock's name is optuna's own (PATH.lock), so workers of older versions still exclude ours
        backend = JournalFile(self.path, TokenSymlinkLock(f"{path}.lock", self.lock_grace))
        if not readonly:
            backend.repair()  # a half line left by a worker that died on a full disk, before anything reads it
        super().__init__(backend)
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

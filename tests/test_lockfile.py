"""The journal's lock file: a lock left by a killed holder is broken exactly once, a fresh lock is never taken
from its holder, and a release removes only its own lock."""

import os
import socket
import threading

import pytest
from optuna.storages.journal import JournalFileBackend

from ftd_nas.lockfile import TokenSymlinkLock
from ftd_nas.queue.journal import HeartbeatJournalStorage


def _appenders(journal, lock_file, threads=4, entries=20, grace=1.0):
    """`threads` appenders (like a worker's main and heartbeat threads) writing `entries` lines each; the
    exceptions they raised."""
    failures = []

    def append(i):
        backend = JournalFileBackend(str(journal), lock_obj=TokenSymlinkLock(str(lock_file), grace))
        try:
            for k in range(entries):
                backend.append_logs([{"op_code": 0, "writer": i, "k": k}])
        except Exception as exc:  # noqa: BLE001 - the test reports every failure
            failures.append(repr(exc))

    workers = [threading.Thread(target=append, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    return failures


@pytest.mark.parametrize("left_by", ["optuna", "ours"])
def test_a_lock_left_by_a_killed_holder_is_broken_once_and_every_append_lands(tmp_path, left_by):
    # optuna's own lock fails here: each waiter breaks the lock on its own timer, the second one removes the
    # first one's fresh lock, and the first one's release raises "did not possess lock"
    journal = tmp_path / "j.journal"
    journal.touch()
    lock_file = tmp_path / "j.journal.lock"
    os.symlink(str(journal) if left_by == "optuna" else "host:1:dead", lock_file)
    assert _appenders(journal, lock_file) == []
    lines = journal.read_text().splitlines()
    assert len(lines) == 80 and not lock_file.is_symlink()


def test_a_queue_lock_left_by_a_killed_holder_is_broken(tmp_path):
    # optuna's lock timed staleness by the mtime of the symlink's target, and a queue lock's target does not
    # exist, so it was never broken and waiters spun for ever
    storage = HeartbeatJournalStorage(tmp_path / "j.journal", heartbeat=1, grace=4)
    os.symlink(str(tmp_path / "j.journal.queue"), tmp_path / "j.journal.queue.lock")
    with storage.queue_lock():
        assert os.readlink(tmp_path / "j.journal.queue.lock").startswith(socket.gethostname())
    assert not (tmp_path / "j.journal.queue.lock").is_symlink()


def test_breaking_a_lock_that_changed_hands_gives_the_fresh_lock_back(tmp_path):
    lock_file = str(tmp_path / "x.lock")
    fresh = TokenSymlinkLock(lock_file)
    fresh.acquire()  # taken after the waiter last saw the stale "host:1:old"
    TokenSymlinkLock(lock_file)._break("host:1:old")
    assert os.readlink(lock_file) == fresh._token
    fresh.release()
    assert not os.path.lexists(lock_file)


def test_a_release_after_the_lock_was_broken_leaves_the_new_holders_lock(tmp_path):
    lock_file = str(tmp_path / "x.lock")
    slow = TokenSymlinkLock(lock_file)
    slow.acquire()
    waiter = TokenSymlinkLock(lock_file)
    waiter._break(slow._token)  # the slow holder looked dead
    waiter.acquire()
    slow.release()  # no error: its append happened, and the waiter's lock stays
    assert os.readlink(lock_file) == waiter._token
    waiter.release()
    assert not os.path.lexists(lock_file)
    assert sorted(os.listdir(tmp_path)) == []  # nothing left aside


def test_the_journal_breaks_a_dead_lock_well_before_live_workers_would_look_dead(tmp_path):
    # every worker's heartbeat waits for a lock a killed worker left; broken only after the heartbeat grace,
    # the live workers' trials would be declared dead and their results dropped
    assert HeartbeatJournalStorage(tmp_path / "a.journal", heartbeat=1, grace=4).lock_grace == 1
    assert HeartbeatJournalStorage(tmp_path / "b.journal", heartbeat=60, grace=180).lock_grace == 30
    assert HeartbeatJournalStorage(tmp_path / "c.journal").lock_grace == 30  # read-only: no heartbeats


def test_a_grace_period_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        TokenSymlinkLock("x.lock", 0)

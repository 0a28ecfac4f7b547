"""The journal file storage: heartbeats and stale trials by this machine's clock, and clear errors for files
that are missing or not journals (a search over a journal is in tests/search/test_journal.py)."""

import time

import pytest

from ftd_nas.errors import StorageError
from ftd_nas.queue.journal import HEARTBEAT_ATTR, HeartbeatJournalStorage
from ftd_nas.queue.storage import make_storage, open_storage_readonly
from ftd_nas.queue.units import pop_waiting


def test_a_trial_is_stale_only_after_grace_seconds_without_its_own_heartbeat(tmp_path):
    import optuna

    storage = HeartbeatJournalStorage(tmp_path / "j.journal", heartbeat=1, grace=2)
    study = optuna.create_study(storage=storage, study_name="s")
    study.enqueue_trial({"x": 1.0})
    trial = pop_waiting(study)
    study_id = study._study_id
    assert storage._get_stale_trial_ids(study_id) == []  # claimed and beating at once
    beat = storage.get_trial(trial._trial_id).system_attrs[HEARTBEAT_ATTR]
    assert beat["trial"] == trial._trial_id and abs(beat["at"] - time.time()) < 60
    time.sleep(2.5)
    assert storage._get_stale_trial_ids(study_id) == [trial._trial_id]
    storage.record_heartbeat(trial._trial_id)
    assert storage._get_stale_trial_ids(study_id) == []
    # a retried copy inherits the dead trial's attributes: an old beat naming another trial is not its own
    frozen = storage.get_trial(trial._trial_id)
    assert storage.heartbeat_age(frozen) is not None
    frozen._trial_id += 1000
    assert storage.heartbeat_age(frozen) is None


def test_staleness_never_compares_two_machines_clocks(tmp_path, monkeypatch):
    import optuna

    storage = HeartbeatJournalStorage(tmp_path / "j.journal", heartbeat=1, grace=2)
    study = optuna.create_study(storage=storage, study_name="s")
    study.enqueue_trial({"x": 1.0})
    trial = pop_waiting(study)
    wall = time.time

    def beat_from_a_machine_an_hour_behind():
        monkeypatch.setattr(time, "time", lambda: wall() - 3600)
        storage.record_heartbeat(trial._trial_id)
        monkeypatch.setattr(time, "time", wall)

    beat_from_a_machine_an_hour_behind()
    assert storage._get_stale_trial_ids(study._study_id) == []  # before: an hour old by our clock, so dead
    time.sleep(2.5)
    beat_from_a_machine_an_hour_behind()
    assert storage._get_stale_trial_ids(study._study_id) == []  # a new beat since our last look
    time.sleep(2.5)
    assert storage._get_stale_trial_ids(study._study_id) == [trial._trial_id]  # silent for 2.5 s of our clock


def test_missing_or_unusable_journal_files_are_clear_errors(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        open_storage_readonly(f"journal:{tmp_path / 'none.journal'}")
    with pytest.raises(StorageError, match="folder of the journal file"):
        make_storage(f"journal:{tmp_path / 'no' / 'dir.journal'}", tmp_path)
    assert not (tmp_path / "no").exists()
    garbage = tmp_path / "notes.journal"
    garbage.write_text("these are my notes\nnot a journal\n")
    for open_it in (lambda: make_storage(f"journal:{garbage}", tmp_path), lambda: open_storage_readonly(f"journal:{garbage}")):
        with pytest.raises(StorageError, match="cannot use .* as a journal storage"):
            open_it()


def _journal_with_a_study(path):
    import optuna

    storage = HeartbeatJournalStorage(path)
    study = optuna.create_study(storage=storage, study_name="s")
    study.enqueue_trial({"x": 1.0})
    return path.read_bytes()


def test_a_torn_last_line_is_removed_by_a_worker_and_ignored_by_a_reader_and_both_say_so(tmp_path, caplog):
    import optuna

    path = tmp_path / "j.journal"
    whole = _journal_with_a_study(path)
    torn = whole + b'{"op_code":5,"worker_id":"a-b","trial_id":0,"st'  # a worker died mid-append (a full disk)
    path.write_bytes(torn)
    with caplog.at_level("WARNING", logger="ftd_nas"):
        reader = open_storage_readonly(f"journal:{path}")
    assert len(optuna.load_study(study_name="s", storage=reader).trials) == 1
    assert path.read_bytes() == torn and "incomplete" in caplog.text and "ignored" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ftd_nas"):
        worker = make_storage(f"journal:{path}", tmp_path)
    assert path.read_bytes() == whole and "removed it" in caplog.text  # before anything is appended after it
    study = optuna.load_study(study_name="s", storage=worker)
    study.enqueue_trial({"x": 2.0})
    assert len(optuna.load_study(study_name="s", storage=open_storage_readonly(f"journal:{path}")).trials) == 2
    # a first append cut short leaves only the start of an entry: an empty journal, not "not a journal"
    first = tmp_path / "first.journal"
    first.write_bytes(b'{"op_code":0,"worker_id":"a-')
    make_storage(f"journal:{first}", tmp_path)
    assert first.read_bytes() == b""


def test_an_append_on_a_full_disk_leaves_no_half_line_and_says_so(tmp_path, monkeypatch):
    import errno
    import os

    import optuna

    from ftd_nas.errors import DiskFullError

    path = tmp_path / "j.journal"
    whole = _journal_with_a_study(path)
    study = optuna.load_study(study_name="s", storage=make_storage(f"journal:{path}", tmp_path))
    real = os.write

    def half_then_full(fd, data):  # what a disk filling up mid-write does: a short write, then ENOSPC
        if len(data) > 8:
            return real(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(DiskFullError, match="j.journal'; free some disk space .* then re-run to resume"):
        study.enqueue_trial({"x": 2.0})
    monkeypatch.undo()
    assert path.read_bytes() == whole  # cut back: readable, and the failed operation never happened
    study = optuna.load_study(study_name="s", storage=make_storage(f"journal:{path}", tmp_path))
    study.enqueue_trial({"x": 3.0})
    assert [t.system_attrs["fixed_params"] for t in study.trials] == [{"x": 1.0}, {"x": 3.0}]


@pytest.mark.parametrize("line, message", [
    (b'{"op_code":99,"worker_id":"x"}\n', r"line 3 of the journal .* holds an operation this optuna \(.*\) cannot "
                                          r"replay \(op_code 99\): it was written by another version"),
    (b"[1, 2]\n", r"line 3 .* cannot replay \(op_code None\)"),
    (b'{"op_code":0,"work\n', r"line 3 of the journal .* is not a journal entry .* restore it from a copy"),
])
def test_an_entry_that_cannot_be_replayed_is_a_clear_error_naming_its_line(tmp_path, line, message):
    path = tmp_path / "j.journal"
    whole = _journal_with_a_study(path)
    assert whole.count(b"\n") == 2
    for at_end in (True, False):  # the last line, or one with more after it
        path.write_bytes(whole + line + (b"" if at_end else whole.splitlines(keepends=True)[-1]))
        for open_it in (lambda: make_storage(f"journal:{path}", tmp_path),
                        lambda: open_storage_readonly(f"journal:{path}")):
            with pytest.raises(StorageError, match=message):
                open_it()

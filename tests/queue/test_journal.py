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

"""The journal file storage: heartbeats and stale trials, its recorded location, resume, and a dead worker's
candidate retried in-process (the multi-process guarantees are in test_scale_out.py)."""

import json
import shutil
import time

import pytest
from optuna.trial import TrialState

from ftd_nas.errors import StorageError
from ftd_nas.records import RecordError
from ftd_nas.search import load_run, run_search
from ftd_nas.search import runner as runner_module
from ftd_nas.search.journal import HEARTBEAT_ATTR, HeartbeatJournalStorage
from ftd_nas.search.record import in_run_folder, storage_location, storage_url
from ftd_nas.search.study import enqueue_missing, make_storage, open_storage_readonly, pop_waiting
from tests.conftest import search_config


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


@pytest.mark.slow
def test_dead_workers_trial_is_retried_from_a_journal(space_file, tmp_path, digits):
    cfg = search_config(space_file, tmp_path / "run", storage=f"journal:{tmp_path / 'run' / 'study.journal'}",
                        heartbeat=1, grace=2)
    search = runner_module.Search(cfg, dataset=digits)
    enqueue_missing(search.study, search.candidates)
    orphan = pop_waiting(search.study)  # claimed by a "worker" that then dies without a word
    time.sleep(3)
    summary = run_search(cfg, dataset=digits)
    assert summary["complete"] == 8 and summary["trained"] == 8
    trials = search.study.get_trials()
    assert next(t for t in trials if t.number == orphan.number).state == TrialState.FAIL
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 8


def test_journal_in_the_run_folder_is_recorded_relative_and_the_run_moves_with_it(space_file, tmp_path, digits):
    run = tmp_path / "run"
    first = run_search(search_config(space_file, run, storage=f"journal:{run / 'study.journal'}"), dataset=digits)
    assert json.loads((run / "run.json").read_text())["storage"] == "journal:study.journal"
    moved = tmp_path / "moved"
    shutil.move(run, moved)
    assert [r["val_acc"] for r in load_run(moved).rows] == [r["val_acc"] for r in first["rows"]]
    # resuming without --storage uses the run's own journal: nothing is trained again, no SQLite appears
    again = run_search(search_config(space_file, moved, storage=None), dataset=digits)
    assert again["trained"] == 0 and not (moved / "study.db").exists()


def test_journal_outside_the_run_folder_is_never_opened_from_run_json(space_file, tmp_path, digits):
    outside = tmp_path / "shared" / "s.journal"
    outside.parent.mkdir()
    run = tmp_path / "run"
    run_search(search_config(space_file, run, storage=f"journal:{outside}"), dataset=digits)
    location = json.loads((run / "run.json").read_text())["storage"]
    assert location == f"journal:{outside}" and not in_run_folder(location)
    with pytest.raises(RecordError, match="--storage journal:PATH"):
        load_run(run)
    assert len(load_run(run, storage=f"journal:{outside}").rows) == 8


@pytest.mark.parametrize("location", ["journal:../x.journal", "journal:sub/../../x.journal"])
def test_a_recorded_journal_cannot_leave_the_run_folder(tmp_path, location):
    with pytest.raises(RecordError, match="not a path inside the run folder"):
        storage_url(location, tmp_path)


def test_journal_locations(tmp_path):
    assert storage_location(f"journal:{tmp_path}/sub/s.journal", tmp_path) == "journal:sub/s.journal"
    assert storage_url("journal:sub/s.journal", tmp_path) == f"journal:{(tmp_path / 'sub/s.journal').resolve()}"
    assert in_run_folder("study.db") and in_run_folder("journal:a.journal")
    assert not in_run_folder("postgresql://u@h/db")


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


def test_a_worker_beside_the_creator_waits_for_the_whole_identity(space_file, tmp_path, digits, monkeypatch):
    import threading

    import optuna

    from ftd_nas.search import study as study_module

    identity = runner_module.Search(search_config(space_file, tmp_path / "run", storage=None), dataset=digits).identity
    storage = HeartbeatJournalStorage(tmp_path / "shared.journal")
    creator = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    attrs = identity.to_dict()
    first, *rest = attrs
    creator.set_user_attr(first, attrs[first])  # the creator has labelled only part of its study so far
    late = threading.Timer(0.5, lambda: [creator.set_user_attr(k, attrs[k]) for k in rest])
    late.start()
    study = study_module.open_study(storage, "s", identity, optuna.samplers.RandomSampler())
    late.join()
    assert study.user_attrs == attrs
    # a creator that died while labelling: after the wait the study is completed with the same identity
    monkeypatch.setattr(study_module, "IDENTITY_WAIT_S", 0.2)
    orphan = optuna.create_study(storage=storage, study_name="t", direction="maximize")
    orphan.set_user_attr(first, attrs[first])
    assert study_module.open_study(storage, "t", identity, optuna.samplers.RandomSampler()).user_attrs == attrs


@pytest.mark.parametrize("pruner", ["none", "median"])  # with a pruner it learns of it at its next report
def test_a_worker_declared_dead_while_training_drops_its_result_and_goes_on(space_file, tmp_path, digits,
                                                                            monkeypatch, pruner):
    import optuna

    # e.g. its heartbeats stalled on a slow filesystem for --grace seconds: another worker failed its trial and
    # the candidate is retried; finishing the failed trial must not crash this worker (it did: "Cannot tell a
    # FAIL trial"), and the candidate must still be trained once
    journal = tmp_path / "run" / "study.journal"
    cfg = search_config(space_file, tmp_path / "run", storage=f"journal:{journal}", heartbeat=1, grace=2, pruner=pruner)
    real_train, declared = runner_module.train_candidate, []

    def train_while_declared_dead(*args, **kwargs):
        if not declared:  # what optuna.storages.fail_stale_trials does in the other worker
            other = make_storage(f"journal:{journal}", tmp_path, heartbeat=1, grace=2)
            study = optuna.load_study(study_name=other.get_all_studies()[0].study_name, storage=other)
            dead = study.get_trials(states=(TrialState.RUNNING,))[0]
            other.set_trial_state_values(dead._trial_id, TrialState.FAIL)
            other.get_heartbeat_stale_trial_callback()(study, other.get_trial(dead._trial_id))  # re-queue it
            declared.append(dead.number)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(runner_module, "train_candidate", train_while_declared_dead)
    summary = run_search(cfg, dataset=digits)
    assert summary["lost"] == 1 and summary["trained"] + summary["pruned"] == 8
    storage = open_storage_readonly(f"journal:{journal}")
    trials = optuna.load_study(study_name=summary["study"], storage=storage).get_trials()
    dead = next(t for t in trials if t.number == declared[0])
    assert dead.state == TrialState.FAIL and "val_acc" not in dead.user_attrs  # its result was dropped
    retry = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
             and t.user_attrs["candidate"] == dead.user_attrs["candidate"]]
    assert len(retry) == 1 and retry[0].number > dead.number

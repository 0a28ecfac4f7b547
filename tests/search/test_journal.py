"""The journal file storage: heartbeats and stale trials, its recorded location, resume, and a dead worker's
candidate retried in-process (the multi-process guarantees are in test_scale_out.py)."""

import json
import shutil
import time

import pytest
from optuna.trial import TrialState

from ftd_nas.records import RecordError
from ftd_nas.search import load_run, run_search
from ftd_nas.search import runner as runner_module
from ftd_nas.queue import make_storage, open_storage_readonly, pop_waiting
from ftd_nas.queue import study as queue_study
from ftd_nas.queue.journal import HeartbeatJournalStorage
from ftd_nas.queue.urls import in_run_folder
from ftd_nas.search.study import enqueue_missing
from tests.conftest import search_config


@pytest.mark.slow
def test_dead_workers_trial_is_retried_from_a_journal(space_file, tmp_path, digits):
    cfg = search_config(space_file, tmp_path / "run", storage=f"journal:{tmp_path / 'run' / 'study.journal'}",
                        heartbeat=1, grace=2)
    search = runner_module.Search(cfg, dataset=digits)
    enqueue_missing(search.study, search.space, search.candidates)
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
    monkeypatch.setattr(queue_study, "IDENTITY_WAIT_S", 0.2)
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


def test_a_disk_full_mid_search_says_free_space_and_re_run_and_the_re_run_resumes(space_file, tmp_path,
                                                                                     monkeypatch, capsys):
    import errno
    import os

    from ftd_nas.cli import main

    run = tmp_path / "run"
    run.mkdir()
    argv = ["search", "--space", space_file, "--proxy", "random:3", "--dataset", "digits", "--epochs", "1", "--dsa",
            "none", "--out", str(run), "--storage", f"journal:{run / 'study.journal'}", "--device", "cpu",
            "--no-progress"]
    real_write, real_train, trained = os.write, runner_module.train_candidate, []

    def count(*args, **kwargs):
        trained.append(1)
        return real_train(*args, **kwargs)

    def disk_fills_after_three_candidates(fd, data):  # a short write, then ENOSPC: half a line on disk
        if len(trained) < 3 or fd <= 2:
            return real_write(fd, data)
        if len(data) > 8:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runner_module, "train_candidate", count)
    monkeypatch.setattr(os, "write", disk_fills_after_three_candidates)
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "study.journal'; free some disk space (or choose another output folder), then re-run to resume" in err
    assert "Traceback" not in err
    assert (run / "study.journal").read_bytes().endswith(b"\n")  # no half line for the re-run to refuse
    monkeypatch.setattr(os, "write", real_write)
    # the space freed, the same command resumes (the candidate the full disk stopped waits out --grace: 2 s here)
    assert main(argv + ["--heartbeat", "1", "--grace", "2"]) == 0
    done = [r for r in load_run(run, storage=f"journal:{run / 'study.journal'}").rows if r["state"] == "COMPLETE"]
    assert len(done) == 8 and len(trained) <= 8 + 1  # nothing finished is trained again


def test_a_half_line_left_by_a_worker_that_died_is_removed_and_the_search_resumes(space_file, tmp_path, digits,
                                                                                   caplog):
    run = tmp_path / "run"
    journal = run / "study.journal"
    cfg = search_config(space_file, run, storage=f"journal:{journal}", epochs=1)
    run_search(cfg, dataset=digits)
    whole = journal.read_bytes()
    journal.write_bytes(whole + b'{"op_code":5,"worker_id":"x","trial_id":3,"state":1,"val')  # killed mid-append
    with caplog.at_level("WARNING", logger="ftd_nas"):
        assert len(load_run(run).rows) == 8  # status and report read it
        again = run_search(cfg, dataset=digits)
    assert again["trained"] == 0 and again["complete"] == 8
    after = journal.read_bytes()  # the half line is gone, and what was appended since is whole entries
    assert after.startswith(whole) and all("op_code" in json.loads(line) for line in after[len(whole):].splitlines())
    assert "ignored" in caplog.text and "removed it" in caplog.text

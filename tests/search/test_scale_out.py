"""The guarantees every storage gives workers in separate processes, for SQLite (workers on one machine), a
journal file and PostgreSQL (workers on several machines): each candidate trained exactly once, a worker killed
with SIGKILL loses nothing (its candidate is retried once its heartbeat stops), and a late worker exits at once
when the space is done. Every test here starts several search processes: all are marked slow."""

import os
import signal
import subprocess
import time

import pytest
from optuna.trial import TrialState

from .conftest import completed_once, study_trials, worker_command


pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "journal", "postgres"])
def shared_storage(request, tmp_path):
    """One storage all the workers of a test share: a SQLite file (the default storage, one machine), a journal
    file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    if request.param == "journal":
        return f"journal:{tmp_path / 'shared.journal'}"
    return request.getfixturevalue("db")


def test_three_workers_finish_the_space_without_duplicates(space_file, shared_storage, tmp_path):
    procs = [subprocess.Popen(worker_command(space_file, shared_storage, tmp_path / f"w{i}"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outs]
    assert completed_once(shared_storage)
    workers = {t.user_attrs["worker"] for t in study_trials(shared_storage) if t.state == TrialState.COMPLETE}
    assert len(workers) >= 2  # the work was really shared


def test_killed_worker_loses_nothing_and_the_others_finish(space_file, shared_storage, tmp_path):
    procs = [subprocess.Popen(worker_command(space_file, shared_storage, tmp_path / f"w{i}", 150),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(3)]
    victim = procs[0]
    deadline = time.time() + 120
    killed_trial = None
    while time.time() < deadline and killed_trial is None:
        time.sleep(0.2)
        try:
            running = [t for t in study_trials(shared_storage) if t.state == TrialState.RUNNING
                       and t.user_attrs.get("worker", "").split(":")[1:2] == [str(victim.pid)]]
        except Exception:  # the study may not exist yet
            continue
        if running:
            killed_trial = running[0]
    assert killed_trial is not None, "the victim never started a candidate"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert all(p.wait(timeout=600) == 0 for p in procs[1:])
    assert completed_once(shared_storage)
    states = {t.number: t for t in study_trials(shared_storage)}
    assert states[killed_trial.number].state == TrialState.FAIL  # declared dead by its missing heartbeat
    retried = [t for t in states.values() if t.user_attrs.get("candidate") == killed_trial.user_attrs["candidate"]
               and t.state == TrialState.COMPLETE]
    assert len(retried) == 1 and retried[0].number > killed_trial.number


def test_late_worker_exits_quickly_saying_the_space_is_done(space_file, shared_storage, tmp_path):
    subprocess.run(worker_command(space_file, shared_storage, tmp_path / "first", 2), check=True, capture_output=True)
    late = subprocess.run(worker_command(space_file, shared_storage, tmp_path / "late", 2), capture_output=True,
                          text=True, timeout=600)
    assert late.returncode == 0 and "the space is finished" in late.stderr
    assert "this worker trained 0" in late.stdout  # and it did not wait: nothing was running

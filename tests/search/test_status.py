"""`ftd-nas status`: counts, running workers with heartbeat ages, throughput and time to finish, for a finished
run and for one in progress, on SQLite and on a journal file."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ftd_nas.search import run_search
from ftd_nas.search.runner import open_run_study
from ftd_nas.search.status import format_status, run_status, study_status
from tests.conftest import search_config

from .conftest import worker_command


def test_finished_run_has_nothing_left(space_file, tmp_path, digits):
    run = tmp_path / "run"
    run_search(search_config(space_file, run, epochs=1, repeats=2), dataset=digits)
    status = run_status(run)
    assert (status.units, status.finished, status.waiting, status.not_queued) == (16, 16, 0, 0)
    assert status.running == [] and status.eta_seconds == 0 and len(status.workers) == 1
    assert "finished 16 of 16" in format_status(status) and "done" in format_status(status)


def test_throughput_and_time_to_finish_follow_the_window(space_file, tmp_path, digits):
    run = tmp_path / "run"
    run_search(search_config(space_file, run, epochs=1), dataset=digits)
    record, study = open_run_study(run)
    record = type(record).from_dict({**record.to_dict(), "space_size": 12})  # pretend 4 more are to come
    trials = study.get_trials()
    last = max(t.datetime_complete for t in trials)
    first = min(t.datetime_start for t in trials)
    status = study_status(study, record, str(run), window_minutes=10, now=last + dt.timedelta(minutes=5))
    span = (last + dt.timedelta(minutes=5) - first).total_seconds() / 60
    assert status.not_queued == 4 and status.per_minute == pytest.approx(8 / span)
    assert status.eta_seconds == pytest.approx(4 / (8 / span) * 60)
    # an hour later, nothing finished within the window: the rate is zero and the time to finish unknown
    later = study_status(study, record, str(run), window_minutes=10, now=last + dt.timedelta(hours=1))
    assert later.per_minute == 0 and later.eta_seconds is None
    assert "unknown" in format_status(later)


@pytest.mark.parametrize("password", ["hunter2/x", "hunter2 x", "h/u:n#t?e r@2", "hunter2%2F%40x"])
def test_status_never_shows_a_password_a_run_json_holds(space_file, tmp_path, digits, capsys, password):
    """run.json records a URL without its password; one written by hand, or by an ftd-nas whose redaction missed an
    awkward password, is shown redacted all the same (in the text and in --json)."""
    from ftd_nas.cli import main

    run = tmp_path / "run"
    run_search(search_config(space_file, run, epochs=1), dataset=digits)
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "storage": f"postgresql://me:{password}@db.example:5432/ftd"}))
    own = f"sqlite:///{run / 'study.db'}"  # the study is the run's own: given with --storage, as for a server
    for extra in ([], ["--json"]):
        assert main(["status", str(run), "--storage", own, *extra]) == 0
        shown = capsys.readouterr().out
        assert "postgresql://me@db.example:5432/ftd" in shown and "ter2" not in shown and "%2F" not in shown


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", "journal", "postgres"])
def test_status_of_a_run_in_progress_shows_the_running_worker(space_file, tmp_path, storage, request):
    run = tmp_path / "run"
    url = {"journal": f"journal:{run / 'study.journal'}", "sqlite": f"sqlite:///{run / 'study.db'}"}.get(storage)
    url = url or request.getfixturevalue("db")
    server = url if storage == "postgres" else None  # named by the user: run.json is never followed to a server
    run.mkdir()
    # a first candidate far longer than the test (the worker is killed at its end): the one it runs stays running
    # while both status readers look, where 400 epochs could end between them on a loaded machine
    worker = subprocess.Popen(worker_command(space_file, url, run, 100_000), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline, status = time.time() + 300, None
        while time.time() < deadline:
            time.sleep(0.3)
            try:
                status = run_status(run, server)
            except Exception:  # run.json or the study not written yet
                continue
            if status.running and status.running[0].worker:  # claimed, then named by its worker
                break
        assert status is not None and len(status.running) == 1, "the worker never started a candidate"
        running = status.running[0]
        assert running.worker.split(":")[1] == str(worker.pid)
        assert running.heartbeat_age is not None and running.heartbeat_age < 60
        assert status.finished + status.waiting + status.not_queued + 1 == status.units == 8
        shown = subprocess.run([sys.executable, "-m", "ftd_nas", "status", str(run), "--json",
                                *(["--storage", server] if server else [])], capture_output=True, text=True,
                               timeout=300)
        assert shown.returncode == 0, shown.stderr
        data = json.loads(shown.stdout)
        assert data["units"] == 8 and data["running"] and data["running"][0]["worker"] == running.worker
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()

"""Scale-out against a real PostgreSQL server: shared study, exactly-once training, dead-worker retry."""

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

STUDY = "unit:random10-seed0"


@pytest.fixture
def db(postgres_url):
    """A fresh database per test, so studies never leak between tests."""
    import sqlalchemy

    name = f"t{time.time_ns()}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


def _worker(space, url, out, epochs=40, *extra):
    return [sys.executable, "-m", "ftd_nas", "search", "--space", space, "--proxy", "random:10", "--dataset", "digits",
            "--epochs", str(epochs), "--dsa", "none", "--storage", url, "--out", str(out), "--device", "cpu",
            "--no-progress", "--heartbeat", "1", "--grace", "4", *extra]


def _trials(url):
    return optuna.load_study(study_name=STUDY, storage=url).get_trials()


def _completed_once(url):
    done = [t.user_attrs["candidate"] for t in _trials(url)
            if t.state == TrialState.COMPLETE and "duplicate_of" not in t.user_attrs]
    return sorted(done) == sorted(set(done)) and len(done) == 8


def test_three_workers_finish_the_space_without_duplicates(space_file, db, tmp_path):
    procs = [subprocess.Popen(_worker(space_file, db, tmp_path / f"w{i}"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outs]
    assert _completed_once(db)
    workers = {t.user_attrs["worker"] for t in _trials(db) if t.state == TrialState.COMPLETE}
    assert len(workers) >= 2  # the work was really shared


def test_killed_worker_loses_nothing_and_the_others_finish(space_file, db, tmp_path):
    procs = [subprocess.Popen(_worker(space_file, db, tmp_path / f"w{i}", 150), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for i in range(3)]
    victim = procs[0]
    deadline = time.time() + 120
    killed_trial = None
    while time.time() < deadline and killed_trial is None:
        time.sleep(0.2)
        try:
            running = [t for t in _trials(db) if t.state == TrialState.RUNNING
                       and t.user_attrs.get("worker", "").split(":")[1:2] == [str(victim.pid)]]
        except Exception:  # the study may not exist yet
            continue
        if running:
            killed_trial = running[0]
    assert killed_trial is not None, "the victim never started a candidate"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert all(p.wait(timeout=600) == 0 for p in procs[1:])
    assert _completed_once(db)
    states = {t.number: t for t in _trials(db)}
    assert states[killed_trial.number].state == TrialState.FAIL  # declared dead by its missing heartbeat
    retried = [t for t in states.values() if t.user_attrs.get("candidate") == killed_trial.user_attrs["candidate"]
               and t.state == TrialState.COMPLETE]
    assert len(retried) == 1 and retried[0].number > killed_trial.number


def test_late_worker_exits_quickly_saying_the_space_is_done(space_file, db, tmp_path):
    subprocess.run(_worker(space_file, db, tmp_path / "first", 2), check=True, capture_output=True)
    start = time.time()
    late = subprocess.run(_worker(space_file, db, tmp_path / "late", 2), capture_output=True, text=True)
    assert late.returncode == 0 and "the space is finished" in late.stderr
    assert "this worker trained 0" in late.stdout and time.time() - start < 30


def test_unreachable_database_is_a_clear_error(space_file, tmp_path):
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = subprocess.run(_worker(space_file, f"postgres://postgres:secret@127.0.0.1:{port}/none", tmp_path / "x"),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 5 and "Traceback" not in out.stderr
    assert f"cannot reach the PostgreSQL server at 127.0.0.1:{port}" in out.stderr and "secret" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_study_of_another_proxy_is_refused(space_file, db, tmp_path):
    subprocess.run(_worker(space_file, db, tmp_path / "a", 1, "--study-name", "shared"), check=True,
                   capture_output=True)
    other = _worker(space_file, db, tmp_path / "b", 1, "--study-name", "shared")
    other[other.index("random:10")] = "random:5"
    out = subprocess.run(other, capture_output=True, text=True)
    assert out.returncode == 2 and "8 finished candidates with other settings" in out.stderr
    assert "source.ipc: 10 vs 5" in out.stderr


def test_plain_postgresql_url_works_and_its_password_is_never_recorded(space_file, db, tmp_path):
    plain = db.replace("postgresql+psycopg2://postgres@", "postgresql://postgres:hunter2@")  # trust auth ignores it
    run = tmp_path / "run"
    out = subprocess.run(_worker(space_file, plain, run, 1), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    recorded = (run / "run.json").read_text()
    assert "hunter2" not in recorded and "hunter2" not in out.stdout + out.stderr
    assert '"storage": "postgresql://postgres@' in recorded
    truth = tmp_path / "truth"
    truth_cmd = _worker(space_file, plain, truth, 1, "--study-name", "truth")
    truth_cmd[truth_cmd.index("random:10")] = "real"
    subprocess.run(truth_cmd, check=True, capture_output=True)
    report = subprocess.run([sys.executable, "-m", "ftd_nas", "report", str(run), "--truth", str(truth), "--out",
                             str(tmp_path / "rep"), "--ks", "3", "--bootstrap", "10", "--storage", plain],
                            capture_output=True, text=True)
    assert report.returncode == 0, report.stderr[-2000:]
    assert _completed_once(db)

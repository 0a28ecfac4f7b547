"""A search's SQLite study journals in WAL mode and records each trial in a few commits: it resumes after an
interruption, a study written before (rollback journal, DELETE) resumes too, and a finished run still reads in a
folder it cannot write. Commits are counted, never timed."""

import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from unittest import mock

import pytest

from ftd_nas.queue import storage
from ftd_nas.queue.commits import counting_commits
from ftd_nas.search import SearchConfig, load_run, run_search
from ftd_nas.search import runner as runner_module


def zc_config(space, out) -> SearchConfig:
    """A training-free search (zc:params): the bookkeeping is nearly all a trial costs."""
    return SearchConfig(space=str(space), proxy="zc:params", out=str(out), dataset="digits", device="cpu",
                        progress=False)


def journal_mode(run) -> str:
    with closing(sqlite3.connect(run / "study.db")) as db:  # closed at once: the last connection removes the WAL
        return db.execute("PRAGMA journal_mode").fetchone()[0]


def interrupted_search(space, run, digits, interrupt_after, done: int = 2) -> None:
    """A zc search stopped (Ctrl-C) while scoring its candidate number `done` + 1."""
    restore = interrupt_after(runner_module, "score_candidate", done)
    with pytest.raises(KeyboardInterrupt):
        run_search(zc_config(space, run), dataset=digits)
    restore()


def test_a_search_s_study_is_in_wal_mode_and_resumes_after_an_interruption(space_file, tmp_path, digits,
                                                                           interrupt_after):
    run = tmp_path / "run"
    interrupted_search(space_file, run, digits, interrupt_after)
    assert journal_mode(run) == "wal"
    assert len(load_run(run).rows) == 2  # what was committed before the interruption, read back read-only
    summary = run_search(zc_config(space_file, run), dataset=digits)
    assert summary["complete"] == 8 and summary["trained"] == 6  # the interrupted one is scored again
    assert journal_mode(run) == "wal" and len(load_run(run).rows) == 8


def test_a_study_written_in_the_rollback_journal_resumes(space_file, tmp_path, digits, interrupt_after):
    run = tmp_path / "run"
    with mock.patch.dict(storage.SQLITE_PRAGMAS, {"journal_mode": "DELETE"}):  # as ftd-nas wrote studies before
        interrupted_search(space_file, run, digits, interrupt_after, done=3)
    assert journal_mode(run) == "delete" and len(load_run(run).rows) == 3  # read as it is, not converted
    assert journal_mode(run) == "delete"
    summary = run_search(zc_config(space_file, run), dataset=digits)
    assert summary["complete"] == 8 and summary["trained"] == 5
    assert journal_mode(run) == "wal"  # switched by the worker that resumed it


def test_a_trial_is_recorded_in_a_few_commits(space_file, tmp_path, digits):
    """Before WAL and batching, each trial of the 5-axis unit space made 17 commits that wrote (5 params, 7 user
    attributes, claim, heartbeat, end, queueing): 136 for the 8 candidates. Now: the queueing of them all, then per
    trial its claim with its first heartbeat, its params with who scores it, its result with its end (and a second
    heartbeat where the clock's second turns in between)."""
    with counting_commits() as commits:
        summary = run_search(zc_config(space_file, tmp_path / "run"), dataset=digits)
    trials = summary["trained"]
    assert trials == 8
    setup = 6  # the schema and its version, the study, its label, the queue
    assert commits.writes <= setup + 4 * trials, commits


def _read_only_mount(folder, code: str) -> subprocess.CompletedProcess:
    """Run Python `code` where `folder` is mounted read-only over itself (a private mount namespace)."""
    script = 'mount --bind -o ro "$0" "$0" && exec "$1" -c "$2"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, str(folder), sys.executable, code],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_a_finished_run_reads_in_a_folder_it_cannot_write(space_file, tmp_path, digits):
    if shutil.which("unshare") is None or _read_only_mount(tmp_path, "pass").returncode != 0:
        pytest.skip("needs a private read-only mount (unshare -m, as root)")
    run = tmp_path / "run"
    run_search(zc_config(space_file, run), dataset=digits)
    assert journal_mode(run) == "wal" and not (run / "study.db-wal").exists()  # the last worker checkpointed it
    read = "from ftd_nas.search import load_run; print(len(load_run(%r).rows))"
    result = _read_only_mount(run, read % str(run))
    assert result.returncode == 0 and result.stdout.split()[-1] == "8", result.stderr
    assert not (run / "study.db-shm").exists()  # opened immutable: nothing written beside it

    held = sqlite3.connect(run / "study.db")  # a worker's uncheckpointed commit: study.db-wal holds it
    held.execute("PRAGMA wal_autocheckpoint = 0")
    held.execute("UPDATE trial_user_attributes SET value_json = value_json")
    held.commit()
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("run.json", "study.db", "study.db-wal"):  # copied without the index, study.db-shm
        shutil.copy(run / name, copy / name)
    held.close()
    result = _read_only_mount(copy, read % str(copy))
    assert result.returncode != 0 and "has commits in study.db-wal" in result.stderr, result.stderr

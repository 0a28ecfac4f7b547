"""Builders for the search tests (the 12-candidate space, a run's finished trials, a search worker's command) and
a real PostgreSQL server for the scale-out tests: started on a free loopback port in a temporary directory,
stopped afterwards. Skips (saying why) only where no server binaries exist; .ci/run installs them. The unit
space, `space_file` and `search_config` are in tests/conftest.py."""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import SPACE, write_space  # noqa: F401 (SPACE: the unit space, for the tests here)

# A 12-candidate space for the report and verify tests.
REP_SPACE = "name: rep\naxes:\n  depth: [1, 2]\n  width: [4, 8, 16]\n  norm: [instancenorm, none]\n" \
            "fixed:\n  act: relu\n  pool: avgpool\n"


def rep_space(folder) -> Path:
    """The 12-candidate space as rep.yaml in `folder`."""
    return write_space(folder, REP_SPACE, "rep.yaml")


def complete_trials(run_dir: Path) -> list:
    """The finished trials of a run with the default SQLite study (duplicates left out)."""
    import optuna
    from optuna.trial import TrialState

    info = json.loads((run_dir / "run.json").read_text())
    study = optuna.load_study(study_name=info["study_name"], storage=f"sqlite:///{run_dir / info['storage']}")
    return [t for t in study.get_trials() if t.state == TrialState.COMPLETE and "duplicate_of" not in t.user_attrs]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.skip("psycopg2 is not installed: pip install -e '.[postgres]'")
    root = tempfile.mkdtemp(prefix="ftd-nas-pg-")
    data, sock, port = os.path.join(root, "data"), os.path.join(root, "sock"), _free_port()
    os.makedirs(sock)
    prefix = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True)  # noqa: E731
    run(initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    run(pg_ctl, "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
    try:
        subprocess.run(prefix + [_pg_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U",
                                 "postgres", "ftd"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/ftd"
    finally:
        subprocess.run(prefix + [pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def db(postgres_url):
    """A fresh PostgreSQL database per test, so studies never leak between tests."""
    import sqlalchemy

    name = f"t{time.time_ns()}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


STUDY = "unit:random10-seed0"  # the study `worker_command` searches


def worker_command(space, url, out, epochs=40, *extra):
    """A search worker of the unit space on `url`, with fast heartbeats so a dead worker is noticed in seconds."""
    return [sys.executable, "-m", "ftd_nas", "search", "--space", space, "--proxy", "random:10", "--dataset", "digits",
            "--epochs", str(epochs), "--dsa", "none", "--storage", url, "--out", str(out), "--device", "cpu",
            "--no-progress", "--heartbeat", "1", "--grace", "4", *extra]


def study_trials(url, study=STUDY):
    import optuna

    from ftd_nas.queue import open_storage_readonly

    return optuna.load_study(study_name=study, storage=open_storage_readonly(url)).get_trials()


def completed_once(url, count=8):
    """Every candidate of the unit space finished exactly once in the study at `url`."""
    from optuna.trial import TrialState

    done = [t.user_attrs["candidate"] for t in study_trials(url)
            if t.state == TrialState.COMPLETE and "duplicate_of" not in t.user_attrs]
    return sorted(done) == sorted(set(done)) and len(done) == count

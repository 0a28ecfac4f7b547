"""Opening storages: a failure is one line that says what is wrong (a corrupt file, a refused password, a full
disk; never optuna's "e.g. exceeding max length", which it gives for all of them) and never holds the password,
whatever characters it has; a SQLite study opens the file its path names, literally, even where the path reads
like URL syntax."""

import errno
import os
import shutil
import subprocess
import tempfile

import pytest

from ftd_nas.errors import DiskFullError, StorageError
from ftd_nas.queue.storage import make_storage, open_storage_readonly
from ftd_nas.queue.urls import default_url

PASSWORDS = ["hunter2/x", "hunter2 x", "hun:ter2", "hunter2#x", "hunter2?x", "hunter2@x", "h/u:n#t?e r@2",
             "hunter2%2F%20x"]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("tail", ["127.0.0.1:1/db", "127.0.0.1:1/db?connect_timeout=5", "127.0.0.1:1"])
def test_a_storage_error_never_shows_the_password(tmp_path, password, tail):
    pytest.importorskip("psycopg2")
    url = f"postgresql://me:{password}@{tail}"
    for opener in (lambda: make_storage(url, tmp_path), lambda: open_storage_readonly(url)):
        with pytest.raises(StorageError) as caught:
            opener()
        message = str(caught.value)
        assert "hunter2" not in message and "ter2" not in message and "%2F" not in message, message
        assert "://me@127.0.0.1:1" in message and len(message.splitlines()) == 1


def test_a_sqlite_study_in_a_folder_named_like_url_syntax_is_that_folder_s(tmp_path):
    for name in ("%2e%2e", "a b", "50%", "x#y", "q?mode=rw"):
        run = tmp_path / "deep" / name
        run.mkdir(parents=True)
        make_storage(None, run).get_all_studies()
        assert (run / "study.db").is_file()
        assert open_storage_readonly(default_url(run)).get_all_studies() == []
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == sorted(
        ["%2e%2e", "a b", "50%", "x#y", "q?mode=rw"])  # nothing created beside them (`..`, `a%20b`, ...)
    assert not (tmp_path / "study.db").exists()


@pytest.fixture(scope="module")
def sqlite_study(tmp_path_factory):
    import optuna

    path = tmp_path_factory.mktemp("db") / "study.db"
    study = optuna.create_study(storage=f"sqlite:///{path}", study_name="s")
    for x in range(20):
        study.enqueue_trial({"x": float(x)})
    return path


@pytest.mark.parametrize("damage", ["first half", "zeros after the header", "all zeros"])
def test_a_corrupt_sqlite_study_is_named_as_such_on_read_only_paths(sqlite_study, tmp_path, damage):
    data = sqlite_study.read_bytes()
    broken = {"first half": data[: len(data) // 2], "zeros after the header": data[:4096] + bytes(len(data) - 4096),
              "all zeros": bytes(4096)}[damage]
    path = tmp_path / "study.db"
    path.write_bytes(broken)
    with pytest.raises(StorageError) as error:
        open_storage_readonly(f"sqlite:///{path}")
    assert str(error.value) == (f"the study storage 'sqlite:///{path}' is not a usable SQLite database (corrupt, or "
                                "another kind of file); restore it from a copy, or start a new run with another --out")
    assert path.read_bytes() == broken


def test_a_full_disk_when_creating_a_study_is_a_disk_full_error(tmp_path, monkeypatch):
    import sqlite3.dbapi2  # what SQLAlchemy connects with

    real = sqlite3.dbapi2.connect

    def full(*args, **kwargs):
        connection = real(*args, **kwargs)
        connection.execute("PRAGMA max_page_count = 1")  # the database can grow no more: SQLite's "disk is full"
        return connection

    monkeypatch.setattr(sqlite3.dbapi2, "connect", full)
    with pytest.raises(DiskFullError, match=r"the disk is full .*study.db'; free some disk space .* re-run to resume"):
        make_storage(None, tmp_path)


@pytest.fixture(scope="module")
def password_server():
    """A PostgreSQL server that asks for a password (user postgres, password `right`)."""
    from tests.search.conftest import _free_port, _pg_bin

    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    pytest.importorskip("psycopg2")
    root = tempfile.mkdtemp(prefix="ftd-nas-pgpw-")
    data, sock, port = os.path.join(root, "data"), os.path.join(root, "sock"), _free_port()
    os.makedirs(sock)
    with open(os.path.join(root, "pw"), "w") as fh:
        fh.write("right\n")
    prefix = []
    if os.geteuid() == 0:  # the server refuses to run as root
        for path in (root, sock, os.path.join(root, "pw")):
            shutil.chown(path, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True)  # noqa: E731
    run(initdb, "-D", data, "-A", "scram-sha-256", "-U", "postgres", f"--pwfile={os.path.join(root, 'pw')}",
        "--no-sync")
    run(pg_ctl, "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(prefix + [pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_a_refused_password_or_a_missing_database_is_named_on_every_path(password_server):
    host = password_server
    make_storage(f"postgresql://postgres:right@{host}/postgres", None)  # the server works
    for url in (f"postgresql://postgres:hunter2x@{host}/postgres", f"postgresql://postgres@{host}/postgres"):
        for open_it in (open_storage_readonly, lambda u: make_storage(u, None)):  # status and report; search
            with pytest.raises(StorageError, match=f"the PostgreSQL server at {host} refused the login of user "
                                                   "'postgres': a wrong or missing password") as error:
                open_it(url)
            assert "hunter2x" not in str(error.value) and "max length" not in str(error.value)
    with pytest.raises(StorageError, match=f"the PostgreSQL server at {host} has no database 'nodb'"):
        open_storage_readonly(f"postgresql://postgres:right@{host}/nodb")


def test_a_full_disk_is_not_mistaken_for_an_unusable_journal(tmp_path, monkeypatch):
    import builtins

    real = builtins.open

    def full(path, mode="r", *args, **kwargs):
        if "a" in mode and str(path).endswith(".journal"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full)
    with pytest.raises(DiskFullError, match="new.journal'; free some disk space"):
        make_storage(f"journal:{tmp_path / 'new.journal'}", tmp_path)


def test_a_schema_race_wrapped_by_optuna_is_retried(tmp_path, monkeypatch):
    """Workers creating a server's schema at once collide on its unique names; optuna wraps the driver's error in a
    StorageInternalError whose own text says nothing of it, so the retry reads its causes."""
    from optuna.exceptions import StorageInternalError

    from ftd_nas.queue import storage

    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:
            try:
                raise RuntimeError('duplicate key value violates unique constraint "pg_type_typname_nsp_index"')
            except RuntimeError as exc:
                raise StorageInternalError("An exception is raised during the commit") from exc
        return "opened"

    monkeypatch.setattr(storage, "RDBStorage", racing)
    monkeypatch.setattr(storage.time, "sleep", lambda seconds: None)
    assert make_storage("postgresql://me@127.0.0.1:1/db", tmp_path) == "opened" and len(calls) == 3
    calls.clear()
    monkeypatch.setattr(storage, "RDBStorage", lambda *a, **k: calls.append(1) or (_ for _ in ()).throw(
        StorageInternalError("another failure")))
    with pytest.raises(StorageError, match="cannot open the study storage"):
        make_storage("postgresql://me@127.0.0.1:1/db", tmp_path)
    assert len(calls) == 1  # not transient: no retry


def test_a_worker_s_sqlite_study_journals_in_wal_and_syncs_every_commit(tmp_path):
    storage = make_storage(None, tmp_path)
    with storage.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert open_storage_readonly(default_url(tmp_path)).get_all_studies() == []


def test_one_transaction_records_its_calls_in_one_commit_or_not_at_all(tmp_path):
    import optuna

    from ftd_nas.queue import one_transaction, quiet_optuna
    from ftd_nas.queue.backend import trial_id
    from ftd_nas.queue.commits import counting_commits

    study = optuna.create_study(storage=make_storage(None, tmp_path), study_name="s")
    with quiet_optuna():
        trial = study.ask()
    with counting_commits() as commits, one_transaction(study):
        for key in "abc":
            trial.set_user_attr(key, key)
        with one_transaction(study):  # nested: part of the outer one
            trial.set_user_attr("d", 1)
    assert commits.writes == 1
    with pytest.raises(RuntimeError), one_transaction(study):
        trial.set_user_attr("e", 1)
        raise RuntimeError("the block fails: nothing of it is recorded")
    stored = open_storage_readonly(default_url(tmp_path)).get_trial(trial_id(trial)).user_attrs
    assert stored == {"a": "a", "b": "b", "c": "c", "d": 1}

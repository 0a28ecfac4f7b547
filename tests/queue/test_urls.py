"""Storage URLs and the locations run.json records for them: relative inside the run folder, never leaving it,
never with a password; PostgreSQL URLs mean the installed driver."""

import pytest

from ftd_nas.errors import InputError, StorageError
from ftd_nas.queue.storage import make_storage
from ftd_nas.queue.urls import (default_url, in_run_folder, redact, redact_url, sqlite_file, storage_location,
                                storage_url)
from ftd_nas.records import RecordError


@pytest.mark.parametrize("location", ["journal:../x.journal", "journal:sub/../../x.journal"])
def test_a_recorded_journal_cannot_leave_the_run_folder(tmp_path, location):
    with pytest.raises(RecordError, match="not a path inside the run folder"):
        storage_url(location, tmp_path)


def test_journal_locations(tmp_path):
    assert storage_location(f"journal:{tmp_path}/sub/s.journal", tmp_path) == "journal:sub/s.journal"
    assert storage_url("journal:sub/s.journal", tmp_path) == f"journal:{(tmp_path / 'sub/s.journal').resolve()}"
    assert in_run_folder("study.db") and in_run_folder("journal:a.journal")
    assert not in_run_folder("postgresql://u@h/db")


def test_storage_urls_are_recorded_without_their_password(tmp_path):
    url = "postgresql+psycopg2://alice:hunter2@db.example:5432/ftd"
    assert redact(url) == "postgresql+psycopg2://alice@db.example:5432/ftd"
    assert storage_location(url, tmp_path) == "postgresql+psycopg2://alice@db.example:5432/ftd"
    assert storage_location(f"sqlite:///{tmp_path}/sub/s.db", tmp_path) == "sub/s.db"
    assert storage_location(None, tmp_path) == "study.db"
    assert storage_location("sqlite:////elsewhere/s.db", tmp_path) == "sqlite:////elsewhere/s.db"


def test_postgres_urls_are_normalised_to_the_installed_driver(monkeypatch):
    from ftd_nas.queue import urls as study

    monkeypatch.setattr(study, "_installed_postgres_driver", lambda: "psycopg2")
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db",
                "postgresql+psycopg2://u@h/db"):
        assert study.normalise_url(url) == "postgresql+psycopg2://u@h/db"
    assert study.normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    monkeypatch.setattr(study, "_installed_postgres_driver", lambda: None)
    with pytest.raises(StorageError, match="pip install psycopg2-binary"):
        study.normalise_url("postgresql://u@h/db")


def test_bad_storage_url_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="cannot open the study storage"):
        make_storage("nosuchdb://x/y", tmp_path)


# A password may hold any character; the URL may have a port, a database, a query string, or be percent-encoded.
AWKWARD = ["hunter2/", "hun/ter2", "hunter2@x", "hunter2:x", "hunter2#x", "hunter2?x", "hunter 2", "h/u@n:t#e?r 2",
           "hunter2%2F%40x"]
FORMS = ["postgresql://alice:{pw}@db.example:5432/ftd", "postgresql://alice:{pw}@db.example/ftd",
         "postgresql+psycopg2://alice:{pw}@db.example:5432/ftd?sslmode=require&application_name=x",
         "postgres://alice:{pw}@[::1]:5432/ftd", "mysql+pymysql://alice:{pw}@db.example/ftd"]


@pytest.mark.parametrize("password", AWKWARD)
@pytest.mark.parametrize("form", FORMS)
def test_no_password_survives_redaction_in_any_form(tmp_path, form, password):
    url = form.format(pw=password)
    expected = form.replace(":{pw}", "")
    assert redact_url(url) == expected == redact(url)
    assert storage_location(url, tmp_path) == expected  # what run.json records and the worker's log line shows
    assert redact(f"cannot open the study storage {url!r}: boom\nnext") == \
        f"cannot open the study storage {expected!r}: boom\nnext"  # a library's message quoting the URL


def test_redaction_keeps_urls_without_a_password_as_they_are():
    for url in ("postgresql://alice@db.example:5432/ftd", "postgresql://db.example/ftd?application_name=a",
                "journal:/shared/run/study.journal", "sqlite:////runs/a/study.db", "study.db"):
        assert redact_url(url) == url == redact(url)
    assert redact_url("postgresql://:secret@db.example/ftd") == "postgresql://db.example/ftd"


@pytest.mark.parametrize("location", ["sqlite:////etc/other/study.db", "sqlite:///study.db", "sqlite:///../x.db",
                                      "sqlite+pysqlite:////tmp/x.db", "duckdb:///x.db", "file:///tmp/x.db"])
def test_a_file_url_in_run_json_is_never_followed(tmp_path, location):
    with pytest.raises(RecordError, match="does not open a file that a run.json points to.*--storage URL"):
        storage_url(location, tmp_path)


@pytest.mark.parametrize("location", ["postgresql://u@h:5432/db", "postgresql+psycopg2://u@evil.example/db",
                                      "mysql://u@h/db"])
def test_a_server_url_in_run_json_is_never_connected_to(tmp_path, location):
    # a received run.json would choose the host that PGPASSWORD is offered to
    with pytest.raises(RecordError, match=r"does not connect to a server that a run folder names: give --storage "):
        storage_url(location, tmp_path)


@pytest.mark.parametrize("link", ["study.db", "study.db-journal", "study.db-wal", "study.db-shm", "study.db.lock",
                                  "study.journal"])
def test_a_study_file_that_is_a_symbolic_link_is_refused(tmp_path, link):
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    (run / link).symlink_to(outside / link)
    location = "journal:study.journal" if link.endswith("journal") and "db" not in link else "study.db"
    with pytest.raises(InputError, match=r"is a symbolic link .*--storage URL"):
        storage_url(location, run)
    if location == "study.db":
        with pytest.raises(InputError, match="is a symbolic link"):
            default_url(run)


def test_a_folder_with_url_syntax_in_its_name_is_opened_literally(tmp_path):
    """SQLAlchemy percent-decodes a SQLite path: a folder named %2e%2e must not become `..`."""
    run = tmp_path / "run" / "%2e%2e"
    run.mkdir(parents=True)
    url = storage_url("study.db", run)
    assert sqlite_file(url) == (run / "study.db").resolve()
    assert storage_url("%2e%2e/study.db", tmp_path / "run") == url
    from sqlalchemy.engine import make_url

    assert make_url(url).database == str((run / "study.db").resolve())

"""Storage URLs and the locations run.json records for them: relative inside the run folder, never leaving it,
never with a password; PostgreSQL URLs mean the installed driver."""

import pytest

from ftd_nas.errors import StorageError
from ftd_nas.queue.storage import make_storage
from ftd_nas.queue.urls import in_run_folder, redact, storage_location, storage_url
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

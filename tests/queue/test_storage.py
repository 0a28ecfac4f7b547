"""Opening storages: a failure is one line that never holds the password, whatever characters it has; a SQLite
study opens the file its path names, literally, even where the path reads like URL syntax."""

import pytest

from ftd_nas.errors import StorageError
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

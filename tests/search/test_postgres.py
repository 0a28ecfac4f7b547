"""PostgreSQL specifics: unreachable servers, URLs and passwords, studies of other settings (the shared-storage
guarantees, exactly-once training and dead-worker retry, are in test_scale_out.py for every shared storage)."""

import subprocess
import sys

import pytest

from .conftest import completed_once, worker_command as _worker

pytestmark = pytest.mark.slow  # PostgreSQL server and search processes


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
    assert completed_once(db)


@pytest.mark.parametrize("password", ["hun/ter2 x:#?", "hunter2%2F%40%20x"])
def test_an_awkward_password_is_in_no_log_line_record_or_status(space_file, db, tmp_path, digits, caplog, capsys,
                                                                  password):
    """A password with /, :, #, ?, a space or percent-escapes (trust auth ignores it) appears nowhere: not in the
    worker's log line, not in run.json, not in `status`."""
    import json
    import logging

    from ftd_nas.cli import main
    from ftd_nas.search import run_search
    from tests.conftest import search_config

    url = db.replace("postgresql+psycopg2://postgres@", f"postgresql://postgres:{password}@")
    run = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="ftd_nas"):
        run_search(search_config(space_file, run, epochs=1, storage=url), dataset=digits)
    joined = [r.getMessage() for r in caplog.records if "joins study" in r.getMessage()]
    recorded = json.loads((run / "run.json").read_text())["storage"]
    expected = db.replace("postgresql+psycopg2://", "postgresql://")
    assert len(joined) == 1 and expected in joined[0] and recorded == expected
    for args in (["status", str(run), "--storage", url], ["status", str(run), "--storage", url, "--json"],
                 ["status", str(run)]):
        code = main(args)
        shown = capsys.readouterr()
        if "--storage" in args:
            assert code == 0 and expected in shown.out, shown
        else:  # run.json alone never makes ftd-nas connect to a server: the user names it
            assert code == 3 and f"give --storage {expected}" in shown.err, shown
        texts = [joined[0], (run / "run.json").read_text(), shown.out, shown.err]
        assert not any(form in text for form in ("ter2", "%2F", "%40") for text in texts)

"""Run folders are portable and never mix settings: a moved or copied run reports its own data, `report`
never writes into a storage, a stored location never leaves the run folder, and a folder's settings are
fixed by its first finished candidate."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ftd_nas.cli import main
from ftd_nas.errors import ConfigError, FtdNasError, StorageError
from ftd_nas.search import load_run, run_search
from ftd_nas.search import runner as runner_module
from ftd_nas.search.report import build_report
from tests.conftest import search_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v1"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_copied_and_moved_runs_report_their_own_data(space_file, tmp_path, digits, interrupt_after):
    restore = interrupt_after(runner_module, "train_candidate", 3)
    with pytest.raises(KeyboardInterrupt):
        run_search(search_config(space_file, tmp_path / "original", epochs=1), dataset=digits)
    restore()
    assert json.loads((tmp_path / "original" / "run.json").read_text())["storage"] == "study.db"
    shutil.copytree(tmp_path / "original", tmp_path / "copy")  # a copy holding 3 finished candidates
    run_search(search_config(space_file, tmp_path / "original", epochs=1), dataset=digits)  # the original finishes all 8
    assert len(load_run(tmp_path / "original").rows) == 8
    assert len(load_run(tmp_path / "copy").rows) == 3  # the copy's own study, not the original's
    (tmp_path / "original").rename(tmp_path / "moved")
    assert len(load_run(tmp_path / "moved").rows) == 8  # a moved run opens its own database
    shutil.rmtree(tmp_path / "moved")
    run_search(search_config(space_file, tmp_path / "copy", epochs=1), dataset=digits)  # the copy resumes on its own
    assert len(load_run(tmp_path / "copy").rows) == 8


@pytest.mark.slow
def test_report_reads_without_writing_and_refuses_a_location_outside_the_run(space_file, tmp_path, digits):
    for name, proxy in (("truth", "real"), ("run", "random:3")):
        run_search(search_config(space_file, tmp_path / name, proxy=proxy, epochs=1), dataset=digits)
    db = tmp_path / "run" / "study.db"
    before, mtime = _digest(db), db.stat().st_mtime_ns
    db.chmod(0o444)  # a read-only archive of a finished run is still reportable
    build_report([str(tmp_path / "run")], str(tmp_path / "truth"), ks=(3,), bootstrap=10)
    assert _digest(db) == before and db.stat().st_mtime_ns == mtime
    run_json = tmp_path / "run" / "run.json"
    record = json.loads(run_json.read_text())
    for location in ("../truth/study.db", str(tmp_path / "truth" / "study.db")):
        run_json.write_text(json.dumps({**record, "storage": location}))
        with pytest.raises(FtdNasError, match="not a path inside the run folder"):
            load_run(tmp_path / "run")
    shutil.copy(tmp_path / "truth" / "study.db", tmp_path / "run" / "other.db")  # another study, inside the folder
    run_json.write_text(json.dumps({**record, "storage": "other.db"}))
    with pytest.raises(ConfigError, match="is not in its storage"):
        load_run(tmp_path / "run")
    run_json.write_text(json.dumps({**record, "storage": "missing.db"}))
    with pytest.raises(StorageError, match="does not exist"):
        load_run(tmp_path / "run")
    assert not (tmp_path / "run" / "missing.db").exists()  # never created by a read


def test_a_folder_with_nothing_finished_accepts_new_settings(space_file, tmp_path, digits, interrupt_after):
    restore = interrupt_after(runner_module, "train_candidate", 0)  # the first candidate is interrupted
    with pytest.raises(KeyboardInterrupt):
        run_search(search_config(space_file, tmp_path / "run", epochs=1), dataset=digits)
    restore()
    summary = run_search(search_config(space_file, tmp_path / "run", epochs=2), dataset=digits)  # corrected recipe
    assert summary["complete"] == 8
    assert load_run(tmp_path / "run").record.identity.recipe.epochs == 2
    with pytest.raises(ConfigError, match=r"8 candidates finished.*recipe.epochs: 2 vs 3"):
        run_search(search_config(space_file, tmp_path / "run", epochs=3), dataset=digits)


def test_v1_runs_are_read_from_the_copy_and_never_rewritten(tmp_path, capsys):
    for name in ("truth", "search"):  # their run.json names /tmp/v1gen/..., which is not where they are now
        shutil.copytree(FIXTURES / name, tmp_path / name)
    before = {p: _digest(p) for p in tmp_path.rglob("*") if p.is_file()}
    run = load_run(tmp_path / "search")
    assert run.record.storage == "study.db" and len(run.rows) == 2
    assert run.record.identity.source["file_sha256"] and run.record.identity.data.train_sha256 is None
    assert main(["report", str(tmp_path / "search"), "--truth", str(tmp_path / "truth"), "--out",
                 str(tmp_path / "report"), "--ks", "2", "--bootstrap", "10", "--allow-partial"]) == 0  # 2 candidates
    assert "FTD IPC 1" in capsys.readouterr().out
    assert {p: _digest(p) for p in before} == before


def test_a_v1_search_resumes_over_its_proxy_without_retraining(tmp_path, digits):
    shutil.copytree(FIXTURES / "search", tmp_path / "search")
    shutil.copy(FIXTURES / "proxy.safetensors", tmp_path / "proxy.safetensors")
    cfg = search_config(str(FIXTURES / "two.yaml"), tmp_path / "search", proxy=str(tmp_path / "proxy.safetensors"),
                        epochs=1)
    summary = run_search(cfg, dataset=digits)
    assert summary["trained"] == 0 and summary["complete"] == 2
    other = search_config(str(FIXTURES / "two.yaml"), tmp_path / "search", proxy="random:1", epochs=1)
    with pytest.raises(ConfigError, match="holds a search with other settings"):
        run_search(other, dataset=digits)

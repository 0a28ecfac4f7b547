import json
import subprocess
import sys

import pytest

from ftd_nas.cli import main


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "experts", "distill", "evaluate", "search", "report", "curves", "train", "data"):
        assert f"    {command} " in out


def test_version(capsys):
    import ftd_nas

    with pytest.raises(SystemExit):
        main(["--version"])
    assert ftd_nas.__version__ in capsys.readouterr().out


def test_train_prints_and_writes_a_run_record(tmp_path, capsys):
    out_json = tmp_path / "run.json"
    assert main(["train", "--dataset", "digits", "--width", "8", "--depth", "2", "--epochs", "2",
                 "--no-progress", "--json", str(out_json)]) == 0
    assert "test acc" in capsys.readouterr().out
    record = json.loads(out_json.read_text())
    assert 0.0 <= record["test_acc"] <= 1.0 and record["val_acc"] is not None
    assert record["config"]["model"]["params"]["width"] == 8 and record["config"]["train"]["epochs"] == 2
    assert record["dataset"]["name"] == "digits" and record["environment"]["torch"]
    assert len(record["history"]) == 2 and record["seed"] == 0


def test_data_describes_classes_and_counts(capsys):
    assert main(["data", "--dataset", "digits"]) == 0
    out = capsys.readouterr().out
    assert "total" in out and "1 x 16 x 16" in out


def test_bad_input_is_an_error_message_not_a_traceback(capsys, tmp_path):
    assert main(["train", "--dataset", "nope", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nope'" in err and "Traceback" not in err
    assert main(["data", "--dataset", f"npz:{tmp_path}/missing.npz"]) == 3  # an input file: its own class
    assert "does not exist" in capsys.readouterr().err


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "ftd_nas", "--help"], capture_output=True, text=True, check=True)
    assert "ftd-nas" in out.stdout


def test_json_results_are_not_replaced_without_overwrite(tmp_path, capsys):
    out_json = tmp_path / "run.json"
    args = ["train", "--dataset", "digits", "--width", "4", "--depth", "1", "--epochs", "1", "--no-progress",
            "--json", str(out_json)]
    assert main(args) == 0
    before = out_json.read_bytes()
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err and out_json.read_bytes() == before
    assert main(args + ["--overwrite"]) == 0


@pytest.mark.slow
def test_importing_ftd_nas_changes_no_global_settings():
    code = """
import logging, matplotlib, optuna
before = (matplotlib.rcParams._get_backend_or_none(), optuna.logging.get_verbosity(),
          logging.getLogger().handlers[:], logging.getLogger('ftd_nas').handlers[:])
import ftd_nas.cli, ftd_nas.demo, ftd_nas.search.report, ftd_nas.figures.curves, ftd_nas.figures.ranking
after = (matplotlib.rcParams._get_backend_or_none(), optuna.logging.get_verbosity(),
         logging.getLogger().handlers[:], logging.getLogger('ftd_nas').handlers[:])
assert before == after, (before, after)
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


@pytest.mark.slow
def test_diagnostics_go_to_stderr_results_to_stdout_and_quiet_silences_them(tmp_path):
    space = tmp_path / "s.yaml"
    space.write_text("axes:\n  depth: [1]\n  width: [4]\n  norm: [none]\n  act: [relu]\n  pool: [none]\n")
    cmd = [sys.executable, "-m", "ftd_nas", "search", "--space", str(space), "--proxy", "random:1", "--dataset",
           "digits", "--epochs", "1", "--out", str(tmp_path / "r"), "--device", "cpu", "--no-progress"]
    subprocess.run(cmd, check=True, capture_output=True)
    again = subprocess.run(cmd, check=True, capture_output=True, text=True)
    assert "the space is finished" in again.stderr and "the space is finished" not in again.stdout
    assert "candidates complete" in again.stdout
    quiet = subprocess.run(cmd + ["-q"], check=True, capture_output=True, text=True)
    assert quiet.stderr == ""


def test_unexpected_errors_show_a_traceback_and_ask_for_a_report(monkeypatch, capsys):
    import ftd_nas.cli.data as data_cmd

    def broken(args):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(data_cmd, "describe", lambda ds: broken(None))
    assert main(["data"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "This is a bug in ftd-nas: please report it" in err


def test_debug_shows_the_traceback_of_an_expected_error(capsys, monkeypatch):
    assert main(["data", "--dataset", "imagenet-22k"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setenv("FTD_NAS_DEBUG", "1")
    assert main(["data", "--dataset", "imagenet-22k"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_out_of_memory_exits_6_whatever_allocator_ran_out(monkeypatch, capsys):
    import torch

    from ftd_nas.train import Trainer

    for exhausted in (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                      RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: "
                                   "you tried to allocate 123456789 bytes.")):  # the CPU's: a plain RuntimeError
        monkeypatch.setattr(Trainer, "run_epoch", lambda self, *a, exc=exhausted, **k: (_ for _ in ()).throw(exc))
        assert main(["train", "--dataset", "digits", "--width", "4", "--depth", "1", "--epochs", "1",
                     "--no-progress", "--device", "cpu"]) == 6
        err = capsys.readouterr().err
        assert "error: out of memory; lower the batch size" in err and "Traceback" not in err


def test_a_full_disk_while_writing_a_tensor_file_exits_3_saying_free_space_and_re_run(tmp_path, monkeypatch,
                                                                                      capsys):
    from safetensors import SafetensorError

    import ftd_nas.proxy

    def full(tensors, filename, metadata=None):  # safetensors' writer on a full disk (its real message)
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(ftd_nas.proxy, "save_file", full)
    out = tmp_path / "s.safetensors"
    assert main(["select", "--dataset", "digits", "--method", "random", "--ipc", "1", "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert f"the disk is full (no space left on device) while writing '{out}'; free some disk space (or choose " \
           "another output folder), then re-run to resume" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_a_full_disk_mid_search_on_sqlite_exits_3_not_5(space_file, tmp_path, monkeypatch, capsys):
    import sqlite3

    import sqlalchemy.exc
    from sqlalchemy.orm import Session

    from ftd_nas.search import runner

    real_commit, real_train, trained = Session.commit, runner.train_candidate, []

    def commit(self):  # SQLite's own words once the disk is full; optuna wraps them in a StorageInternalError
        if trained:
            raise sqlalchemy.exc.OperationalError("UPDATE trials", {}, sqlite3.OperationalError(
                "database or disk is full"))
        return real_commit(self)

    def train(*args, **kwargs):
        trained.append(1)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(Session, "commit", commit)
    monkeypatch.setattr(runner, "train_candidate", train)
    assert main(["search", "--space", space_file, "--proxy", "random:2", "--dataset", "digits", "--epochs", "1",
                 "--dsa", "none", "--out", str(tmp_path / "run"), "--device", "cpu", "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "the disk is full (no space left on device); free some disk space" in err and "re-run to resume" in err
    assert "Traceback" not in err and "exceeding max length" not in err


def test_threads_far_beyond_the_cpus_are_refused_up_front(capsys):
    import os

    assert main(["--threads", "100000", "data"]) == 2
    err = capsys.readouterr().err
    cap = 4 * os.cpu_count()
    assert f"--threads 100000 is more than {cap} torch threads (4 per CPU of this machine's {os.cpu_count()})" in err
    assert main(["data", "--threads", str(cap)]) == 0

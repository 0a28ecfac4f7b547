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
    assert record["config"]["model"]["width"] == 8 and record["config"]["train"]["epochs"] == 2
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
    assert main(["data", "--dataset", f"npz:{tmp_path}/missing.npz"]) == 2
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

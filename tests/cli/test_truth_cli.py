"""`ftd-nas truth` through the command line: a published table becomes a truth folder that `report --truth` and
`verify --real-run` take like a real-data run. The refusals are cases of tests/cli/test_bad_inputs.py."""

import json

import pytest

from ftd_nas.cli import main
from ftd_nas.errors import EXIT_USAGE
from ftd_nas.search import load_space, run_search
from ftd_nas.search.space import candidate_id
from tests.conftest import search_config, write_space


@pytest.fixture(scope="module")
def proxy_run(tmp_path_factory, digits):
    """A random-subset search of the unit space (8 candidates) on digits, and a table of its candidates."""
    root = tmp_path_factory.mktemp("truth_cli")
    space = write_space(root)
    run_search(search_config(space, root / "run", proxy="random:2", epochs=4), dataset=digits)
    ids = [candidate_id(p) for p in load_space(str(space)).candidates()]
    (root / "table.csv").write_text("ArchitectureString,Accuracy\n" + "".join(f"{c},{40 + 3 * i}\n"
                                                                              for i, c in enumerate(ids)))
    return root


def test_a_table_imported_on_the_command_line_is_a_truth_for_report_and_verify(proxy_run, tmp_path, capsys):
    root = proxy_run
    assert main(["truth", "--table", str(root / "table.csv"), "--accuracy-column", "Accuracy", "--space",
                 str(root / "unit.yaml"), "--dataset-family", "digits", "--out", str(tmp_path / "truth")]) == 0
    out = capsys.readouterr().out
    assert "8 of the 8 candidates of unit covered, 0 missing" in out and "percent (read off the values)" in out
    record = json.loads((tmp_path / "truth" / "truth.json").read_text())
    assert record["format"] == "ftd-nas-truth-table" and record["rows"]["d1-w4-relu-instancenorm-avgpool"] == 0.4
    assert main(["report", str(root / "run"), "--truth", str(tmp_path / "truth"), "--out", str(tmp_path / "rep"),
                 "--ks", "3", "--bootstrap", "20"]) == 0
    assert "Truth: published table table.csv" in capsys.readouterr().out
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["truth_source"]["kind"] == "table"
    assert main(["verify", str(root / "run"), "--dataset", "digits", "--top", "2", "--sample", "3", "--real-run",
                 str(tmp_path / "truth"), "--out", str(tmp_path / "v"), "--device", "cpu", "--no-progress"]) == 0
    assert "looked up, not trained" in capsys.readouterr().out
    assert not (tmp_path / "truth" / "run.json").exists()
    # nor does a search write into a truth folder: its run would be mixed into the table's
    assert main(["search", "--space", str(root / "unit.yaml"), "--proxy", "random:2", "--dataset", "digits",
                 "--epochs", "1", "--out", str(tmp_path / "truth"), "--device", "cpu", "--no-progress"]) == EXIT_USAGE
    assert "holds a ground truth imported from a table" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "truth").iterdir()) == ["truth.json"]

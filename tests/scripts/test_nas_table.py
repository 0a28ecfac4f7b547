"""scripts/nas_table.py: the costs its table shows come from what the work recorded, not from stage wall times."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import nas_table  # noqa: E402


@pytest.fixture
def runs(monkeypatch):
    seconds = {}  # run name -> per-candidate training seconds

    def load_run(path):
        return SimpleNamespace(rows=[SimpleNamespace(seconds=s) for s in seconds[Path(path).name]])

    monkeypatch.setattr("ftd_nas.search.runner.load_run", load_run)
    return seconds


def test_early_stopping_gets_the_epochs_that_cost_what_ftds_search_cost(runs, tmp_path):
    s = {"truth_epochs": 8, "repeats": 3}
    runs["truth"] = [600.0, 1800.0]  # 2,400 s for 8 epochs x 3 repeats: 100 s per epoch of the whole space
    runs["ftd"] = [100.0, 210.0]
    assert nas_table.early_epochs(tmp_path, s) == 3
    runs["ftd"] = [10.0, None]  # a cheaper search than one real epoch still trains one
    assert nas_table.early_epochs(tmp_path, s) == 1


def test_creation_time_is_the_proxys_own_plus_the_experts_trajectory_matching_needs():
    record = {"stages": {"experts-gsam": {"seconds": 50.0}, "experts-sgd": {"seconds": 30.0},
                         "distill-dsa": {"seconds": 5.0}}}  # a resumed stage's wall time: not the work's cost
    assert nas_table.creation_seconds({"creation_seconds": 100.0}, "ftd", record) == 150.0
    assert nas_table.creation_seconds({"creation_seconds": 100.0}, "mtt", record) == 130.0
    assert nas_table.creation_seconds({"creation_seconds": 2931.0}, "dsa", record) == 2931.0
    assert nas_table.creation_seconds({"creation_seconds": None}, "early", record) == 0.0

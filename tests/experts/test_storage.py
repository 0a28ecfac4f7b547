import pytest
import torch
from safetensors.torch import save_file

from ftd_nas.experts import ExpertDirectory, TrajectoryError, TrajectoryFile, write_trajectory
from ftd_nas.experts.storage import expert_path


def _meta(**train):
    return {"index": 0, "seed": 0, "model": {"arch": "convnet", "width": 8},
            "dataset": {"name": "digits", "zca": False},
            "train": {"optimizer": "gsam", "rho": 0.01, "alpha": 1.0, "lr": 0.01, "seed": 0, **train}}


def test_rows_read_back_exactly(tmp_path):
    snaps = torch.randn(6, 40)
    write_trajectory(tmp_path / "e.safetensors", snaps, _meta())
    traj = TrajectoryFile(tmp_path / "e.safetensors")
    assert traj.num_epochs == 5 and traj.num_params == 40
    start, target = traj.snapshots(2, 4)
    assert torch.equal(start, snaps[2]) and torch.equal(target, snaps[4])
    assert traj.meta["train"]["alpha"] == 1.0
    with pytest.raises(TrajectoryError, match="epochs 0..5"):
        traj.snapshot(6)


def test_truncated_and_corrupt_files_are_reported(tmp_path):
    path = tmp_path / "e.safetensors"
    write_trajectory(path, torch.randn(4, 1000), _meta())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TrajectoryError, match="truncated or corrupt"):
        TrajectoryFile(path)
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(TrajectoryError, match="truncated or corrupt"):
        TrajectoryFile(path)


def test_foreign_safetensors_file_is_not_a_trajectory(tmp_path):
    save_file({"weight": torch.zeros(3)}, str(tmp_path / "w.safetensors"))
    with pytest.raises(TrajectoryError, match="not an ftd-nas trajectory"):
        TrajectoryFile(tmp_path / "w.safetensors")


def test_compatibility_check_names_each_mismatch(tmp_path):
    write_trajectory(tmp_path / "e.safetensors", torch.randn(3, 10), _meta())
    traj = TrajectoryFile(tmp_path / "e.safetensors")
    traj.check_compatible(model={"width": 8}, dataset={"name": "digits"}, num_params=10, optimizer="gsam")
    with pytest.raises(TrajectoryError, match="model width is 8 there, 16 here"):
        traj.check_compatible(model={"width": 16})
    with pytest.raises(TrajectoryError, match="dataset zca is False there, True here"):
        traj.check_compatible(dataset={"zca": True})
    with pytest.raises(TrajectoryError, match="10 parameters per snapshot, the model has 11"):
        traj.check_compatible(num_params=11)
    with pytest.raises(TrajectoryError, match="trained with gsam, sgd is required"):
        traj.check_compatible(optimizer="sgd")


def test_directory_with_mixed_settings_is_refused(tmp_path):
    write_trajectory(expert_path(tmp_path, 0), torch.randn(3, 10), _meta())
    write_trajectory(expert_path(tmp_path, 1), torch.randn(3, 10), {**_meta(alpha=0.3), "seed": 1})
    with pytest.raises(TrajectoryError, match="mixes experts.*train.alpha: 1.0 vs 0.3"):
        ExpertDirectory(tmp_path)


def test_directory_with_same_settings_loads_and_ignores_seed(tmp_path):
    write_trajectory(expert_path(tmp_path, 0), torch.randn(3, 10), _meta())
    write_trajectory(expert_path(tmp_path, 1), torch.randn(3, 10), _meta(seed=1))
    assert len(ExpertDirectory(tmp_path)) == 2


def test_empty_or_missing_directory_says_how_to_fill_it(tmp_path):
    with pytest.raises(TrajectoryError, match="ftd-nas experts"):
        ExpertDirectory(tmp_path / "nope")
    with pytest.raises(TrajectoryError, match="no finished experts"):
        ExpertDirectory(tmp_path)

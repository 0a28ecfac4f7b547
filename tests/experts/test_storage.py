import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import save_file

from ftd_nas.experts import ExpertDirectory, ExpertRecord, TrajectoryError, TrajectoryFile, write_trajectory
from ftd_nas.experts.storage import expert_path
from ftd_nas.models import ModelSpec
from ftd_nas.train import TrainConfig


def _meta(snapshots=3, params=10, seed=0, **train):
    from ftd_nas.data import load_dataset

    fingerprint = _meta.fingerprint = getattr(_meta, "fingerprint", None) or load_dataset("digits").fingerprint()
    return ExpertRecord(index=0, seed=seed, model=ModelSpec(width=8), data=fingerprint,
                        train=TrainConfig(optimizer="gsam", rho=0.01, alpha=1.0, lr=0.01, seed=seed, **train),
                        num_snapshots=snapshots, num_params=params)


def test_rows_read_back_exactly(tmp_path):
    snaps = torch.randn(6, 40)
    write_trajectory(tmp_path / "e.safetensors", snaps, _meta(6, 40))
    traj = TrajectoryFile(tmp_path / "e.safetensors")
    assert traj.num_epochs == 5 and traj.num_params == 40
    start, target = traj.snapshots(2, 4)
    assert torch.equal(start, snaps[2]) and torch.equal(target, snaps[4])
    assert traj.record == _meta(6, 40)  # the record survives the round trip field for field
    with pytest.raises(TrajectoryError, match="epochs 0..5"):
        traj.snapshot(6)


def test_truncated_and_corrupt_files_are_reported(tmp_path):
    path = tmp_path / "e.safetensors"
    write_trajectory(path, torch.randn(4, 1000), _meta(4, 1000))
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


def test_metadata_of_another_kind_or_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "e.safetensors"
    record = _meta().to_dict()
    for meta, message in (({**record, "format_version": 3}, "format version 3.*newer ftd-nas"),
                          ({**record, "format": "ftd-nas-proxy"}, "not an ftd-nas-trajectory record"),
                          ({**record, "train": {**record["train"], "lr": "fast"}}, "train.lr: expected float"),
                          ({**record, "surprise": 1}, "unknown fields \\['surprise'\\]")):
        save_file({"trajectory": torch.zeros(3, 10)}, str(path), metadata={"ftd_nas": json.dumps(meta)})
        with pytest.raises(TrajectoryError, match=message):
            TrajectoryFile(path)


def test_directory_with_mixed_settings_is_refused(tmp_path):
    write_trajectory(expert_path(tmp_path, 0), torch.randn(3, 10), _meta())
    write_trajectory(expert_path(tmp_path, 1), torch.randn(3, 10), replace(_meta(seed=1), train=TrainConfig(
        optimizer="gsam", rho=0.01, alpha=0.3, lr=0.01, seed=1)))
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

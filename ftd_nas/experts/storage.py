"""Trajectory files: one safetensors file per expert, tensor `trajectory` [epochs+1, P] plus JSON metadata.

Reading two snapshots maps only those rows (safetensors slices), never the whole file. Every open
validates the header into an `ExpertRecord`; `ExpertDirectory` names any mismatch between the experts of a
folder, so buffers trained differently are never mixed silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ftd_nas.errors import InputError
from ftd_nas.experts.records import ExpertRecord
from ftd_nas.io import atomic_path
from ftd_nas.records import RecordError, diff_settings, format_diff

TENSOR = "trajectory"
META_KEY = "ftd_nas"


class TrajectoryError(InputError):
    """A trajectory file or directory is corrupt, truncated or does not match what it is used with."""


def expert_path(directory: Path, index: int) -> Path:
    return Path(directory) / f"expert_{index:04d}.safetensors"


def write_trajectory(path: str | os.PathLike, snapshots: torch.Tensor, record: ExpertRecord) -> None:
    """Atomically write snapshots [epochs+1, P] with their record."""
    if snapshots.dim() != 2 or list(snapshots.shape) != [record.num_snapshots, record.num_params]:
        raise ValueError(f"snapshots must be [{record.num_snapshots}, {record.num_params}] as the record says, "
                         f"got shape {tuple(snapshots.shape)}")
    with atomic_path(path) as tmp:
        save_file({TENSOR: snapshots.detach().to("cpu", torch.float32).contiguous()}, str(tmp),
                  metadata={META_KEY: json.dumps(record.to_dict())})


class TrajectoryFile:
    """A validated, lazily read trajectory; `snapshot(t)` reads one row."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise TrajectoryError(f"trajectory file {str(self.path)!r} does not exist")
        try:
            with safe_open(str(self.path), framework="pt") as f:
                header_meta = f.metadata() or {}
                keys = list(f.keys())
                shape = f.get_slice(TENSOR).get_shape() if TENSOR in keys else None
        except Exception as exc:
            raise TrajectoryError(f"{str(self.path)!r} is not a readable trajectory file (truncated or corrupt?): "
                                  f"{exc}. Delete it and re-run `ftd-nas experts` to train it again.") from exc
        if shape is None or META_KEY not in header_meta:
            raise TrajectoryError(f"{str(self.path)!r} is a safetensors file but not an ftd-nas trajectory "
                                  f"(tensors {keys}, metadata keys {sorted(header_meta)})")
        try:
            self.record = ExpertRecord.from_dict(json.loads(header_meta[META_KEY]), repr(str(self.path)))
        except (json.JSONDecodeError, RecordError) as exc:
            raise TrajectoryError(f"{str(self.path)!r} has unreadable metadata: {exc}") from None
        if list(shape) != [self.record.num_snapshots, self.record.num_params]:
            raise TrajectoryError(f"{str(self.path)!r}: tensor shape {list(shape)} disagrees with its metadata "
                                  f"({self.record.num_snapshots} snapshots of {self.record.num_params} parameters)")
        self.shape = tuple(shape)

    @property
    def num_epochs(self) -> int:
        return self.shape[0] - 1

    @property
    def num_params(self) -> int:
        return self.shape[1]

    def snapshot(self, epoch: int) -> torch.Tensor:
        """Parameters after `epoch` epochs (0 = initialisation), as a [P] tensor."""
        return self.snapshots(epoch)[0]

    def snapshots(self, *epochs: int) -> list[torch.Tensor]:
        for e in epochs:
            if not 0 <= e <= self.num_epochs:
                raise TrajectoryError(f"{str(self.path)!r} has epochs 0..{self.num_epochs}, asked for {e}")
        try:
            with safe_open(str(self.path), framework="pt") as f:
                rows = f.get_slice(TENSOR)
                return [rows[e:e + 1][0].clone() for e in epochs]
        except Exception as exc:
            raise TrajectoryError(f"reading {str(self.path)!r} failed (truncated or corrupt?): {exc}") from exc


class ExpertDirectory:
    """The finished experts of one directory, checked to share one set of settings.

    Opening it reads only the folder given: nothing stored in the files (such as the data they were trained
    on) is followed anywhere.
    """

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory)
        if not self.path.is_dir():
            raise TrajectoryError(f"expert directory {str(self.path)!r} does not exist; train experts into it "
                                  "with `ftd-nas experts --out DIR`")
        files = sorted(self.path.glob("expert_*.safetensors"))
        if not files:
            raise TrajectoryError(f"{str(self.path)!r} holds no finished experts (expert_NNNN.safetensors)")
        self.experts = [TrajectoryFile(f) for f in files]
        reference = self.experts[0].record.settings()
        for expert in self.experts[1:]:
            diff = diff_settings(reference, expert.record.settings())
            if diff:
                raise TrajectoryError(f"{str(self.path)!r} mixes experts trained differently: "
                                      f"{self.experts[0].path.name} and {expert.path.name} differ in "
                                      + format_diff(diff) + ". Keep one setting per directory.")
        self.settings = reference

    @property
    def record(self) -> ExpertRecord:
        """The first expert's record: model, data fingerprint and recipe every expert here shares."""
        return self.experts[0].record

    def __len__(self) -> int:
        return len(self.experts)

    def __getitem__(self, i: int) -> TrajectoryFile:
        return self.experts[i]

    @property
    def num_epochs(self) -> int:
        return min(e.num_epochs for e in self.experts)

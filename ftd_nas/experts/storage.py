"""Trajectory files: one safetensors file per expert, tensor `trajectory` [epochs+1, P] plus JSON metadata.

Reading two snapshots maps only those rows (safetensors slices), never the whole file. Every open
validates the header; `check_compatible` and `ExpertDirectory` name any mismatch with the model,
dataset or settings a caller expects, so buffers trained differently are never mixed silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ftd_nas.errors import FtdNasError
from ftd_nas.io import atomic_path

FORMAT = "ftd-nas-trajectory"
FORMAT_VERSION = 1
TENSOR = "trajectory"
META_KEY = "ftd_nas"


class TrajectoryError(FtdNasError):
    """A trajectory file or directory is corrupt, truncated or does not match what it is used with."""


def expert_path(directory: Path, index: int) -> Path:
    return Path(directory) / f"expert_{index:04d}.safetensors"


def write_trajectory(path: str | os.PathLike, snapshots: torch.Tensor, meta: dict) -> None:
    """Atomically write snapshots [epochs+1, P] with metadata."""
    if snapshots.dim() != 2:
        raise ValueError(f"snapshots must be [epochs+1, P], got shape {tuple(snapshots.shape)}")
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta,
            "num_snapshots": snapshots.shape[0], "num_params": snapshots.shape[1]}
    with atomic_path(path) as tmp:
        save_file({TENSOR: snapshots.detach().to("cpu", torch.float32).contiguous()}, str(tmp),
                  metadata={META_KEY: json.dumps(meta)})


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
            self.meta = json.loads(header_meta[META_KEY])
        except json.JSONDecodeError as exc:
            raise TrajectoryError(f"{str(self.path)!r} has unreadable metadata: {exc}") from exc
        if self.meta.get("format") != FORMAT or self.meta.get("format_version") != FORMAT_VERSION:
            raise TrajectoryError(f"{str(self.path)!r} has format {self.meta.get('format')!r} version "
                                  f"{self.meta.get('format_version')}; this ftd-nas reads {FORMAT} v{FORMAT_VERSION}")
        if list(shape) != [self.meta["num_snapshots"], self.meta["num_params"]]:
            raise TrajectoryError(f"{str(self.path)!r}: tensor shape {list(shape)} disagrees with its metadata "
                                  f"({self.meta['num_snapshots']} snapshots of {self.meta['num_params']} parameters)")
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

    def check_compatible(self, *, model: dict | None = None, dataset: dict | None = None,
                         num_params: int | None = None, optimizer: str | None = None) -> None:
        """Raise naming the first mismatch between this file and what the caller will use it with."""
        problems = []
        if num_params is not None and num_params != self.num_params:
            problems.append(f"it holds {self.num_params} parameters per snapshot, the model has {num_params}")
        if model is not None:
            problems += [f"model {k} is {self.meta['model'].get(k)!r} there, {v!r} here"
                         for k, v in model.items() if self.meta["model"].get(k) != v]
        if dataset is not None:
            problems += [f"dataset {k} is {self.meta['dataset'].get(k)!r} there, {v!r} here"
                         for k, v in dataset.items() if self.meta["dataset"].get(k) != v]
        if optimizer is not None and self.meta["train"]["optimizer"] != optimizer:
            problems.append(f"it was trained with {self.meta['train']['optimizer']}, {optimizer} is required")
        if problems:
            raise TrajectoryError(f"{str(self.path)!r} does not match: " + "; ".join(problems))


def settings_of(meta: dict) -> dict:
    """What every expert of one directory must share (everything but its index, seed and results)."""
    train = {k: v for k, v in meta["train"].items() if k not in ("seed", "progress")}
    return {"model": meta["model"], "dataset": meta["dataset"], "train": train}


def diff_settings(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += diff_settings(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append(f"{prefix}{key}: {va!r} vs {vb!r}")
    return out


class ExpertDirectory:
    """The finished experts of one directory, checked to share one set of settings."""

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory)
        if not self.path.is_dir():
            raise TrajectoryError(f"expert directory {str(self.path)!r} does not exist; train experts into it "
                                  "with `ftd-nas experts --out DIR`")
        files = sorted(self.path.glob("expert_*.safetensors"))
        if not files:
            raise TrajectoryError(f"{str(self.path)!r} holds no finished experts (expert_NNNN.safetensors)")
        self.experts = [TrajectoryFile(f) for f in files]
        reference = settings_of(self.experts[0].meta)
        for expert in self.experts[1:]:
            diff = diff_settings(reference, settings_of(expert.meta))
            if diff:
                raise TrajectoryError(f"{str(self.path)!r} mixes experts trained differently: "
                                      f"{self.experts[0].path.name} and {expert.path.name} differ in "
                                      + "; ".join(diff[:5]) + ". Keep one setting per directory.")
        self.settings = reference

    def __len__(self) -> int:
        return len(self.experts)

    def __getitem__(self, i: int) -> TrajectoryFile:
        return self.experts[i]

    @property
    def num_epochs(self) -> int:
        return min(e.num_epochs for e in self.experts)

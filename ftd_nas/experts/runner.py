"""Train expert trajectories into a directory: resumable per epoch, shareable by many processes.

Layout of an expert directory:
  experts.json                   settings every expert here shares (checked on every run)
  expert_0003.safetensors        a finished expert: trajectory [epochs+1, P] + metadata
  expert_0004.partial/           an expert in progress: epoch_NNNN.safetensors snapshots + state.pt
  expert_0004.claim              which process is training it (see claims.py)
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

from ftd_nas.data import Dataset
from ftd_nas.errors import ConfigError
from ftd_nas.experts.claims import heartbeat, release, try_claim
from ftd_nas.experts.config import ExpertConfig
from ftd_nas.experts.storage import (ExpertDirectory, TrajectoryError, TrajectoryFile, diff_settings,
                                     expert_path, settings_of, write_trajectory)
from ftd_nas.io import atomic_path, write_json
from ftd_nas.models import ParamLayout, build_model
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.train import Trainer, evaluate

SETTINGS_FILE = "experts.json"


@dataclass
class ExpertOutcome:
    index: int
    seed: int
    status: str  # trained | resumed | done (found finished) | busy (another process has it)
    path: str
    train_acc: float | None = None
    test_acc: float | None = None
    seconds: float | None = None


def parse_shard(text: str | None) -> tuple[int, int]:
    """'i/n' -> (i, n); None -> torchrun's RANK/WORLD_SIZE when set, else (0, 1)."""
    if text is None:
        return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard takes i/n (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise ConfigError(f"--shard {text}: need 0 <= i < n")
    return i, n


def device_for_worker(name: str) -> torch.device:
    """Under torchrun, 'auto' means this worker's own GPU (LOCAL_RANK)."""
    if name == "auto" and "LOCAL_RANK" in os.environ and torch.cuda.is_available():
        return torch.device(f"cuda:{int(os.environ['LOCAL_RANK'])}")
    return resolve_device(name)


def _save_tensor(path: Path, tensor: torch.Tensor) -> None:
    with atomic_path(path) as tmp:
        save_file({"params": tensor.detach().to("cpu").contiguous()}, str(tmp))


class ExpertTrainer:
    """Trains the experts of one directory; `run()` skips finished ones and resumes unfinished ones."""

    def __init__(self, config: ExpertConfig, out: str | os.PathLike, *, device: str = "auto",
                 shard: tuple[int, int] = (0, 1), stale_after: float = 3600.0, dataset: Dataset | None = None,
                 epoch_hook: Callable[[int, int], None] | None = None):
        self.config, self.out, self.shard, self.stale_after = config, Path(out), shard, stale_after
        self.device = device_for_worker(device)
        self.dataset = dataset if dataset is not None else config.data.load(self.device)
        self.spec = config.model.for_data(self.dataset.channels, self.dataset.image_size, self.dataset.num_classes)
        self.epoch_hook = epoch_hook
        train = {k: v for k, v in asdict(config.train).items() if k not in ("seed", "progress")}
        if config.train.optimizer == "sgd":
            train["rho"] = train["alpha"] = None  # not used: recorded as such so SGD buffers never pass as GSAM
        # through JSON once, so comparisons with stored settings see the same types (lists, not tuples)
        self.settings = json.loads(json.dumps(
            {"model": self.spec.to_dict(), "dataset": self.dataset.fingerprint(), "train": train}))

    # ------------------------------------------------------------------ directory-level checks
    def _check_directory(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / SETTINGS_FILE
        if path.exists():
            stored = json.loads(path.read_text())["settings"]
            diff = diff_settings(stored, self.settings)
            if diff:
                raise ConfigError(f"{str(self.out)!r} already holds experts trained with other settings ("
                                  + "; ".join(f"{d} (stored vs requested)" for d in diff[:5])
                                  + "). Use another --out, or the same settings to add or resume experts.")
        else:
            write_json(path, {"settings": self.settings, "config": self.config.to_dict()})

    # ------------------------------------------------------------------ one expert
    def _meta(self, index: int, seed: int, trainer: Trainer, test: tuple[float, float]) -> dict:
        train = dict(self.settings["train"], seed=seed)
        return {"index": index, "seed": seed, "model": self.spec.to_dict(), "dataset": self.dataset.fingerprint(),
                "train": train, "optimizer": train["optimizer"], "rho": train["rho"], "alpha": train["alpha"],
                "lr": train["lr"], "epochs": train["epochs"], "history": trainer.history,
                "train_acc": trainer.history[-1]["train_acc"], "test_loss": test[0], "test_acc": test[1],
                "seconds": sum(trainer.epoch_seconds), "epoch_seconds": trainer.epoch_seconds,
                "environment": environment_info(self.device), "data_config": asdict(self.config.data),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    def train_one(self, index: int, claim: Path | None = None) -> ExpertOutcome:
        seed = self.config.train.seed + index
        cfg = replace(self.config.train, seed=seed)
        model = build_model(self.spec, seed=seed, device=self.device)
        layout = ParamLayout(model)
        trainer = Trainer(model, self.dataset.train, cfg)
        partial = self.out / f"expert_{index:04d}.partial"
        state_path = partial / "state.pt"
        status = "trained"
        if state_path.exists():
            state = torch.load(state_path, map_location="cpu", weights_only=True)
            epoch = int(state["epoch"])
            missing = [e for e in range(epoch + 1) if not (partial / f"epoch_{e:04d}.safetensors").exists()]
            if missing:
                raise TrajectoryError(f"{str(partial)!r} says epoch {epoch} is done but snapshots {missing} are "
                                      "missing; delete the folder to retrain this expert")
            layout.load_into(model, load_file(str(partial / f"epoch_{epoch:04d}.safetensors"))["params"])
            trainer.load_state_dict(state)
            status = "resumed"
        else:
            partial.mkdir(parents=True, exist_ok=True)
            _save_tensor(partial / "epoch_0000.safetensors", layout.flatten(model))

        def checkpoint(tr: Trainer, record: dict) -> None:
            _save_tensor(partial / f"epoch_{tr.epoch:04d}.safetensors", layout.flatten(model))
            with atomic_path(state_path) as tmp:
                torch.save(tr.state_dict(), tmp)
            if claim is not None:
                heartbeat(claim)
            if self.epoch_hook is not None:
                self.epoch_hook(index, tr.epoch)

        if trainer.epoch < cfg.epochs:
            trainer.fit(checkpoint, desc=f"expert {index}")
        snapshots = torch.stack([load_file(str(partial / f"epoch_{e:04d}.safetensors"))["params"]
                                 for e in range(cfg.epochs + 1)])
        test = evaluate(model, self.dataset.test)
        path = expert_path(self.out, index)
        write_trajectory(path, snapshots, self._meta(index, seed, trainer, test))
        shutil.rmtree(partial)
        return ExpertOutcome(index, seed, status, str(path), trainer.history[-1]["train_acc"], test[1],
                             sum(trainer.epoch_seconds))

    # ------------------------------------------------------------------ all experts of this shard
    def run(self) -> list[ExpertOutcome]:
        self._check_directory()
        outcomes = []
        rank, world = self.shard
        for index in range(rank, self.config.num_experts, world):
            seed = self.config.train.seed + index
            path = expert_path(self.out, index)
            if path.exists():
                outcomes.append(self._finished(index, seed, path))
                continue
            claim = self.out / f"expert_{index:04d}.claim"
            if not try_claim(claim, self.stale_after):
                outcomes.append(ExpertOutcome(index, seed, "busy", str(path)))
                continue
            try:
                if path.exists():  # finished by another process between our check and our claim
                    outcomes.append(self._finished(index, seed, path))
                else:
                    outcomes.append(self.train_one(index, claim))
            finally:
                release(claim)
        return outcomes

    def _finished(self, index: int, seed: int, path: Path) -> ExpertOutcome:
        traj = TrajectoryFile(path)
        leftover = self.out / f"expert_{index:04d}.partial"
        if leftover.exists():  # killed between writing the final file and removing its work folder
            shutil.rmtree(leftover, ignore_errors=True)
        diff = diff_settings(self.settings, settings_of(traj.meta))
        if diff:
            raise TrajectoryError(f"{str(path)!r} was trained with other settings: " + "; ".join(diff[:5]))
        return ExpertOutcome(index, seed, "done", str(path), traj.meta.get("train_acc"), traj.meta.get("test_acc"),
                             traj.meta.get("seconds"))


def train_experts(config: ExpertConfig, out: str | os.PathLike, **kwargs) -> list[ExpertOutcome]:
    """Train (or finish) `config.num_experts` experts into `out`; see `ExpertTrainer` for options.

    >>> from ftd_nas.experts import ExpertConfig, expert_train_config
    >>> from ftd_nas.models import ModelSpec
    >>> cfg = ExpertConfig(model=ModelSpec(width=8, depth=2), train=expert_train_config("gsam", epochs=2),
    ...                    num_experts=1)
    >>> import tempfile; [o.status for o in train_experts(cfg, tempfile.mkdtemp())]
    ['trained']
    """
    return ExpertTrainer(config, out, **kwargs).run()


def load_experts(directory: str | os.PathLike) -> ExpertDirectory:
    return ExpertDirectory(directory)

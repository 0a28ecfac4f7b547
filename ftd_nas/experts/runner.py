"""Train expert trajectories into a directory: resumable per epoch, shareable by many processes.

Layout of an expert directory:
  experts.json                   the settings every expert here shares, written by the first finished expert
  expert_0003.safetensors        a finished expert: trajectory [epochs+1, P] + its record
  expert_0004.partial/           an expert in progress: settings.json, epoch_NNNN.safetensors snapshots, state.pt
  expert_0004.claim              which process is training it (see ftd_nas/claims.py)

A folder's settings are fixed by its first finished expert: until then any settings are accepted (a failed
first run does not lock the folder), afterwards a run with other settings is refused, naming the differences.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

from ftd_nas.claims import claim_is_live, heartbeat, release, try_claim
from ftd_nas.data import Dataset
from ftd_nas.errors import ConfigError
from ftd_nas.experts.config import ExpertConfig
from ftd_nas.experts.records import ExpertFolderRecord, ExpertRecord
from ftd_nas.experts.storage import TrajectoryError, TrajectoryFile, expert_path, write_trajectory
from ftd_nas.io import atomic_path, create_json_once, load_checkpoint, write_json
from ftd_nas.models import ParamLayout, build_model
from ftd_nas.paths import inside
from ftd_nas.records import RecordError, diff_settings, format_diff
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.train import Trainer, evaluate

SETTINGS_FILE = "experts.json"
PARTIAL_SETTINGS = "settings.json"


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


def _load_snapshot(path: Path) -> torch.Tensor:
    try:
        return load_file(str(path))["params"]
    except Exception as exc:  # truncated by a full disk, or damaged
        raise TrajectoryError(f"the snapshot {str(path)!r} is unreadable ({type(exc).__name__}); delete its folder "
                              f"{str(path.parent)!r} to train that expert again") from None


def _read_settings(path: Path) -> tuple[dict, bool] | None:
    """(settings, legacy) from an experts.json or a partial's settings.json; None when absent."""
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
        return ExpertFolderRecord.read_v1(raw).settings(), "format" not in raw
    except (OSError, json.JSONDecodeError, RecordError) as exc:
        raise TrajectoryError(f"{str(path)!r} is unreadable ({exc}); delete it if no expert here is finished") from None


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
        self.folder = ExpertFolderRecord(model=self.spec, data=self.dataset.fingerprint(),
                                         train=replace(config.train, progress=None),
                                         created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self.settings = self.folder.settings()

    # ------------------------------------------------------------------ the folder's settings
    def _fixed_settings(self) -> dict | None:
        """The settings fixed by the folder's first finished expert; None while nothing is finished."""
        found = _read_settings(self.out / SETTINGS_FILE)
        finished = sorted(self.out.glob("expert_*.safetensors"))
        if found is not None and not (found[1] and not finished):  # v1 wrote it before anything finished
            return found[0]
        return TrajectoryFile(finished[0]).record.settings() if finished else None

    def _refuse_other(self, stored: dict, where: str) -> None:
        diff = diff_settings(stored, self.settings)
        if diff:
            raise ConfigError(f"{str(self.out)!r} {where} other settings ({format_diff(diff)}; folder vs "
                              "requested). Use another --out, or the same settings to add or resume experts.")

    def _check_directory(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        stored = self._fixed_settings()
        if stored is not None:
            self._refuse_other(stored, "already holds experts trained with")
        for partial in sorted(self.out.glob("expert_*.partial")):
            found = _read_settings(partial / PARTIAL_SETTINGS)
            claim = partial.with_suffix(".claim")
            if found is not None and claim_is_live(claim, self.stale_after):
                self._refuse_other(found[0], f"is being filled right now (by the claim {claim.name}) with")

    def _fix_settings(self) -> None:
        """Before the first expert is written: make our settings the folder's, or find they already are."""
        path = self.out / SETTINGS_FILE
        if create_json_once(path, self.folder.to_dict()):
            return
        stored = self._fixed_settings()
        if stored is None:  # a v1 experts.json with nothing finished: settings are not fixed yet
            write_json(path, self.folder.to_dict())
            return
        self._refuse_other(stored, "was meanwhile fixed by an expert trained with")

    # ------------------------------------------------------------------ one expert
    def _record(self, index: int, seed: int, trainer: Trainer, test: tuple[float, float],
                snapshots: torch.Tensor) -> ExpertRecord:
        return ExpertRecord(index=index, seed=seed, model=self.spec, data=self.folder.data,
                            train=replace(self.folder.train, seed=seed), num_snapshots=snapshots.shape[0],
                            num_params=snapshots.shape[1], history=trainer.history,
                            train_acc=trainer.history[-1]["train_acc"], test_loss=test[0], test_acc=test[1],
                            seconds=sum(trainer.epoch_seconds), epoch_seconds=trainer.epoch_seconds,
                            environment=environment_info(self.device), created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def _resumable(self, partial: Path) -> bool:
        """A partial expert left by a dead process continues only if it was trained with our settings."""
        found = _read_settings(partial / PARTIAL_SETTINGS)
        if found is None:  # a v1 partial: it follows the folder's settings file
            found = _read_settings(self.out / SETTINGS_FILE)
        return found is not None and not diff_settings(found[0], self.settings)

    def train_one(self, index: int, claim: Path | None = None) -> ExpertOutcome:
        seed = self.config.train.seed + index
        cfg = replace(self.config.train, seed=seed)
        model = build_model(self.spec, seed=seed, device=self.device)
        layout = ParamLayout(model)
        trainer = Trainer(model, self.dataset.train, cfg)
        # an unfinished expert's folder, resumed (perhaps received): its own, no link to elsewhere (`inside`)
        partial = inside(self.out, f"expert_{index:04d}.partial", "the unfinished expert's folder")
        state_path = inside(self.out, f"{partial.name}/state.pt", "the unfinished expert's state")
        status = "trained"
        if partial.exists() and not self._resumable(partial):  # unfinished work of other settings
            shutil.rmtree(partial)
        if state_path.exists():
            state = load_checkpoint(state_path, "epoch", "history", "optimizer", "order_gen", "aug_gen", "buffers")
            epoch = int(state["epoch"])
            missing = [e for e in range(epoch + 1) if not (partial / f"epoch_{e:04d}.safetensors").exists()]
            if missing:
                raise TrajectoryError(f"{str(partial)!r} says epoch {epoch} is done but snapshots {missing} are "
                                      "missing; delete the folder to retrain this expert")
            layout.load_into(model, _load_snapshot(partial / f"epoch_{epoch:04d}.safetensors"))
            trainer.load_state_dict(state)
            status = "resumed"
        else:
            partial.mkdir(parents=True, exist_ok=True)
            write_json(partial / PARTIAL_SETTINGS, self.folder.to_dict())
            _save_tensor(partial / "epoch_0000.safetensors", layout.flatten(model))

        def checkpoint(tr: Trainer, record: dict) -> None:
            _save_tensor(partial / f"epoch_{tr.epoch:04d}.safetensors", layout.flatten(model))
            with atomic_path(state_path) as tmp, open(tmp, "wb") as fh:
                torch.save(tr.state_dict(), fh)  # through a file object, so that a full disk's OSError reaches us
            if claim is not None:
                heartbeat(claim)
            if self.epoch_hook is not None:
                self.epoch_hook(index, tr.epoch)

        if trainer.epoch < cfg.epochs:
            trainer.fit(checkpoint, desc=f"expert {index}")
        snapshots = torch.stack([_load_snapshot(partial / f"epoch_{e:04d}.safetensors")
                                 for e in range(cfg.epochs + 1)])
        test = evaluate(model, self.dataset.test)
        path = expert_path(self.out, index)
        self._fix_settings()
        write_trajectory(path, snapshots, self._record(index, seed, trainer, test, snapshots))
        shutil.rmtree(partial, ignore_errors=True)  # the expert is written; a leftover is cleaned up by a later run
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
            claim = self.out / f"expert_{index:04d}.claim"
            if path.exists():
                outcomes.append(self._finished(index, seed, path, clean=not claim_is_live(claim, self.stale_after)))
                continue
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

    def _finished(self, index: int, seed: int, path: Path, clean: bool = True) -> ExpertOutcome:
        """A finished expert; `clean` removes its work folder, left when its process was killed between writing
        the expert and removing the folder (never while its process may still be removing it: both would fail)."""
        record = TrajectoryFile(path).record
        leftover = self.out / f"expert_{index:04d}.partial"
        if clean and leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)
        diff = diff_settings(record.settings(), self.settings)
        if diff:
            raise TrajectoryError(f"{str(path)!r} was trained with other settings: {format_diff(diff)}")
        return ExpertOutcome(index, seed, "done", str(path), record.train_acc, record.test_acc, record.seconds)


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


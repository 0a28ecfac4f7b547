"""The records of an experts folder: one per trajectory file, and the folder's settings (experts.json).

Every expert of a folder shares its settings (`expert_settings`): the network, the data fingerprint and the
training recipe, everything but the expert's own seed. The folder's settings are fixed by its first
finished expert, which also writes experts.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftd_nas.data.fingerprint import DataFingerprint, upgrade_v1_fingerprint
from ftd_nas.models import ModelSpec
from ftd_nas.records import Record
from ftd_nas.train import TrainConfig

GSAM_ONLY = ("rho", "alpha")


def expert_settings(model: ModelSpec, data: DataFingerprint, train: TrainConfig) -> dict:
    """What every expert of one folder must share: all but the seed and how the run was carried out."""
    skip = {"seed", *TrainConfig.NOT_SETTINGS, *(GSAM_ONLY if train.optimizer == "sgd" else ())}
    return {"model": model.to_dict(), "data": data.settings(),
            "train": {k: v for k, v in train.to_dict().items() if k not in skip}}


def _upgrade_train_v1(train: dict, seed: int) -> dict:
    """v1 stored SGD experts' rho and alpha as None and the seed beside the recipe."""
    defaults = TrainConfig()
    out = {k: v for k, v in train.items() if k != "progress"}
    out["rho"] = defaults.rho if out.get("rho") is None else out["rho"]
    out["alpha"] = defaults.alpha if out.get("alpha") is None else out["alpha"]
    out.setdefault("seed", seed)
    return out


def _expert_v1_to_v2(old: dict) -> dict:
    return {"index": old["index"], "seed": old["seed"], "model": old["model"],
            "data": upgrade_v1_fingerprint(old["dataset"]), "train": _upgrade_train_v1(old["train"], old["seed"]),
            "num_snapshots": old["num_snapshots"], "num_params": old["num_params"], "history": old["history"],
            "train_acc": old.get("train_acc"), "test_loss": old.get("test_loss"), "test_acc": old.get("test_acc"),
            "seconds": old.get("seconds", 0.0), "epoch_seconds": old.get("epoch_seconds", []),
            "environment": old.get("environment", {}), "created": old.get("created", "")}


@dataclass(frozen=True)
class ExpertRecord(Record):
    """The metadata of one trajectory file (`expert_NNNN.safetensors`)."""

    FORMAT = "ftd-nas-trajectory"
    UPGRADES = {1: _expert_v1_to_v2}

    index: int
    seed: int
    model: ModelSpec
    data: DataFingerprint
    train: TrainConfig  # with this expert's seed
    num_snapshots: int  # epochs + 1: the initialisation and every epoch
    num_params: int
    history: list[dict] = field(default_factory=list)
    train_acc: float | None = None
    test_loss: float | None = None
    test_acc: float | None = None
    seconds: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)
    environment: dict = field(default_factory=dict)
    created: str = ""

    def settings(self) -> dict:
        return expert_settings(self.model, self.data, self.train)


def _folder_v1_to_v2(old: dict) -> dict:
    settings = old["settings"]
    return {"model": settings["model"], "data": upgrade_v1_fingerprint(settings["dataset"]),
            "train": _upgrade_train_v1(settings["train"], old.get("config", {}).get("train", {}).get("seed", 0))}


@dataclass(frozen=True)
class ExpertFolderRecord(Record):
    """experts.json: the settings every expert of the folder shares, fixed by its first finished expert."""

    FORMAT = "ftd-nas-experts"
    UPGRADES = {1: _folder_v1_to_v2}

    model: ModelSpec
    data: DataFingerprint
    train: TrainConfig  # the base seed: expert i uses seed + i
    created: str = ""

    def settings(self) -> dict:
        return expert_settings(self.model, self.data, self.train)

    @classmethod
    def read_v1(cls, data: dict) -> "ExpertFolderRecord":
        """v1 experts.json files had no format keys: give them theirs before reading."""
        if isinstance(data, dict) and "format" not in data and "settings" in data:
            data = {"format": cls.FORMAT, "format_version": 1, **data}
        return cls.from_dict(data, "experts.json")

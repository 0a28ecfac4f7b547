"""How each candidate is trained and what it is trained on (the proxy, the real data, or a random subset)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ftd_nas.augment import DEFAULT_STRATEGY
from ftd_nas.data import DataConfig, Dataset, Split
from ftd_nas.errors import ConfigError
from ftd_nas.evaluation import random_subset
from ftd_nas.proxy import Proxy
from ftd_nas.train import TrainConfig


@dataclass
class SearchRecipe:
    """The paper's candidate training: 200 epochs, lr from the proxy, momentum 0.9, weight decay 5e-4, DSA."""

    epochs: int = 200
    lr: float | None = None  # None: the proxy's learned syn_lr (0.01 on real data or a random subset)
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    dsa: str | None = DEFAULT_STRATEGY
    seed: int = 0

    def train_config(self, lr: float) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, lr=lr, momentum=self.momentum, weight_decay=self.weight_decay,
                           batch_size=self.batch_size, dsa=self.dsa, seed=self.seed, progress=False,
                           sync_every=max(1, self.epochs // 10))  # ten host reads per candidate


@dataclass
class TrainingSource:
    """What candidates train on, with an identity that says so in the study."""

    kind: str  # real | random | proxy
    split: Split
    default_lr: float
    identity: dict


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def data_config_for(proxy_arg: str, dataset: str | None, data_root: str = "data", zca: bool = False,
                    val_fraction: float = 0.1, split_seed: int = 0) -> DataConfig:
    """The real data a search scores on: the proxy's own for a proxy file, else --dataset."""
    if proxy_arg in ("real",) or proxy_arg.startswith("random:"):
        if dataset is None:
            raise ConfigError(f"--proxy {proxy_arg} trains on real data: say which with --dataset")
        return DataConfig(dataset, data_root=data_root, zca=zca, val_fraction=val_fraction, split_seed=split_seed)
    data = DataConfig(**Proxy.load(proxy_arg).meta["data_config"])
    if dataset is not None and dataset != data.name:
        raise ConfigError(f"--dataset {dataset} but the proxy {proxy_arg!r} was distilled from {data.name}")
    return data


def training_source(proxy_arg: str, dataset: Dataset, seed: int = 0) -> TrainingSource:
    """`real`, `random:K` (K real images per class) or a proxy file."""
    if proxy_arg == "real":
        return TrainingSource("real", dataset.train, 0.01, {"kind": "real"})
    if proxy_arg.startswith("random:"):
        try:
            ipc = int(proxy_arg.split(":", 1)[1])
        except ValueError:
            raise ConfigError(f"--proxy random:K needs an integer K, got {proxy_arg!r}") from None
        return TrainingSource("random", random_subset(dataset, ipc, seed), 0.01,
                              {"kind": "random", "ipc": ipc, "seed": seed})
    path = Path(proxy_arg)
    proxy = Proxy.load(path)
    proxy.check_dataset(dataset)
    return TrainingSource("proxy", proxy.split(dataset.train.x.device), proxy.syn_lr,
                          {"kind": "proxy", "method": proxy.meta["method"], "ipc": proxy.ipc,
                           "iterations": proxy.meta["iterations"], "sha256": _file_digest(path), "file": str(path)})


def recipe_dict(recipe: SearchRecipe) -> dict:
    return asdict(recipe)

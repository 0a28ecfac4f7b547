"""How each candidate is trained and what it is trained on (the proxy, the real data, or a random subset), or,
for a training-free proxy (`zc:NAME`), which scorer ranks it instead."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ftd_nas.checks import check_seed
from ftd_nas.data import DataConfig, Dataset, Split
from ftd_nas.data.for_file import real_data_for
from ftd_nas.data.normalization import AUTO
from ftd_nas.errors import ConfigError
from ftd_nas.evaluation import random_subset
from ftd_nas.proxy import Proxy
from ftd_nas.search.results import ZC
from ftd_nas.train import ProxyTraining, TrainConfig
from ftd_nas.zero_cost import ZeroCostConfig, zero_cost_config


@dataclass
class SearchRecipe(ProxyTraining):
    """The paper's candidate training: 200 epochs, lr from the proxy, momentum 0.9, weight decay 5e-4, DSA."""

    epochs: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_seed("--seed", self.seed)

    def candidate_config(self, lr: float) -> TrainConfig:
        return self.train_config(lr, self.seed, progress=False,
                                 sync_every=max(1, self.epochs // 10))  # ten host reads per candidate


@dataclass
class TrainingSource:
    """What candidates train on (or, for a training-free source, the real training split its minibatches are
    drawn from and the scorer), with an identity that says so in the study."""

    kind: str  # real | random | proxy | zc
    split: Split
    default_lr: float | None  # None: nothing is trained (zc)
    identity: dict
    label: str  # part of the default study name
    creation_seconds: float | None = None  # what making the proxy cost (distillation or selection)
    scorer: ZeroCostConfig | None = None  # zc: the training-free scorer and its choices

    @property
    def images(self) -> int:
        """Real images a candidate learns from: the split it trains on, or the scorer's minibatch (0 when the
        scorer reads no data)."""
        if self.scorer is not None:
            return self.scorer.batch_size if self.scorer.input == "real" else 0
        return len(self.split)


def parse_source(proxy_arg: str) -> tuple[str, int | None]:
    """'real' -> ('real', None); 'random:K' -> ('random', K); 'zc:NAME' -> ('zc', None) for a scorer of the
    registry (`ftd_nas.zero_cost`); anything else is a proxy file path."""
    if proxy_arg == "real":
        return "real", None
    if proxy_arg.startswith(f"{ZC}:"):
        source_scorer(proxy_arg)  # an unknown name is refused here, with the known ones
        return ZC, None
    if proxy_arg.startswith("random:"):
        text = proxy_arg.split(":", 1)[1]
        if not text.isdigit() or int(text) < 1:
            raise ConfigError(f"--proxy random:K needs a whole number K >= 1 of images per class, got {proxy_arg!r}")
        return "random", int(text)
    return "proxy", None


def source_scorer(proxy_arg: str) -> ZeroCostConfig:
    """The registry's configuration of the scorer `zc:NAME` names."""
    return zero_cost_config(proxy_arg.split(":", 1)[1])


def source_proxy(proxy_arg: str) -> Proxy | None:
    """The proxy file a search trains on, loaded once (None for real / random:K / zc:NAME)."""
    return Proxy.load(Path(proxy_arg)) if parse_source(proxy_arg)[0] == "proxy" else None


def search_data(proxy_arg: str, proxy: Proxy | None, dataset: str | None, data_root: str = "data", zca: bool = False,
                val_fraction: float = 0.1, split_seed: int = 0, device: torch.device | str = "cpu",
                normalize: str = AUTO) -> Dataset:
    """The real data a search scores on: always named by the caller; a proxy file (`proxy`, loaded from
    `proxy_arg`) fixes its preprocessing and is checked against it."""
    if proxy is not None:
        return real_data_for(proxy, dataset, data_root, device, what=f"the proxy {proxy_arg!r}")
    if dataset is None:
        raise ConfigError(f"--proxy {proxy_arg} uses the real data: say which with --dataset")
    return DataConfig(dataset, data_root=data_root, zca=zca, val_fraction=val_fraction,
                      split_seed=split_seed, normalize=normalize).load(device)


def training_source(proxy_arg: str, dataset: Dataset, seed: int = 0, proxy: Proxy | None = None) -> TrainingSource:
    """`real`, `random:K` (K real images per class), `zc:NAME` (a training-free scorer, identified by its whole
    configuration; it draws its minibatches from the real training split) or a proxy file (identified by its
    tensors and settings; `proxy`: the file already loaded)."""
    kind, ipc = parse_source(proxy_arg)
    if kind == "real":
        return TrainingSource("real", dataset.train, 0.01, {"kind": "real"}, "real")
    if kind == ZC:
        scorer = source_scorer(proxy_arg)
        return TrainingSource(ZC, dataset.train, None, {"kind": ZC, **scorer.to_dict()}, f"zc-{scorer.scorer}",
                              scorer=scorer)
    if kind == "random":
        return TrainingSource("random", random_subset(dataset, ipc, seed), 0.01,
                              {"kind": "random", "ipc": ipc, "seed": seed}, f"random{ipc}-seed{seed}")
    proxy = proxy if proxy is not None else Proxy.load(Path(proxy_arg))
    proxy.check_dataset(dataset)
    digest = proxy.digest()
    method, iterations = proxy.record.method, proxy.record.iterations
    return TrainingSource("proxy", proxy.split(dataset.train.x.device), proxy.syn_lr,
                          {"kind": "proxy", "method": method, "ipc": proxy.ipc, "iterations": iterations,
                           "digest": digest}, f"proxy-{method}-ipc{proxy.ipc}-{digest[:16]}", proxy.record.seconds)

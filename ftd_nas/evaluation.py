"""Honest accuracy of a proxy: fresh networks trained on it, selected on validation, tested once.

The protocol of DESIGN.md section 2: for each architecture and run, a freshly initialised network is
trained on the proxy images (lr = the proxy's learned syn_lr, momentum 0.9, weight decay 5e-4, lr x0.1 at
the midpoint, batch 256, DSA); the weights with the best validation accuracy are kept and evaluated on the
test split once. The reference code's habit of reporting the best test accuracy seen is not repeated.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field, replace

import torch

from ftd_nas.augment import DEFAULT_STRATEGY
from ftd_nas.data import Dataset, Split
from ftd_nas.errors import ConfigError
from ftd_nas.models import ARCHITECTURES, ModelSpec, build_model
from ftd_nas.train import TrainConfig, evaluate, train


@dataclass
class EvalConfig:
    models: list[str] = field(default_factory=lambda: ["convnet"])
    runs: int = 5
    epochs: int = 1000
    lr: float | None = None  # None: the proxy's learned syn_lr
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    dsa: str | None = DEFAULT_STRATEGY
    eval_every: int | None = None  # validation interval for model selection; None: epochs // 20
    seed: int = 0
    progress: bool | None = None

    def train_config(self, lr: float, run: int) -> TrainConfig:
        every = self.eval_every or max(1, self.epochs // 20)
        return TrainConfig(epochs=self.epochs, lr=lr, momentum=self.momentum, weight_decay=self.weight_decay,
                           batch_size=self.batch_size, dsa=self.dsa, seed=self.seed + run,
                           eval_every=every, restore_best=True, sync_every=every, progress=self.progress)


def _spec_for(arch: str, base: ModelSpec) -> ModelSpec:
    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown model {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    if arch == base.arch:
        return base
    return replace(ModelSpec(arch=arch), channels=base.channels, image_size=base.image_size,
                   num_classes=base.num_classes)


def evaluate_images(images: Split, dataset: Dataset, lr: float, base: ModelSpec, config: EvalConfig) -> dict:
    """Train fresh networks on `images`; per architecture, test (and validation) accuracy over runs."""
    results = {}
    for arch in config.models:
        spec = _spec_for(arch, base)
        tests, vals, seconds = [], [], []
        for run in range(config.runs):
            net = build_model(spec, seed=config.seed + 10_000 + run, device=images.x.device)
            result = train(net, images, config.train_config(lr, run), val=dataset.val)
            tests.append(evaluate(net, dataset.test)[1])
            vals.append(result.val_acc)
            seconds.append(result.seconds)
        results[arch] = {"test_acc": tests, "val_acc": vals, "test_mean": statistics.mean(tests),
                         "test_std": statistics.stdev(tests) if len(tests) > 1 else 0.0,
                         "val_mean": statistics.mean(vals), "seconds_per_run": statistics.mean(seconds),
                         "model": spec.to_dict()}
    return results


def sample_per_class(dataset: Dataset, ipc: int, gen: torch.Generator, hint: str = "") -> Split:
    """`ipc` random training images of each class, in class order, drawn from `gen`."""
    rows = []
    for c in range(dataset.num_classes):
        idx = (dataset.train.y == c).nonzero().flatten().cpu()
        if len(idx) < ipc:
            raise ConfigError(f"class {dataset.classes[c]!r} has only {len(idx)} training images (< {ipc}){hint}")
        rows.append(idx[torch.randperm(len(idx), generator=gen)[:ipc]])
    idx = torch.cat(rows).to(dataset.train.x.device)
    return Split(dataset.train.x[idx], dataset.train.y[idx])


def random_subset(dataset: Dataset, ipc: int, seed: int = 0) -> Split:
    """`ipc` random real training images per class (the baseline every proxy must beat)."""
    return sample_per_class(dataset, ipc, torch.Generator().manual_seed(seed))


def evaluation_record(kind: str, results: dict, config: EvalConfig, lr: float, started: float, **extra) -> dict:
    return {"kind": kind, "lr": lr, "results": results, "config": asdict(config),
            "seconds": time.perf_counter() - started, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}


SETS = ("proxy", "raw", "random")


def evaluate_proxy(proxy, config: EvalConfig, *, sets: tuple[str, ...] = ("proxy",), dataset: Dataset | None = None,
                   device: torch.device | str = "cpu", baseline_lr: float = 0.01) -> dict:
    """Evaluate a `Proxy` (its images, FTD's raw non-EMA images, and/or a random real subset of equal size)."""
    from ftd_nas.data import DataConfig

    unknown = set(sets) - set(SETS)
    if unknown:
        raise ConfigError(f"unknown evaluation sets {sorted(unknown)}; choose from {', '.join(SETS)}")
    started = time.perf_counter()
    if dataset is None:
        dataset = DataConfig(**proxy.meta["data_config"]).load(device)
    proxy.check_dataset(dataset)
    base = ModelSpec.from_dict(proxy.meta["model"])
    lr = config.lr if config.lr is not None else proxy.syn_lr
    record = {"proxy": str(proxy.path) if proxy.path else None, "method": proxy.meta["method"], "ipc": proxy.ipc,
              "iterations": proxy.meta["iterations"], "sets": {}}
    for name in sets:
        if name == "random":
            images, set_lr = random_subset(dataset, proxy.ipc, seed=config.seed), config.lr or baseline_lr
        else:
            images, set_lr = proxy.split(device, raw=name == "raw"), lr
        set_started = time.perf_counter()
        results = evaluate_images(images, dataset, set_lr, base, config)
        record["sets"][name] = evaluation_record(name, results, config, set_lr, set_started)
    record["seconds"] = time.perf_counter() - started
    return record

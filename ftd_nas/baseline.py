"""Whole-dataset baseline: one network trained on the real training split, the yardstick for every proxy."""

from __future__ import annotations

import time

from ftd_nas.data import DataConfig
from ftd_nas.models import ModelSpec, build_model, count_params
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.train import TrainConfig, evaluate, train


def train_baseline(data: DataConfig, model: ModelSpec, config: TrainConfig, device: str = "auto") -> dict:
    """Train `model` on `data`'s training split; return the run record (accuracies, history, config, versions).

    >>> record = train_baseline(DataConfig("digits"), ModelSpec(width=8, depth=2), TrainConfig(epochs=1))
    >>> 0.0 <= record["test_acc"] <= 1.0
    True
    """
    started = time.perf_counter()
    dev = resolve_device(device)
    dataset = data.load(dev)
    loaded = time.perf_counter()
    spec = model.for_data(dataset.channels, dataset.image_size, dataset.num_classes)
    net = build_model(spec, seed=config.seed, device=dev)
    result = train(net, dataset.train, config, val=dataset.val)
    test_loss, test_acc = evaluate(net, dataset.test)
    return {
        "test_acc": test_acc, "test_loss": test_loss, "val_acc": result.val_acc, "best_epoch": result.best_epoch,
        "train_acc": result.train_acc, "train_loss": result.train_loss, "num_params": count_params(net),
        "seed": config.seed, "history": result.history,
        "config": {"data": data.to_dict(), "model": spec.to_dict(), "train": config.to_dict(), "device": str(dev)},
        "dataset": dataset.fingerprint().to_dict(), "environment": environment_info(dev),
        "timings": {"load_s": loaded - started, "train_s": result.seconds, "total_s": time.perf_counter() - started},
    }

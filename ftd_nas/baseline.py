"""Whole-dataset baseline: one network trained on the real training split, the yardstick for every proxy."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ftd_nas.data import DataConfig
from ftd_nas.errors import ConfigError
from ftd_nas.models import ModelSpec, count_params
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.train import TrainConfig, evaluate, train

if TYPE_CHECKING:
    from ftd_nas.search.architecture import ArchitectureRecord


def _architecture(model, dataset) -> "ArchitectureRecord":
    from ftd_nas.search.architecture import ArchitectureRecord

    shape = (dataset.channels, tuple(dataset.image_size), dataset.num_classes)
    if isinstance(model, ModelSpec):
        spec = model.for_data(*shape)
        params = {k: v for k, v in spec.to_dict().items() if k not in ("arch", "channels", "image_size", "num_classes")}
        return ArchitectureRecord(model=spec.arch, params=params, channels=shape[0], image_size=shape[1],
                                  num_classes=shape[2])
    if (model.channels, tuple(model.image_size), model.num_classes) != shape:
        raise ConfigError(f"the architecture is built for {model.channels}x{model.image_size[0]}x{model.image_size[1]} "
                          f"images of {model.num_classes} classes, but {dataset.name} has {shape[0]}x{shape[1][0]}x"
                          f"{shape[1][1]} of {shape[2]}: train it on the data it was chosen for")
    return model


def train_baseline(data: DataConfig, model: "ModelSpec | ArchitectureRecord", config: TrainConfig,
                   device: str = "auto", save: str | None = None, trust_factory: bool = False) -> dict:
    """Train `model` (a spec, or a chosen architecture such as verify's pick.json) on `data`'s training split;
    return the run record (accuracies, history, config, versions); with `save`, write the trained weights there
    (safetensors, with the architecture, data fingerprint and accuracies beside them).

    >>> record = train_baseline(DataConfig("digits"), ModelSpec(width=8, depth=2), TrainConfig(epochs=1))
    >>> 0.0 <= record["test_acc"] <= 1.0
    True
    """
    from ftd_nas.search.architecture import WeightsRecord, save_weights

    started = time.perf_counter()
    dev = resolve_device(device)
    dataset = data.load(dev)
    loaded = time.perf_counter()
    architecture = _architecture(model, dataset)
    net = architecture.build(seed=config.seed, trust_factory=trust_factory).to(dev)
    result = train(net, dataset.train, config, val=dataset.val)
    test_loss, test_acc = evaluate(net, dataset.test)
    if save is not None:
        save_weights(save, net, WeightsRecord(architecture=architecture, data=dataset.fingerprint(),
                                              train=config.to_dict(), val_acc=result.val_acc, test_acc=test_acc,
                                              environment=environment_info(dev),
                                              created=time.strftime("%Y-%m-%dT%H:%M:%S%z")))
    return {
        "test_acc": test_acc, "test_loss": test_loss, "val_acc": result.val_acc, "best_epoch": result.best_epoch,
        "train_acc": result.train_acc, "train_loss": result.train_loss, "num_params": count_params(net),
        "seed": config.seed, "history": result.history,
        "config": {"data": data.to_dict(), "model": architecture.to_dict(), "train": config.to_dict(),
                   "device": str(dev)},
        "dataset": dataset.fingerprint().to_dict(), "environment": environment_info(dev),
        "timings": {"load_s": loaded - started, "train_s": result.seconds, "total_s": time.perf_counter() - started},
        "weights": save,
    }

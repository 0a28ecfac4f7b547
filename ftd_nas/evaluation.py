"""Honest accuracy of a proxy: fresh networks trained on it, selected on validation, tested once.

The protocol of the papers' evaluation: for each architecture and run, a freshly initialised network is
trained on the proxy images (lr = the proxy's learned syn_lr, momentum 0.9, weight decay 5e-4, lr x0.1 at
the midpoint, batch 256, DSA); the weights with the best validation accuracy are kept and evaluated on the
test split once. The reference code's habit of reporting the best test accuracy seen is not repeated.

Each evaluation is its own file, `PROXY.evals/<time>-<token>.json` (an `EvaluationRecord`), written
atomically: the proxy file is never rewritten, and concurrent evaluations never lose each other's results.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath

import torch

from ftd_nas.checks import check_number, check_seed
from ftd_nas.data import Dataset, Split
from ftd_nas.data.fingerprint import DataFingerprint
from ftd_nas.errors import ConfigError
from ftd_nas.io import write_json
from ftd_nas.models import ARCHITECTURES, ModelSpec, build_model
from ftd_nas.paths import inside
from ftd_nas.records import RUNTIME_ONLY, Record, RecordError
from ftd_nas.runtime import environment_info
from ftd_nas.fused import check_fuse, train_runs
from ftd_nas.train import ProxyTraining, evaluate

log = logging.getLogger(__name__)


@dataclass
class EvalConfig(ProxyTraining):
    models: list[str] = field(default_factory=lambda: ["convnet"])
    runs: int = 5
    eval_every: int | None = None  # validation interval for model selection; None: epochs // 20
    seed: int = 0
    fuse: str = "auto"  # train the runs of one architecture as one computation: auto | on | off (ftd_nas/fused.py)
    progress: bool | None = field(default=None, metadata=RUNTIME_ONLY)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fuse(self.fuse)
        check_number("--runs", self.runs, 1, integer=True)
        check_seed("--seed", self.seed)
        if self.eval_every is not None:
            check_number("--eval-every", self.eval_every, 1, integer=True)
        if not self.models:
            raise ConfigError("--models needs at least one architecture")
        unknown = [m for m in self.models if m not in ARCHITECTURES]
        if unknown:
            raise ConfigError(f"unknown model {unknown[0]!r}; choose from {', '.join(ARCHITECTURES)}")

    def run_config(self, lr: float, run: int):
        every = self.eval_every or max(1, self.epochs // 20)
        return self.train_config(lr, self.seed + run, eval_every=every, restore_best=True, sync_every=every,
                                 progress=self.progress)


def _spec_for(arch: str, base: ModelSpec) -> ModelSpec:
    if arch == base.arch:
        return base
    return replace(ModelSpec(arch=arch), channels=base.channels, image_size=base.image_size,
                   num_classes=base.num_classes)


def evaluate_images(images: Split, dataset: Dataset, lr: float, base: ModelSpec, config: EvalConfig) -> dict:
    """Train fresh networks on `images`; per architecture, test (and validation) accuracy over runs."""
    results = {}
    for arch in config.models:
        spec = _spec_for(arch, base)
        nets = [build_model(spec, seed=config.seed + 10_000 + run, device=images.x.device)
                for run in range(config.runs)]
        configs = [config.run_config(lr, run) for run in range(config.runs)]
        trained, fused = train_runs(nets, images, configs, val=dataset.val, fuse=config.fuse)
        tests = [evaluate(net, dataset.test)[1] for net in nets]
        vals = [result.val_acc for result in trained]
        results[arch] = {"test_acc": tests, "val_acc": vals, "test_mean": statistics.mean(tests),
                         "test_std": statistics.stdev(tests) if len(tests) > 1 else 0.0,
                         "val_mean": statistics.mean(vals),
                         "seconds_per_run": statistics.mean(result.seconds for result in trained),
                         "fused": fused, "model": spec.to_dict()}
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


def _evaluation_v1_to_v2(old: dict) -> dict:
    """v1 kept evaluations inside the proxy file, without the data fingerprint or environment."""
    first = next(iter(old.get("sets", {}).values()), {})
    config = {k: v for k, v in first.get("config", {}).items() if k != "progress"} or None
    return {"proxy": PurePath(str(old.get("proxy") or "")).name, "proxy_digest": old["proxy_digest"],
            "method": old["method"], "ipc": old["ipc"], "iterations": old["iterations"], "data": None,
            "config": config, "sets": old.get("sets", {}), "seconds": old.get("seconds", 0.0),
            "created": first.get("created", "")}


@dataclass(frozen=True)
class EvaluationRecord(Record):
    """One evaluation of one proxy: a file of its own in `PROXY.evals/`."""

    FORMAT = "ftd-nas-evaluation"
    UPGRADES = {1: _evaluation_v1_to_v2}

    proxy: str  # the proxy file's name when it was evaluated (display only)
    proxy_digest: str  # which proxy: `Proxy.digest()`, its tensors and settings
    method: str
    ipc: int
    iterations: int
    data: DataFingerprint | None  # the real data it was scored on (None: kept inside a v1 proxy file)
    config: EvalConfig | None
    sets: dict[str, dict]  # proxy | raw | random -> lr, per-architecture results, seconds
    seconds: float = 0.0
    environment: dict = field(default_factory=dict)
    created: str = ""


SETS = ("proxy", "raw", "random")


def evaluate_proxy(proxy, config: EvalConfig, dataset: Dataset, *, sets: tuple[str, ...] = ("proxy",),
                   device: torch.device | str = "cpu", baseline_lr: float = 0.01) -> EvaluationRecord:
    """Evaluate a `Proxy` (its images, FTD's raw non-EMA images, and/or a random real subset of equal size)
    on `dataset`, which must be the data the proxy was distilled from (checked by fingerprint)."""
    unknown = set(sets) - set(SETS)
    if unknown:
        raise ConfigError(f"unknown evaluation sets {sorted(unknown)}; choose from {', '.join(SETS)}")
    started = time.perf_counter()
    proxy.check_dataset(dataset)
    base = proxy.record.model
    lr = config.lr if config.lr is not None else proxy.syn_lr
    results = {}
    for name in sets:
        if name == "random":
            images, set_lr = random_subset(dataset, proxy.ipc, seed=config.seed), config.lr or baseline_lr
        else:
            images, set_lr = proxy.split(device, raw=name == "raw"), lr
        set_started = time.perf_counter()
        results[name] = {"lr": set_lr, "results": evaluate_images(images, dataset, set_lr, base, config),
                         "seconds": time.perf_counter() - set_started}
    return EvaluationRecord(proxy=proxy.path.name if proxy.path else "", proxy_digest=proxy.digest(),
                            method=proxy.record.method, ipc=proxy.ipc, iterations=proxy.record.iterations,
                            data=dataset.fingerprint(), config=config, sets=results,
                            seconds=time.perf_counter() - started, environment=environment_info(torch.device(device)),
                            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))


def evaluations_dir(proxy_path: str | os.PathLike) -> Path:
    """PROXY.evals/ beside the proxy, checked not to be a symbolic link (`inside`): evaluations are written there."""
    path = Path(proxy_path)
    return inside(path.parent, path.name + ".evals", "the evaluations folder of the proxy",
                  "replace the link by a folder of its own (or remove it), or copy the proxy elsewhere")


def save_evaluation(record: EvaluationRecord, proxy_path: str | os.PathLike) -> Path:
    """Write the evaluation as a new file beside the proxy (unique name, atomic): concurrent runs all keep theirs."""
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(4)}.json"
    path = evaluations_dir(proxy_path) / name
    write_json(path, record.to_dict())
    return path


def load_evaluations(proxy) -> list[EvaluationRecord]:
    """Every evaluation of this proxy: the files beside it that name its digest, plus those kept inside a v1 file.

    A file of another proxy that once lay at this path (replaced with --overwrite) names another digest and
    is left out; an unreadable file is reported in the log and skipped.
    """
    digest, found = proxy.digest(), []
    for legacy in proxy.legacy_evaluations:
        found.append(EvaluationRecord.from_dict({"format": EvaluationRecord.FORMAT, "format_version": 1, **legacy,
                                                 "proxy_digest": digest}))
    folder = evaluations_dir(proxy.path) if proxy.path else None
    for path in sorted(folder.glob("*.json")) if folder and folder.is_dir() else []:
        inside(folder, path.name, "the evaluation file", "replace the link by the file itself, or remove it")
        try:
            record = EvaluationRecord.from_dict(json.loads(path.read_text()), repr(str(path)))
        except (OSError, ValueError, RecordError) as exc:
            log.warning("skipping unreadable evaluation %s: %s", path, exc)
            continue
        if record.proxy_digest == digest:
            found.append(record)
    return found

"""Coreset proxies: K real training images per class, chosen at random, by herding or by k-center greedy.

Herding and k-center work on embeddings (the features before the classifier) of a network trained on the real
training split, as the coreset baselines of the dataset-distillation literature (DC-BENCH, the DC papers):

  herding   per class, greedily add the image whose embedding brings the running mean of the selection
            closest to the class mean (Welling 2009)
  kcenter   per class, start from the image nearest the class mean, then repeatedly add the image farthest
            from its nearest selected one (Sener & Savarese 2018), so every image lies close to the selection

The result is an ordinary proxy file (method random | herding | kcenter), usable everywhere a proxy is.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ftd_nas.data import Dataset
from ftd_nas.errors import ConfigError
from ftd_nas.models import build_model
from ftd_nas.models.families import require_embedding
from ftd_nas.origins import SelectConfig
from ftd_nas.proxy import Proxy, ProxyRecord
from ftd_nas.proxy_methods import SELECTED, lookup
from ftd_nas.runtime import environment_info
from ftd_nas.train import TrainConfig, train


# Every selector takes (embeddings, k, gen) so its registry entry is all that names it; the greedy ones are
# deterministic and ignore `gen`.
def herding(embeddings: torch.Tensor, k: int, gen: torch.Generator | None = None) -> list[int]:
    """Indices of k rows whose running mean tracks the mean of all rows, greedily."""
    target = embeddings.mean(0)
    chosen: list[int] = []
    total = torch.zeros_like(target)
    available = torch.ones(len(embeddings), dtype=torch.bool)
    for t in range(min(k, len(embeddings))):
        gaps = ((total + embeddings) / (t + 1) - target).norm(dim=1)
        gaps[~available] = float("inf")
        best = int(gaps.argmin())
        chosen.append(best)
        total += embeddings[best]
        available[best] = False
    return chosen


def kcenter(embeddings: torch.Tensor, k: int, gen: torch.Generator | None = None) -> list[int]:
    """Indices of k rows chosen by k-center greedy, starting from the row nearest the mean."""
    first = int((embeddings - embeddings.mean(0)).norm(dim=1).argmin())
    chosen = [first]
    nearest = (embeddings - embeddings[first]).norm(dim=1)  # distance of every row to its nearest chosen one
    for _ in range(min(k, len(embeddings)) - 1):
        best = int(nearest.argmax())
        chosen.append(best)
        nearest = torch.minimum(nearest, (embeddings - embeddings[best]).norm(dim=1))
    return chosen


def random_subset(embeddings: torch.Tensor, k: int, gen: torch.Generator) -> list[int]:
    return torch.randperm(len(embeddings), generator=gen)[:k].tolist()


@torch.no_grad()
def _embed(net, x: torch.Tensor, batch: int = 1024) -> torch.Tensor:
    net.eval()
    return torch.cat([net.embed(x[i:i + batch]) for i in range(0, len(x), batch)]).cpu()


def select_coreset(config: SelectConfig, dataset: Dataset, device: torch.device | str = "cpu"):
    """Choose `config.ipc` training images per class; returns a `Proxy` (not yet saved)."""
    started = time.perf_counter()
    gen = torch.Generator().manual_seed(config.seed)
    spec = config.model.for_data(dataset.channels, dataset.image_size, dataset.num_classes)
    embeddings = dataset.train.x.flatten(1).cpu()
    method = lookup(config.method, SELECTED)
    if method.embeds:
        require_embedding(spec.arch, f"--method {config.method} chooses by embeddings")
        net = build_model(spec, seed=config.seed, device=device)
        train(net, dataset.train, TrainConfig(epochs=config.epochs, lr=config.lr, seed=config.seed,
                                              progress=config.progress))
        embeddings = _embed(net, dataset.train.x)
    labels = dataset.train.y.cpu()
    rows = []
    for c in range(dataset.num_classes):
        members = (labels == c).nonzero().flatten()
        if len(members) < config.ipc:
            raise ConfigError(f"class {dataset.classes[c]!r} has only {len(members)} training images (< {config.ipc})")
        picked = method.strategy(embeddings[members], config.ipc, gen)
        rows.append(members[torch.tensor(picked, dtype=torch.long)])
    idx = torch.cat(rows).to(dataset.train.x.device)
    record = ProxyRecord(method=config.method, ipc=config.ipc, iterations=0, model=spec, data=dataset.fingerprint(),
                         selection=config, seconds=time.perf_counter() - started,
                         environment=environment_info(torch.device(device)),
                         created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return Proxy(dataset.train.x[idx].detach().cpu(), dataset.train.y[idx].cpu(), config.lr, record)


def existing_selection(out: str | Path, config: SelectConfig, dataset: Dataset, overwrite: bool = False):
    """The proxy already at `out` when it holds this selection of this data (nothing left to do), else None
    (no file, or `overwrite`); a file another run wrote is refused, never replaced unasked."""
    if overwrite or not Path(out).exists():
        return None
    existing = Proxy.load(out)
    same = existing.record.selection is not None and existing.record.selection.to_dict() == config.to_dict() \
        and not existing.record.data.mismatches(dataset.fingerprint())
    if not same:
        raise ConfigError(f"{str(out)!r} exists and was not made by this selection; pass --overwrite to replace "
                          "it, or choose another --out")
    return existing

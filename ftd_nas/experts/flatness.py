"""Flatness of trajectories: mean loss increase under random weight perturbations of fixed relative size.

For a snapshot w and a random direction n, each parameter tensor is moved by
sigma * ||w_p|| * n_p / ||n_p|| (filter-normalised in the spirit of Li et al. 2018), and the training loss
on a fixed sample is compared with the loss at w. The same directions and sample are used for every
expert and every directory, so SGD and GSAM trajectories are compared on equal terms.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ftd_nas.checks import check_number, check_seed
from ftd_nas.data import Dataset
from ftd_nas.experts.storage import ExpertDirectory, TrajectoryError
from ftd_nas.models import ParamLayout, build_model, functional_forward
from ftd_nas.records import Part


@dataclass
class FlatnessConfig(Part):
    sigma: float = 0.05  # perturbation size relative to each parameter tensor's norm
    directions: int = 5
    samples: int = 1024  # training images the loss is measured on
    seed: int = 0

    def __post_init__(self) -> None:
        check_number("--sigma", self.sigma, 0)
        check_number("--directions", self.directions, 1, integer=True)
        check_number("--samples", self.samples, 1, integer=True)
        check_seed("--seed", self.seed)


@torch.no_grad()
def _loss(model, layout, flat, x, y) -> float:
    return float(F.cross_entropy(functional_forward(model, layout, flat, x), y))


def _directions(layout: ParamLayout, count: int, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    dirs = []
    for _ in range(count):
        parts = [torch.randn(n, generator=gen) for n in layout.numels]
        dirs.append([p / p.norm().clamp_min(1e-12) for p in parts])
    return dirs


def directory_flatness(directory: str | os.PathLike, config: FlatnessConfig, dataset: Dataset,
                       device: str | torch.device = "cpu") -> dict:
    """Per epoch: mean over experts and directions of L(w + delta) - L(w), plus the loss itself, on the
    training split of `dataset` (the data the experts were trained on, checked by fingerprint)."""
    experts = ExpertDirectory(directory)
    record = experts.record
    record.data.check(dataset.fingerprint(), f"the experts in {str(directory)!r}")
    model = build_model(record.model, device=device).train()  # batch statistics for BN
    layout = ParamLayout(model)
    if layout.num_params != record.num_params:
        raise TrajectoryError(f"{str(directory)!r} holds {record.num_params} parameters per snapshot, but its model "
                              f"has {layout.num_params}")
    idx = torch.randperm(len(dataset.train), generator=torch.Generator().manual_seed(config.seed))[:config.samples]
    x, y = dataset.train.x[idx.to(dataset.train.x.device)], dataset.train.y[idx.to(dataset.train.y.device)]
    dirs = [[part.to(device) for part in d] for d in _directions(layout, config.directions, config.seed)]
    rows = []
    for epoch in range(experts.num_epochs + 1):
        increases, losses = [], []
        for traj in experts:
            w = traj.snapshot(epoch).to(device)
            base = _loss(model, layout, w, x, y)
            norms = [p.norm() for p in w.split(layout.numels)]
            for d in dirs:
                delta = torch.cat([config.sigma * n * part for n, part in zip(norms, d)])
                increases.append(_loss(model, layout, w + delta, x, y) - base)
            losses.append(base)
        t = torch.tensor(increases)
        rows.append({"epoch": epoch, "loss": sum(losses) / len(losses), "sharpness": float(t.mean()),
                     "sharpness_std": float(t.std()) if len(t) > 1 else 0.0})
    gsam = record.train.optimizer == "gsam"
    return {"directory": str(directory), "optimizer": record.train.optimizer, "rho": record.train.rho if gsam else None,
            "alpha": record.train.alpha if gsam else None, "experts": len(experts), "config": config.to_dict(),
            "epochs": rows}


def format_flatness(results: list[dict]) -> str:
    """Side-by-side table: epoch, then loss and sharpness per directory."""
    def label(r: dict) -> str:
        return r["optimizer"] if r["alpha"] is None else f"{r['optimizer']} rho={r['rho']:g} alpha={r['alpha']:g}"

    head = "epoch" + "".join(f" | {label(r)}: loss, sharpness" for r in results)
    lines = [head, "-" * len(head)]
    for e in range(min(len(r["epochs"]) for r in results)):
        lines.append(f"{e:>5}" + "".join(f" | {r['epochs'][e]['loss']:.4f}, {r['epochs'][e]['sharpness']:+.4f}"
                                         for r in results))
    return "\n".join(lines)

"""Configuration of an expert-trajectory run (DESIGN.md section 2: the MTT/FTD expert recipe)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ftd_nas.augment import DEFAULT_STRATEGY
from ftd_nas.checks import check_number
from ftd_nas.data import DataConfig
from ftd_nas.models import ModelSpec
from ftd_nas.records import Part
from ftd_nas.train import TrainConfig


def expert_train_config(optimizer: str = "sgd", *, epochs: int = 50, lr: float = 0.01, momentum: float = 0.0,
                        weight_decay: float = 0.0, batch_size: int = 256, rho: float = 0.01, alpha: float = 1.0,
                        dsa: str | None = DEFAULT_STRATEGY, seed: int = 0, progress: bool | None = None) -> TrainConfig:
    """The papers' expert recipe: constant lr 0.01, no momentum or weight decay, batch 256, DSA on every batch.

    SGD experts are MTT's; GSAM experts (rho 0.01, alpha from the FTD preset) are FTD's flat trajectories.
    """
    return TrainConfig(epochs=epochs, lr=lr, momentum=momentum, weight_decay=weight_decay, batch_size=batch_size,
                       decay_at_midpoint=False, dsa=dsa, optimizer=optimizer, rho=rho, alpha=alpha, seed=seed,
                       progress=progress)


@dataclass
class ExpertConfig(Part):
    """Which data and network, how each expert trains, and how many experts (expert i uses seed + i)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainConfig = field(default_factory=expert_train_config)
    num_experts: int = 10

    def __post_init__(self) -> None:
        check_number("--num-experts", self.num_experts, 1, integer=True)

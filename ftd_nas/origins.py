"""How a proxy was made: the settings of a distillation, of a coreset selection or of an import.

A proxy file records one of these, and the code that makes proxies (`ftd_nas.distill`, `ftd_nas.coresets`,
`ftd_nas.importer`) takes it as its configuration. They live here, below both, so that reading a proxy's metadata
never imports the code that makes proxies (and the training loop behind it), and the producers may import the
proxy file without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ftd_nas.augment import DEFAULT_STRATEGY, parse_strategy
from ftd_nas.checks import check_number, check_seed
from ftd_nas.errors import ConfigError
from ftd_nas.models import ModelSpec
from ftd_nas.proxy_methods import DISTILLED, SELECTED, lookup, names
from ftd_nas.records import RUNTIME_ONLY, Part

MAX_EMA_DECAY = 0.999999  # an EMA decay of 1 would never move from the initial images
SOFT_LABELS = ("auto", "probabilities", "logits")


@dataclass
class DistillConfig(Part):
    """Distillation hyperparameters (names as in the papers' code) and run settings."""

    method: str = "ftd"  # a distilled method of ftd_nas/proxy_methods.py
    ipc: int = 10
    syn_steps: int = 20
    expert_epochs: int = 2
    max_start_epoch: int = 10
    batch_syn: int | None = None  # None: the whole synthetic set each step
    lr_img: float = 100.0
    lr_lr: float = 1e-5
    lr_teacher: float = 0.01  # initial syn_lr
    ema_decay: float | None = 0.999
    iterations: int = 5000
    init: str = "real"  # real | noise
    seed: int = 0
    unroll: str = "full"  # full | checkpoint
    dsa: str | None = DEFAULT_STRATEGY
    momentum: float = 0.5  # SGD momentum on images and syn_lr
    checkpoint_every: int = 50
    image_every: int = 500
    preset: str = ""  # where the defaults came from
    family: str | None = None  # preset family chosen explicitly (cifar10, ...), else from the dataset name
    lr_net: float = 0.01  # dsa: lr of the matching network's inner training; dsa and dm: the proxy's training lr
    batch_real: int = 256  # dsa, dm: real images per class and matching step
    outer_loop: int = 10  # dsa: matching steps per fresh network
    inner_loop: int = 50  # dsa: epochs of training the network on the synthetic set between matching steps

    # The fields every method uses; each method's own (in its registry entry) follow them in what is shown and
    # compared for a run.
    COMMON: ClassVar[tuple[str, ...]] = ("method", "ipc", "lr_img", "iterations", "init", "seed", "dsa", "momentum",
                                         "checkpoint_every", "image_every", "preset", "family")
    # Settings that may change when a run is resumed (everything else must match the checkpoint).
    RESUMABLE_CHANGES: ClassVar[tuple[str, ...]] = ("iterations", "checkpoint_every", "image_every", "lr_img",
                                                    "lr_lr", "preset")

    def __post_init__(self) -> None:
        method = lookup(self.method, DISTILLED)
        if self.unroll not in ("full", "checkpoint"):
            raise ConfigError(f"--unroll must be full or checkpoint, got {self.unroll!r}")
        if self.init not in ("real", "noise"):
            raise ConfigError(f"--init must be real or noise, got {self.init!r}")
        for name in ("ipc", "syn_steps", "expert_epochs", "max_start_epoch", "iterations", "checkpoint_every",
                     "image_every"):
            check_number(f"--{name.replace('_', '-')}", getattr(self, name), 1, integer=True)
        if self.batch_syn is not None:
            check_number("--batch-syn", self.batch_syn, 1, integer=True)
        for name in ("lr_img", "lr_lr", "lr_teacher", "lr_net"):
            check_number(f"--{name.replace('_', '-')}", getattr(self, name), 0, low_open=True)
        for name in ("batch_real", "outer_loop", "inner_loop"):
            check_number(f"--{name.replace('_', '-')}", getattr(self, name), 1, integer=True)
        check_number("--momentum", self.momentum, 0, 1)
        check_seed("--seed", self.seed)
        if method.keeps_ema:
            if self.ema_decay is None:
                raise ConfigError(f"{method.display} needs --ema-decay in [0, {MAX_EMA_DECAY:g}], got None")
            check_number("--ema-decay", self.ema_decay, 0, MAX_EMA_DECAY)
        if not method.keeps_ema and self.ema_decay is not None:
            with_ema = " or ".join(n for n in names(DISTILLED) if lookup(n).keeps_ema)
            raise ConfigError(f"{method.display} keeps no EMA of the images: drop --ema-decay, or use --method "
                              f"{with_ema}")
        parse_strategy(self.dsa)

    def relevant(self) -> dict:
        """The fields this method uses, in a stable order."""
        data = self.to_dict()
        return {k: data[k] for k in self.COMMON + lookup(self.method).fields}

    def settings(self) -> dict:
        """What a resumed run must share with the run it continues."""
        return {k: v for k, v in self.relevant().items() if k not in self.RESUMABLE_CHANGES}


@dataclass
class SelectConfig(Part):
    """Which coreset, how many images per class, and the network whose embeddings herding and k-center use."""

    method: str = "herding"
    ipc: int = 10
    model: ModelSpec = field(default_factory=ModelSpec)
    epochs: int = 20  # training of the embedding network on the real training split
    lr: float = 0.01  # also the proxy's training lr (real images, as for random subsets)
    seed: int = 0
    progress: bool | None = field(default=None, metadata=RUNTIME_ONLY)

    def __post_init__(self) -> None:
        lookup(self.method, SELECTED)
        check_number("--ipc", self.ipc, 1, integer=True)
        check_number("--epochs", self.epochs, 1, integer=True)
        check_number("--lr", self.lr, 0, low_open=True)
        check_seed("--seed", self.seed)


@dataclass
class ImportConfig(Part):
    """How a published set was read: its files (names only), label form, lr and the name of its method."""

    method: str = "imported"  # the method that made the set (mtt, ftd, datm, ...), shown in reports
    files: list[str] = field(default_factory=list)
    soft_labels: str = "auto"  # how soft label rows are read: auto | probabilities | logits (softmax applied)
    experiment: int = 0  # which experiment of a DC/DSA/DM results file
    lr: float = 0.01  # the proxy's training lr when the set carries none

    def __post_init__(self) -> None:
        if self.soft_labels not in SOFT_LABELS:
            raise ConfigError(f"--soft-labels must be one of {', '.join(SOFT_LABELS)}, got {self.soft_labels!r}")
        check_number("--experiment", self.experiment, 0, integer=True)
        check_number("--lr", self.lr, 0, low_open=True)
        if not self.method or not self.method.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"--method-name must be a short name like mtt or datm, got {self.method!r}")

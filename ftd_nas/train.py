"""The one training loop: experts, proxy evaluation and NAS candidates all use it.

`Trainer` runs epochs and can save and restore everything needed to continue a run exactly
(optimizer state, data-order and augmentation generators, history); `train` is the one-call form.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ftd_nas.augment import DEFAULT_STRATEGY, dsa, parse_strategy
from ftd_nas.checks import check_number, check_seed
from ftd_nas.data import Split, hard_labels
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.gsam import GSAM
from ftd_nas.interrupts import check as check_interrupt
from ftd_nas.progress import progress
from ftd_nas.records import RUNTIME_ONLY, Part
from ftd_nas.runtime import host_to_device

MAX_MOMENTUM = 1.0  # SGD momentum beyond 1 makes the velocity grow without bound
# The arithmetic of a training step's forward pass: fp32, or bfloat16 autocast (weights, optimizer state, the loss
# and every evaluation stay fp32; bf16 needs no loss scaling, its exponent range being fp32's). bf16 is an option
# until its effect on a ranking is measured on a GPU (`scripts/bench_precision.py`), never a silent default.
PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig(Part):
    """SGD (or GSAM on top of it) with momentum and weight decay, lr x0.1 at the midpoint, DSA on every batch."""

    epochs: int = 50
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    decay_at_midpoint: bool = True
    dsa: str | None = DEFAULT_STRATEGY
    optimizer: str = "sgd"  # sgd | gsam
    rho: float = 0.01  # GSAM perturbation radius
    alpha: float = 0.0  # GSAM surrogate-gap weight (0 = SAM)
    seed: int = 0
    eval_every: int = 0  # epochs between validation passes; 0 = only after the last epoch
    restore_best: bool = False  # end with the weights of the best validation accuracy
    sync_every: int = 1  # epochs between host reads of the loss (NaN check, history); more keeps a GPU busy
    precision: str = "fp32"  # the forward pass's arithmetic while training: fp32 | bf16 (PRECISIONS)
    progress: bool | None = field(default=None, metadata=RUNTIME_ONLY)  # None: a bar only on a terminal

    # Settings that change how a run is carried out but not its result.
    NOT_SETTINGS: ClassVar[tuple[str, ...]] = ("sync_every",)

    def __post_init__(self) -> None:
        check_number("epochs", self.epochs, 1, integer=True)
        check_number("sync_every", self.sync_every, 1, integer=True)
        check_number("batch size", self.batch_size, 1, integer=True)
        check_number("learning rate", self.lr, 0, low_open=True)
        check_number("momentum", self.momentum, 0, MAX_MOMENTUM)
        check_number("weight decay", self.weight_decay, 0)
        check_number("rho", self.rho, 0)
        check_number("alpha", self.alpha)
        check_number("eval_every", self.eval_every, 0, integer=True)
        check_seed("seed", self.seed)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
        parse_strategy(self.dsa)
        check_precision(self.precision)


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision {precision!r} is not known; choose fp32 or bf16 (bfloat16 autocast of the "
                          "training step's forward pass)")


def autocast(precision: str, device: torch.device):
    """The context a training step's forward pass runs in: bfloat16 autocast for bf16, nothing for fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()


@dataclass
class ProxyTraining(Part):
    """How a fresh network is trained on a proxy (the papers' evaluation recipe); `evaluate` and `search` share it.

    Defaults come from TrainConfig's, the one source of training defaults.
    """

    epochs: int = 1000
    lr: float | None = None  # None: the proxy's learned syn_lr (0.01 on real data or a random subset)
    momentum: float = TrainConfig.momentum
    weight_decay: float = TrainConfig.weight_decay
    batch_size: int = TrainConfig.batch_size
    dsa: str | None = TrainConfig.dsa
    precision: str = TrainConfig.precision

    def __post_init__(self) -> None:
        if self.lr is not None:
            check_number("--lr", self.lr, 0, low_open=True)
        self.train_config(1.0, 0)  # every other field is checked where it is used

    def train_config(self, lr: float, seed: int, **extra) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, lr=lr, momentum=self.momentum, weight_decay=self.weight_decay,
                           batch_size=self.batch_size, dsa=self.dsa, precision=self.precision, seed=seed, **extra)


def _sgd(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _gsam(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    return GSAM(model.parameters(), _sgd(model, cfg), rho=cfg.rho, alpha=cfg.alpha)


OPTIMIZERS: dict[str, Callable[[nn.Module, TrainConfig], torch.optim.Optimizer]] = {"sgd": _sgd, "gsam": _gsam}


def lr_at(config: TrainConfig, epoch: int) -> float:
    """The learning rate of an epoch (0-based): lr, x0.1 from the midpoint on when decay_at_midpoint."""
    decayed = config.decay_at_midpoint and epoch >= config.epochs // 2
    return config.lr * (0.1 if decayed else 1.0)


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    train_loss: float = float("nan")
    train_acc: float = float("nan")
    val_acc: float | None = None  # of the returned weights
    best_epoch: int | None = None
    seconds: float = 0.0


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` on a split (eval mode, no augmentation)."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=split.x.device)
    correct = torch.zeros((), device=split.x.device)
    for i in range(0, len(split), batch_size):
        xb, yb = split.x[i:i + batch_size], split.y[i:i + batch_size]
        out = model(xb)
        loss_sum += F.cross_entropy(out, yb, reduction="sum")
        correct += (out.argmax(1) == hard_labels(yb)).sum()
    model.train(was_training)
    n = max(len(split), 1)
    return loss_sum.item() / n, correct.item() / n


class Trainer:
    """Epoch-by-epoch training of `model` on `data`; every random choice follows `config.seed`."""

    def __init__(self, model: nn.Module, data: Split, config: TrainConfig, val: Split | None = None):
        if len(data) == 0:
            raise ConfigError("cannot train on an empty split")
        self.model, self.data, self.config, self.val = model, data, config, val
        self.optimizer = OPTIMIZERS[config.optimizer](model, config)
        self.order_gen = torch.Generator().manual_seed(config.seed)
        self.aug_gen = torch.Generator().manual_seed(config.seed + 1_000_003)
        self.epoch = 0
        self.history: list[dict] = []
        self.epoch_seconds: list[float] = []
        self._unread: list[tuple[dict, torch.Tensor]] = []  # records whose [loss sum, correct] is still on the device

    def run_epoch(self) -> dict:
        """Train one epoch; returns its record (lr, train loss and accuracy once read, validation when due).

        The loss and accuracy stay on the device until `sync_every` epochs have passed (or validation, a
        checkpoint or the last epoch needs them), so a GPU is never made to wait for the host in between.
        """
        cfg, data, model = self.config, self.data, self.model
        started = time.perf_counter()
        lr = lr_at(cfg, self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        model.train()
        n, device = len(data), data.x.device
        perm = host_to_device(torch.randperm(n, generator=self.order_gen), device)
        totals = torch.zeros(2, device=device)  # loss sum, correct
        for i in range(0, n, cfg.batch_size):
            check_interrupt()  # a stop asked for by a signal (ftd_nas/interrupts.py): no later than one step on
            idx = perm[i:i + cfg.batch_size]
            xb, yb = data.x[idx], data.y[idx]
            if cfg.dsa:
                xb = dsa(xb, cfg.dsa, generator=self.aug_gen)
            outputs = []

            def closure():
                self.optimizer.zero_grad(set_to_none=True)
                with autocast(cfg.precision, device):
                    out = model(xb)
                loss = F.cross_entropy(out.float(), yb)
                loss.backward()
                outputs.append((out.detach(), loss.detach()))
                return loss

            self.optimizer.step(closure)
            out, loss = outputs[0]  # at the current weights (GSAM evaluates twice)
            totals += torch.stack([loss * len(yb), (out.argmax(1) == hard_labels(yb)).sum()])
        self.epoch += 1
        record = {"epoch": self.epoch, "lr": lr}
        self.history.append(record)
        self._unread.append((record, totals))
        last = self.epoch == cfg.epochs
        due = last or (cfg.eval_every and self.epoch % cfg.eval_every == 0)
        validate = bool(due and self.val is not None and len(self.val))
        if last or validate or self.epoch % cfg.sync_every == 0:
            self.read_metrics()
        if validate:
            record["val_loss"], record["val_acc"] = evaluate(model, self.val)
        self.epoch_seconds.append(time.perf_counter() - started)
        return record

    def read_metrics(self) -> None:
        """Fill in the train loss and accuracy of epochs still on the device; stop on a non-finite loss."""
        if not self._unread:
            return
        totals = torch.stack([t for _, t in self._unread]).cpu() / len(self.data)
        unread, self._unread = self._unread, []
        for (record, _), (loss, acc) in zip(unread, totals.tolist()):
            record["train_loss"], record["train_acc"] = loss, acc
            if not math.isfinite(loss):
                raise NonFiniteError(f"training loss became {loss} in epoch {record['epoch']} (lr {record['lr']:g}); "
                                     "lower the learning rate or check the input data for NaN/inf values")

    def fit(self, on_epoch_end: Callable[["Trainer", dict], None] | None = None, desc: str = "train") -> TrainResult:
        """Run the remaining epochs; `on_epoch_end(trainer, record)` can checkpoint after each one."""
        start = time.perf_counter()
        result = TrainResult()
        best_acc, best_state = -1.0, None
        bar = progress(range(self.epoch, self.config.epochs), desc=desc, enabled=self.config.progress, leave=False)
        for _ in bar:
            record = self.run_epoch()
            if self.config.restore_best and record.get("val_acc", -1.0) > best_acc:
                best_acc, result.best_epoch = record["val_acc"], record["epoch"]
                best_state = copy.deepcopy(self.model.state_dict())
            if "train_loss" in record:
                bar.set_postfix(loss=f"{record['train_loss']:.3f}", acc=f"{record['train_acc']:.3f}",
                                **({"val": f"{record['val_acc']:.3f}"} if "val_acc" in record else {}))
            if on_epoch_end is not None:
                on_epoch_end(self, record)
        result.history = list(self.history)
        if result.history:
            result.train_loss, result.train_acc = result.history[-1]["train_loss"], result.history[-1]["train_acc"]
        if best_state is not None:
            self.model.load_state_dict(best_state)
            result.val_acc = best_acc
        elif result.history and "val_acc" in result.history[-1]:
            result.val_acc, result.best_epoch = result.history[-1]["val_acc"], result.history[-1]["epoch"]
        result.seconds = time.perf_counter() - start
        return result

    def state_dict(self) -> dict:
        """Everything except the model's parameters needed to continue exactly where this run stands."""
        self.read_metrics()
        return {"epoch": self.epoch, "history": list(self.history), "epoch_seconds": list(self.epoch_seconds),
                "optimizer": self.optimizer.state_dict(),
                "order_gen": self.order_gen.get_state(), "aug_gen": self.aug_gen.get_state(),
                "buffers": {k: v.detach().cpu().clone() for k, v in self.model.named_buffers()}}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.history = int(state["epoch"]), list(state["history"])
        self.epoch_seconds = list(state.get("epoch_seconds", []))
        self.optimizer.load_state_dict(state["optimizer"])
        self.order_gen.set_state(state["order_gen"])
        self.aug_gen.set_state(state["aug_gen"])
        buffers = dict(self.model.named_buffers())
        with torch.no_grad():
            for name, value in state["buffers"].items():
                buffers[name].copy_(value)


def train(model: nn.Module, data: Split, config: TrainConfig, val: Split | None = None) -> TrainResult:
    """Train `model` in place on `data` for `config.epochs` epochs."""
    return Trainer(model, data, config, val).fit()

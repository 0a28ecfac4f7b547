"""The one training loop: experts' real-data baselines, proxy evaluation and NAS candidates all use it."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ftd_nas.augment import DEFAULT_STRATEGY, dsa, parse_strategy
from ftd_nas.data import Split
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.progress import progress


@dataclass
class TrainConfig:
    """SGD with momentum and weight decay, lr x0.1 at the midpoint, optional DSA on every batch."""

    epochs: int = 50
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    decay_at_midpoint: bool = True
    dsa: str | None = DEFAULT_STRATEGY
    seed: int = 0
    eval_every: int = 0  # epochs between validation passes; 0 = only after the last epoch
    restore_best: bool = False  # end with the weights of the best validation accuracy
    progress: bool | None = None  # None: a bar only on a terminal

    def validate(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}")
        parse_strategy(self.dsa)


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
        correct += (out.argmax(1) == yb).sum()
    model.train(was_training)
    n = max(len(split), 1)
    return loss_sum.item() / n, correct.item() / n


def train(model: nn.Module, data: Split, config: TrainConfig, val: Split | None = None) -> TrainResult:
    """Train `model` in place on `data`; every random choice (order, augmentation) follows `config.seed`."""
    config.validate()
    if len(data) == 0:
        raise ConfigError("cannot train on an empty split")
    start = time.perf_counter()
    order_gen = torch.Generator().manual_seed(config.seed)
    aug_gen = torch.Generator().manual_seed(config.seed + 1_000_003)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    result = TrainResult()
    best_acc, best_state = -1.0, None
    n, device = len(data), data.x.device
    bar = progress(range(config.epochs), desc="train", enabled=config.progress, leave=False)
    for epoch in bar:
        model.train()
        perm = torch.randperm(n, generator=order_gen).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for i in range(0, n, config.batch_size):
            idx = perm[i:i + config.batch_size]
            xb, yb = data.x[idx], data.y[idx]
            if config.dsa:
                xb = dsa(xb, config.dsa, generator=aug_gen)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(yb)
            correct += (out.argmax(1) == yb).sum()
        lr = opt.param_groups[0]["lr"]
        record = {"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum.item() / n, "train_acc": correct.item() / n}
        if not math.isfinite(record["train_loss"]):
            raise NonFiniteError(f"training loss became {record['train_loss']} in epoch {epoch + 1} (lr {lr:g}); "
                                 "lower the learning rate or check the input data for NaN/inf values")
        last = epoch + 1 == config.epochs
        if val is not None and len(val) and (last or (config.eval_every and (epoch + 1) % config.eval_every == 0)):
            record["val_loss"], record["val_acc"] = evaluate(model, val)
            if config.restore_best and record["val_acc"] > best_acc:
                best_acc, result.best_epoch = record["val_acc"], epoch + 1
                best_state = copy.deepcopy(model.state_dict())
        result.history.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", acc=f"{record['train_acc']:.3f}",
                        **({"val": f"{record['val_acc']:.3f}"} if "val_acc" in record else {}))
        if config.decay_at_midpoint and epoch + 1 == config.epochs // 2:
            for group in opt.param_groups:
                group["lr"] *= 0.1
    result.train_loss, result.train_acc = result.history[-1]["train_loss"], result.history[-1]["train_acc"]
    if best_state is not None:
        model.load_state_dict(best_state)
        result.val_acc = best_acc
    elif val is not None and len(val):
        result.val_acc, result.best_epoch = result.history[-1]["val_acc"], config.epochs
    result.seconds = time.perf_counter() - start
    return result

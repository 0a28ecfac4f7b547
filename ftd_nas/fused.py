"""Several runs of one architecture trained as one computation (issue 28): the seeds of an evaluation, the repeats
of a candidate, one candidate on several proxies.

Why: a small network leaves a GPU idle between kernel launches (a 500-image proxy is two batches an epoch, each
step ~210 operators, issue 30). Stacking R runs' parameters on a leading axis and running the step under
`torch.func.vmap` launches each kernel once for all R runs: on an H200, 8 runs of a depth-1 or depth-2 ConvNet
trained 2.4x faster than one after another, while from about 13 GMAC per step (depth 3, width 128, 256 images)
it gained nothing, and on a CPU vmap was 3-4x slower (README, `scripts/bench_fusion.py`). So `choose` fuses on
CUDA below a measured cost per step and never on a CPU.

Each fused run is the run `train()` would do: its own data-order and DSA generators seeded as `Trainer` seeds
them, the same batches and draws, torch.optim.SGD's update (the optimizer itself, on the stacked parameters,
whose update is elementwise), lr x0.1 at the midpoint, validation and best-weight selection per run. Results
agree with separate training to float tolerance, not bit for bit: a batched convolution sums in another order.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from ftd_nas.augment import dsa
from ftd_nas.data import Split, hard_labels
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.interrupts import check as check_interrupt
from ftd_nas.models.cost import count_macs
from ftd_nas.progress import progress
from ftd_nas.runtime import host_to_device
from ftd_nas.train import TrainConfig, TrainResult, lr_at, train

log = logging.getLogger(__name__)

FUSE_CHOICES = ("auto", "on", "off")
# The largest training step (multiply-accumulates of the forward pass over one batch) that `auto` fuses: between
# the largest candidate that gained on an H200 (depth 2, width 64: 2.9 GMAC for 256 images, 1.6x) and the smallest
# that did not (depth 3, width 128: 13 GMAC, 1.0x), at their geometric mean. README's table, bench_fusion.py.
FUSE_MAX_STEP_MACS = 6e9
# Settings every fused run must share (they shape the common step); the seed is what differs.
SHARED = ("epochs", "lr", "momentum", "weight_decay", "batch_size", "decay_at_midpoint", "dsa", "eval_every",
          "restore_best", "sync_every")


def check_fuse(choice: str) -> None:
    if choice not in FUSE_CHOICES:
        raise ConfigError(f"--fuse {choice!r} is not known; choose auto (fuse where it was measured faster: on a GPU, "
                          "small networks), on or off")


def why_not_fusable(models: list[nn.Module], configs: list[TrainConfig], data: list[Split]) -> str | None:
    """Why these runs cannot be trained as one computation, or None when they can."""
    if len(models) < 2:
        return "there is only one run"
    if len({type(m) for m in models}) > 1 or len({tuple((k, v.shape) for k, v in m.named_parameters())
                                                   for m in models}) > 1:
        return "the runs' networks differ in architecture"
    if any(True for _ in models[0].buffers()):
        # BatchNorm's running statistics are updated in place inside the forward pass, which vmap cannot batch
        return "the network keeps buffers (batchnorm's running statistics)"
    if any(isinstance(m, nn.modules.dropout._DropoutNd) for m in models[0].modules()):
        return "the network uses dropout, whose random draws would differ from a separate run's"
    if any(c.precision != "fp32" for c in configs):
        # torch.autocast does not reach inside vmap (measured: the batched forward stays fp32), so a fused bf16 run
        # would silently be another run than a separate one
        return "bf16 runs are not fused (autocast does not apply inside vmap)"
    if any(c.optimizer != "sgd" for c in configs):
        return "only SGD runs are fused (GSAM evaluates the loss twice per step)"
    if len({tuple(getattr(c, k) for k in SHARED) for c in configs}) > 1:
        return "the runs' training settings differ (beyond their seeds)"
    if len({(tuple(d.x.shape), tuple(d.y.shape), d.x.device) for d in data}) > 1:
        return "the runs' training sets differ in size or device"
    return None


def choose(fuse: str, models: list[nn.Module], configs: list[TrainConfig], data: list[Split],
           strict: bool = True) -> bool:
    """Whether to fuse: `on` insists (a ConfigError says why it cannot; with strict=False it fuses wherever the runs
    can be fused), `off` never, `auto` where it was measured faster: on CUDA, for a step of at most
    FUSE_MAX_STEP_MACS."""
    check_fuse(fuse)
    if fuse == "off":
        return False
    reason = why_not_fusable(models, configs, data)
    if fuse == "on":
        if reason and strict:
            raise ConfigError(f"--fuse on cannot fuse these runs: {reason}; use --fuse auto or off")
        return reason is None
    if reason or data[0].x.device.type != "cuda":
        return False
    step_images = min(configs[0].batch_size, len(data[0]))
    return count_macs(models[0], tuple(data[0].x.shape[1:])) * step_images <= FUSE_MAX_STEP_MACS


@dataclass
class _Run:
    """What is each run's own: its generators, metrics not yet read, history and best weights."""

    config: TrainConfig
    order_gen: torch.Generator
    aug_gen: torch.Generator
    history: list[dict]
    best_acc: float = -1.0
    best_epoch: int | None = None


class FusedTrainer:
    """R runs of one architecture on equally sized training sets (one shared or one each), as one computation."""

    def __init__(self, models: list[nn.Module], data: Split | list[Split], configs: list[TrainConfig],
                 val: Split | None = None):
        data = data if isinstance(data, list) else [data] * len(models)
        if not (len(models) == len(configs) == len(data)):
            raise ConfigError("fused training needs one network, one configuration and one training set per run")
        if len(data[0]) == 0:
            raise ConfigError("cannot train on an empty split")
        reason = why_not_fusable(models, configs, data)
        if reason:
            raise ConfigError(f"cannot fuse these runs: {reason}")
        self.models, self.data, self.val, self.cfg = models, data, val, configs[0]
        # Trainer's generators, seeded alike, so every run draws its batches and augmentations as alone
        self.runs = [_Run(c, torch.Generator().manual_seed(c.seed), torch.Generator().manual_seed(c.seed + 1_000_003),
                          []) for c in configs]
        params, _ = stack_module_state(models)
        self.names = list(params)
        self.params = [params[k].detach().clone().requires_grad_(True) for k in self.names]
        self.optimizer = torch.optim.SGD(self.params, lr=self.cfg.lr, momentum=self.cfg.momentum,
                                         weight_decay=self.cfg.weight_decay)
        self.best = [p.detach().clone() for p in self.params] if self.cfg.restore_best else None
        self.base = models[0]  # its own parameters are never read: functional_call is given the stacked ones

        def loss(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor):
            out = functional_call(self.base, dict(zip(self.names, params)), (x,))
            value = F.cross_entropy(out, y)
            correct = (out.argmax(1) == hard_labels(y)).sum().to(value.dtype)
            return value, torch.stack([value.detach() * len(y), correct])

        def outputs(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
            return functional_call(self.base, dict(zip(self.names, params)), (x,))

        self._step = vmap(grad_and_value(loss, has_aux=True))
        self._outputs = vmap(outputs, in_dims=(0, None))

    def _batch(self, perms: list[torch.Tensor], i: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for run, data, perm in zip(self.runs, self.data, perms):
            idx = perm[i:i + self.cfg.batch_size]
            xb = data.x[idx]
            xs.append(dsa(xb, self.cfg.dsa, generator=run.aug_gen) if self.cfg.dsa else xb)
            ys.append(data.y[idx])
        return torch.stack(xs), torch.stack(ys)

    @torch.no_grad()
    def _validate(self) -> torch.Tensor:
        """[R, 2]: each run's mean validation loss and accuracy (as `train.evaluate`, in eval mode)."""
        was_training = self.base.training
        self.base.eval()
        totals = torch.zeros(len(self.runs), 2, device=self.val.x.device)
        for i in range(0, len(self.val), 1024):
            xb, yb = self.val.x[i:i + 1024], self.val.y[i:i + 1024]
            out = self._outputs(self.params, xb)  # [R, B, classes]
            losses = torch.stack([F.cross_entropy(o, yb, reduction="sum") for o in out])
            totals += torch.stack([losses, (out.argmax(2) == hard_labels(yb)).sum(1).to(losses.dtype)], dim=1)
        self.base.train(was_training)
        return totals / max(len(self.val), 1)

    def fit(self, desc: str = "train (fused)") -> list[TrainResult]:
        """Train every run for its epochs; each network ends with its run's final (or, with restore_best, best
        validation) weights, and each run's TrainResult is returned in order."""
        cfg, n = self.cfg, len(self.data[0])
        device = self.data[0].x.device
        started = time.perf_counter()
        unread: list[tuple[list[dict], torch.Tensor]] = []
        self.base.train()
        for epoch in progress(range(cfg.epochs), desc=desc, enabled=cfg.progress, leave=False):
            lr = lr_at(cfg, epoch)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            perms = [host_to_device(torch.randperm(n, generator=r.order_gen), device) for r in self.runs]
            totals = torch.zeros(len(self.runs), 2, device=device)
            for i in range(0, n, cfg.batch_size):
                check_interrupt()  # a stop asked for by a signal: no later than one step on
                x, y = self._batch(perms, i)
                grads, (_, metrics) = self._step(self.params, x, y)
                for p, g in zip(self.params, grads):
                    p.grad = g
                self.optimizer.step()
                totals += metrics
            records = [{"epoch": epoch + 1, "lr": lr} for _ in self.runs]
            for run, record in zip(self.runs, records):
                run.history.append(record)
            unread.append((records, totals))
            last = epoch + 1 == cfg.epochs
            validate = bool((last or (cfg.eval_every and (epoch + 1) % cfg.eval_every == 0))
                            and self.val is not None and len(self.val))
            if last or validate or (epoch + 1) % cfg.sync_every == 0:
                self._read(unread, n)
                unread = []
            if validate:
                self._record_validation(records, epoch + 1)
        seconds = (time.perf_counter() - started) / len(self.runs)  # each run's share of the fused time
        return self._finish(seconds)

    def _read(self, unread: list[tuple[list[dict], torch.Tensor]], n: int) -> None:
        """Fill in the train loss and accuracy of epochs still on the device; stop on a non-finite loss."""
        values = (torch.stack([t for _, t in unread]).cpu() / n).tolist()  # [epochs][runs][2]
        for (records, _), per_run in zip(unread, values):
            for r, (record, (loss, acc)) in enumerate(zip(records, per_run)):
                record["train_loss"], record["train_acc"] = loss, acc
                if not math.isfinite(loss):
                    raise NonFiniteError(f"training loss became {loss} in epoch {record['epoch']} of fused run {r} "
                                         f"(seed {self.runs[r].config.seed}, lr {record['lr']:g}); lower the learning "
                                         "rate or check the input data for NaN/inf values")

    def _record_validation(self, records: list[dict], epoch: int) -> None:
        for r, (record, (loss, acc)) in enumerate(zip(records, self._validate().tolist())):
            record["val_loss"], record["val_acc"] = loss, acc
            run = self.runs[r]
            if self.best is not None and acc > run.best_acc:  # strictly better, as Trainer.fit keeps it
                run.best_acc, run.best_epoch = acc, epoch
                with torch.no_grad():
                    for b, p in zip(self.best, self.params):
                        b[r].copy_(p[r])

    def _finish(self, seconds: float) -> list[TrainResult]:
        results = []
        with torch.no_grad():
            for r, (model, run) in enumerate(zip(self.models, self.runs)):
                weights = self.best if run.best_epoch is not None else self.params
                own = dict(model.named_parameters())
                for name, stacked in zip(self.names, weights):
                    own[name].copy_(stacked[r])
                result = TrainResult(history=list(run.history), seconds=seconds)
                last = run.history[-1]
                result.train_loss, result.train_acc = last["train_loss"], last["train_acc"]
                if run.best_epoch is not None:
                    result.val_acc, result.best_epoch = run.best_acc, run.best_epoch
                elif "val_acc" in last:
                    result.val_acc, result.best_epoch = last["val_acc"], last["epoch"]
                results.append(result)
        return results


def train_runs(models: list[nn.Module], data: Split | list[Split], configs: list[TrainConfig],
               val: Split | None = None, fuse: str = "auto") -> tuple[list[TrainResult], bool]:
    """Train each model on its data (one Split for all, or one each) with its config: as one fused computation
    where `choose` says so, else one after another with `train()`; returns the results and whether they were fused."""
    sets = data if isinstance(data, list) else [data] * len(models)
    if choose(fuse, models, configs, sets):
        log.debug("training %d runs fused", len(models))
        return FusedTrainer(models, sets, configs, val).fit(), True
    return [train(m, d, c, val=val) for m, d, c in zip(models, sets, configs)], False

"""What one distillation iteration does, per method; `Distiller` owns the images, checkpoints and the run loop.

Each method computes its loss on the current synthetic images, steps them (and, for trajectory matching, the
learned lr) and returns (loss, finite, extras for the log). Each method's registry entry
(`ftd_nas/proxy_methods.py`) names its class:

    TrajectoryMatching    ftd, mtt: against expert trajectories (`matching.py`)
    GradientMatching      dsa: against fresh networks, with DSA; `--dsa none` is plain DC (`gradient_matching.py`)
    DistributionMatching  dm: of mean embeddings under fresh networks (`distribution_matching.py`)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ftd_nas.augment import dsa
from ftd_nas.distill.distribution_matching import distribution_matching_loss
from ftd_nas.distill.gradient_matching import gradient_matching_loss
from ftd_nas.distill.matching import match_trajectory, plan_unroll
from ftd_nas.distill.presets import preset
from ftd_nas.errors import ConfigError
from ftd_nas.experts import ExpertDirectory, TrajectoryError
from ftd_nas.records import folder_label
from ftd_nas.models import ModelSpec, ParamLayout, build_model
from ftd_nas.models.families import require_embedding
from ftd_nas.proxy_methods import DISTILLED, lookup, names

if TYPE_CHECKING:
    from ftd_nas.distill.distiller import Distiller

BN_IMAGES_PER_CLASS = 16  # real images per class that fix BatchNorm statistics before gradient matching (DC)


MODEL_OPTIONS = ("width", "depth", "norm", "act", "pool")  # what a ConvNet ModelSpec sets (the CLI's options)


def check_inputs(method: str, experts: str | Path | None, model: ModelSpec | None) -> None:
    """What a method takes: experts (ftd, mtt), whose network it uses, or a network of its own (dsa, dm) and no
    experts. `Distiller` and the CLI both ask here, the CLI before it loads anything."""
    needed = lookup(method, DISTILLED).experts
    if needed is not None and experts is None:
        raise ConfigError(f"--method {method} matches expert trajectories: give --experts DIR (trained with "
                          f"`ftd-nas experts --optimizer {needed}`)")
    if needed is not None and model is not None:
        raise ConfigError(f"--method {method} takes the network from its experts: drop the network options "
                          f"({', '.join('--' + o for o in MODEL_OPTIONS)})")
    if needed is None and experts is not None:
        raise ConfigError(f"--method {method} matches fresh networks and uses no experts: drop --experts")


def _seed(gen: torch.Generator) -> int:
    return int(torch.randint(0, 2**62, (1,), generator=gen))


class TrajectoryMatching:
    """FTD and MTT: N unrolled student steps from an expert's snapshot should land on its later snapshot."""

    learns_lr = True

    def __init__(self, d: "Distiller", experts: str | Path | None, model: ModelSpec | None):
        cfg = d.config
        needed = lookup(cfg.method).experts
        check_inputs(cfg.method, experts, model)
        self.experts = ExpertDirectory(experts)
        record = self.experts.record
        got = record.train.optimizer
        if got != needed:
            fitting = [n for n in names(DISTILLED) if lookup(n).experts == got]
            other = f", or use --method {' or '.join(fitting)}" if fitting else ""
            raise TrajectoryError(f"--method {cfg.method} needs {needed} experts, but {str(self.experts.path)!r} "
                                  f"holds {got} experts. Train them with `ftd-nas experts --optimizer {needed}`"
                                  f"{other}.")
        if cfg.max_start_epoch + cfg.expert_epochs > self.experts.num_epochs:
            raise ConfigError(f"max_start_epoch {cfg.max_start_epoch} + expert_epochs {cfg.expert_epochs} exceeds the "
                              f"{self.experts.num_epochs} epochs stored in {str(self.experts.path)!r}; lower "
                              "--max-start-epoch or train longer experts")
        values, _ = preset(record.data.name, cfg.ipc, cfg.method, cfg.family)
        if values["zca"] != record.data.zca and cfg.preset.startswith(("FTD", "MTT")):
            d.notes.append(f"the preset uses ZCA={values['zca']} but these experts were trained with "
                           f"ZCA={record.data.zca}")
        # the real data comes from the caller, never from a location stored in the experts' files
        record.data.check(d.dataset.fingerprint(), f"the experts in {str(self.experts.path)!r}")
        self.spec = record.model
        self.model = build_model(self.spec, device=d.device).train()
        self.layout = ParamLayout(self.model)
        if self.layout.num_params != record.num_params:
            raise TrajectoryError(f"{str(self.experts.path)!r} holds {record.num_params} parameters per snapshot, "
                                  f"but its model {self.spec.short_name()} has {self.layout.num_params}")

    def settings(self) -> dict:
        return {"experts": self.experts.settings}

    def provenance(self) -> dict:
        return {"folder": folder_label(self.experts.path), "count": len(self.experts),
                "settings": self.experts.settings}

    def step(self, d: "Distiller") -> tuple[float, bool, dict]:
        cfg = d.config
        expert_idx = int(torch.randint(len(self.experts), (1,), generator=d.gen))
        start_epoch = int(torch.randint(cfg.max_start_epoch, (1,), generator=d.gen))
        start, target = (t.to(d.device) for t in
                         self.experts[expert_idx].snapshots(start_epoch, start_epoch + cfg.expert_epochs))
        plan = plan_unroll(len(d.labels), cfg.syn_steps, cfg.batch_syn or len(d.labels), d.gen)
        d.opt_img.zero_grad(set_to_none=True)
        d.opt_lr.zero_grad(set_to_none=True)
        loss = match_trajectory(self.model, self.layout, d.images, d.labels, d.syn_lr, start, target, plan, cfg.dsa,
                                cfg.unroll)
        finite = math.isfinite(float(loss)) and bool(torch.isfinite(d.images.grad).all()) \
            and bool(torch.isfinite(d.syn_lr.grad))
        if finite:
            d.opt_img.step()
            d.opt_lr.step()
        return float(loss), finite, {"expert": expert_idx, "start_epoch": start_epoch}


class FreshNetworkMatching:
    """What DSA and DM share: a fresh ConvNet each iteration, real batches per class, a shared DSA draw per class."""

    learns_lr = False  # the proxy is trained with lr_net, as the DC/DSA/DM code evaluates its sets

    def __init__(self, d: "Distiller", experts: str | Path | None, model: ModelSpec | None):
        check_inputs(d.config.method, experts, model)
        ds = d.dataset
        self.spec = (model or ModelSpec()).for_data(ds.channels, ds.image_size, ds.num_classes)
        self.by_class = [(ds.train.y.cpu() == c).nonzero().flatten() for c in range(ds.num_classes)]
        probe = build_model(self.spec)
        self.has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in probe.modules())

    def settings(self) -> dict:
        return {"model": self.spec.to_dict()}

    def provenance(self) -> dict:
        return {}

    def _real(self, d: "Distiller", per_class: int) -> list[torch.Tensor]:
        x = d.dataset.train.x
        return [x[idx[torch.randperm(len(idx), generator=d.gen)[:per_class]].to(x.device)].to(d.device)
                for idx in self.by_class]

    def _augment(self, d: "Distiller"):
        seeds = [_seed(d.gen) for _ in self.by_class]
        return lambda c, x: dsa(x, d.config.dsa, seed=seeds[c], shared=True)

    def _syn(self, d: "Distiller") -> list[torch.Tensor]:
        return list(d.images.split(d.config.ipc))  # images are class-sorted, ipc per class

    def _image_step(self, d: "Distiller", loss: torch.Tensor) -> bool:
        d.opt_img.zero_grad(set_to_none=True)
        loss.backward(inputs=[d.images])  # the network's own gradients are not needed
        finite = math.isfinite(loss.item()) and bool(torch.isfinite(d.images.grad).all())
        if finite:
            d.opt_img.step()
        return finite


class GradientMatching(FreshNetworkMatching):
    """DSA (DC with `--dsa none`): see gradient_matching.py."""

    def step(self, d: "Distiller") -> tuple[float, bool, dict]:
        cfg = d.config
        net = build_model(self.spec, seed=_seed(d.gen), device=d.device)
        net_opt = torch.optim.SGD(net.parameters(), lr=cfg.lr_net)
        losses = []
        for outer in range(cfg.outer_loop):
            net.train()
            if self.has_bn:
                self._fix_batchnorm(net, d)
            loss = gradient_matching_loss(net, self._real(d, cfg.batch_real), self._syn(d), self._augment(d))
            losses.append(loss.item())
            if not self._image_step(d, loss):
                return losses[-1], False, {}
            if outer < cfg.outer_loop - 1:
                self._train_on_synthetic(net, net_opt, d)
        return sum(losses) / len(losses), True, {}

    def _fix_batchnorm(self, net: nn.Module, d: "Distiller") -> None:
        """Set BatchNorm statistics to those of a real batch and freeze them while gradients are matched."""
        bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        with torch.no_grad():
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative: the statistics of exactly this batch
            net(torch.cat(self._real(d, BN_IMAGES_PER_CLASS)))
        for m in bns:
            m.momentum = 0.1
            m.eval()

    def _train_on_synthetic(self, net: nn.Module, net_opt: torch.optim.Optimizer, d: "Distiller") -> None:
        cfg = d.config
        x, y = d.images.detach().clone(), d.labels
        net.train()
        for _ in range(cfg.inner_loop):
            perm = torch.randperm(len(y), generator=d.gen).to(x.device)
            for i in range(0, len(y), 256):
                idx = perm[i:i + 256]
                loss = F.cross_entropy(net(dsa(x[idx], cfg.dsa, generator=d.gen)), y[idx])
                net_opt.zero_grad(set_to_none=True)
                loss.backward()
                net_opt.step()


class DistributionMatching(FreshNetworkMatching):
    """DM: see distribution_matching.py."""

    def __init__(self, d: "Distiller", experts: str | Path | None, model: ModelSpec | None):
        super().__init__(d, experts, model)
        require_embedding(self.spec.arch, "--method dm matches embeddings")

    def step(self, d: "Distiller") -> tuple[float, bool, dict]:
        net = build_model(self.spec, seed=_seed(d.gen), device=d.device).train()
        for p in net.parameters():
            p.requires_grad_(False)
        loss = distribution_matching_loss(net, self._real(d, d.config.batch_real), self._syn(d), self._augment(d),
                                          one_batch=self.has_bn)
        return loss.item(), self._image_step(d, loss), {}

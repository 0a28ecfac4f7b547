"""The distillation loop: match expert trajectories, step images and syn_lr, keep FTD's EMA, checkpoint.

A run lives in a work directory (default: the proxy path + '.run'):
  config.json       resolved configuration, provenance, environment
  checkpoint.pt     images, syn_lr, EMA, optimizer and generator states, iteration (every K iterations)
  log.jsonl         one line per iteration: loss, syn_lr, expert, start epoch, seconds
  grids/            PNG grids of the synthetic images (without ZCA) at intervals
  curves-distillation.{png,pdf}   matching loss and learned lr per iteration (at the end)
Re-running the same command continues from the checkpoint and gives the same result as an uninterrupted run.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ftd_nas.data import DataConfig, Dataset
from ftd_nas.distill.config import DistillConfig
from ftd_nas.distill.matching import match_trajectory, plan_unroll
from ftd_nas.distill.presets import preset
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.evaluation import sample_per_class
from ftd_nas.experts import ExpertDirectory, TrajectoryError
from ftd_nas.figures.curves import load_curves, write_curves
from ftd_nas.figures.grid import save_grid
from ftd_nas.io import atomic_path, write_json
from ftd_nas.models import ModelSpec, ParamLayout, build_model
from ftd_nas.progress import progress
from ftd_nas.proxy import Proxy
from ftd_nas.runtime import environment_info

EXPERT_OPTIMIZER = {"ftd": "gsam", "mtt": "sgd"}


class Distiller:
    """One distillation run; `run()` resumes from the work directory's checkpoint when there is one."""

    def __init__(self, config: DistillConfig, experts: str | Path, out: str | Path, *, dataset: Dataset | None = None,
                 device: torch.device | str = "cpu", work_dir: str | Path | None = None, progress: bool | None = None):
        config.validate()
        self.config, self.out, self.device, self.show_progress = config, Path(out), torch.device(device), progress
        self.work = Path(work_dir) if work_dir else self.out.with_name(self.out.name + ".run")
        self.experts = ExpertDirectory(experts)
        meta = self.experts[0].meta
        self.notes: list[str] = []
        self._check_experts(meta)
        self.data_config = DataConfig(**meta["data_config"])
        self.dataset = dataset if dataset is not None else self.data_config.load(self.device)
        self.spec = ModelSpec.from_dict(meta["model"])
        self.model = build_model(self.spec, device=self.device).train()
        self.layout = ParamLayout(self.model)
        for expert in self.experts:
            expert.check_compatible(num_params=self.layout.num_params, dataset=self.dataset.fingerprint())
        self.gen = torch.Generator().manual_seed(config.seed)
        self.labels = torch.arange(self.dataset.num_classes, device=self.device).repeat_interleave(config.ipc)
        self.images = torch.nn.Parameter(self._init_images())
        self.syn_lr = torch.nn.Parameter(torch.tensor(config.lr_teacher, device=self.device))
        self.opt_img = torch.optim.SGD([self.images], lr=config.lr_img, momentum=config.momentum)
        self.opt_lr = torch.optim.SGD([self.syn_lr], lr=config.lr_lr, momentum=config.momentum)
        self.ema = self.images.detach().clone() if config.method == "ftd" else None
        self.iteration = 0
        self.seconds = 0.0

    # ------------------------------------------------------------------ checks and initialisation
    def _check_experts(self, meta: dict) -> None:
        cfg, needed = self.config, EXPERT_OPTIMIZER[self.config.method]
        got = meta["train"]["optimizer"]
        if got != needed:
            hint = ("FTD matches flat trajectories: train experts with `ftd-nas experts --optimizer gsam`"
                    if cfg.method == "ftd" else "MTT matches plain SGD trajectories (`--optimizer sgd`)")
            raise TrajectoryError(f"--method {cfg.method} needs {needed} experts, but {str(self.experts.path)!r} "
                                  f"holds {got} experts. {hint}, or use --method "
                                  f"{'mtt' if got == 'sgd' else 'ftd'}.")
        if cfg.max_start_epoch + cfg.expert_epochs > self.experts.num_epochs:
            raise ConfigError(f"max_start_epoch {cfg.max_start_epoch} + expert_epochs {cfg.expert_epochs} exceeds the "
                              f"{self.experts.num_epochs} epochs stored in {str(self.experts.path)!r}; lower "
                              "--max-start-epoch or train longer experts")
        values, _ = preset(meta["dataset"]["name"], cfg.ipc, cfg.method, cfg.family)
        if values["zca"] != meta["dataset"]["zca"] and cfg.preset.startswith(("FTD", "MTT")):
            self.notes.append(f"the preset uses ZCA={values['zca']} but these experts were trained with "
                              f"ZCA={meta['dataset']['zca']}")

    def _init_images(self) -> torch.Tensor:
        cfg, ds = self.config, self.dataset
        if cfg.init == "noise":
            shape = (ds.num_classes * cfg.ipc, ds.channels, *ds.image_size)
            return torch.randn(shape, generator=self.gen).to(self.device)
        real = sample_per_class(ds, cfg.ipc, self.gen, hint="; lower --ipc or use --init noise")
        return real.x.detach().clone().to(self.device)

    # ------------------------------------------------------------------ one iteration
    def _state(self, on_host: bool = True) -> dict:
        """Everything a resume needs; `on_host=False` keeps tensors on the device (the per-iteration rollback)."""
        keep = (lambda t: t.detach().cpu().clone()) if on_host else (lambda t: t.detach().clone())
        return {"iteration": self.iteration, "seconds": self.seconds, "images": keep(self.images),
                "syn_lr": keep(self.syn_lr), "ema": None if self.ema is None else keep(self.ema),
                # copies: state_dict() holds the live momentum buffers, which the next step changes
                "opt_img": copy.deepcopy(self.opt_img.state_dict()), "opt_lr": copy.deepcopy(self.opt_lr.state_dict()),
                "gen": self.gen.get_state(), "config": self.config.to_dict()}

    def _load_state(self, state: dict) -> None:
        with torch.no_grad():
            self.images.copy_(state["images"])
            self.syn_lr.copy_(state["syn_lr"])
        self.ema = None if state["ema"] is None else state["ema"].to(self.device)
        self.opt_img.load_state_dict(state["opt_img"])
        self.opt_lr.load_state_dict(state["opt_lr"])
        for opt, lr in ((self.opt_img, self.config.lr_img), (self.opt_lr, self.config.lr_lr)):
            for group in opt.param_groups:
                group["lr"] = lr  # a resumed run may lower the learning rates
        self.gen.set_state(state["gen"])
        self.iteration, self.seconds = int(state["iteration"]), float(state["seconds"])

    def step(self) -> dict:
        """One iteration of trajectory matching; on NaN/inf or syn_lr <= 0 roll back and raise."""
        cfg = self.config
        started = time.perf_counter()
        good = self._state(on_host=False)
        expert_idx = int(torch.randint(len(self.experts), (1,), generator=self.gen))
        start_epoch = int(torch.randint(cfg.max_start_epoch, (1,), generator=self.gen))
        start, target = (t.to(self.device) for t in
                         self.experts[expert_idx].snapshots(start_epoch, start_epoch + cfg.expert_epochs))
        plan = plan_unroll(len(self.labels), cfg.syn_steps, cfg.batch_syn or len(self.labels), self.gen)
        self.opt_img.zero_grad(set_to_none=True)
        self.opt_lr.zero_grad(set_to_none=True)
        loss = match_trajectory(self.model, self.layout, self.images, self.labels, self.syn_lr, start, target, plan,
                                cfg.dsa, cfg.unroll)
        finite = math.isfinite(float(loss)) and bool(torch.isfinite(self.images.grad).all()) \
            and bool(torch.isfinite(self.syn_lr.grad))
        if finite:
            self.opt_img.step()
            self.opt_lr.step()
        if not finite or not self.syn_lr.item() > 0 or not bool(torch.isfinite(self.images).all()):
            what = f"loss {float(loss):.4g}" if finite else "a NaN/inf loss or gradient"
            self._load_state(good)
            self._save_checkpoint()
            raise NonFiniteError(
                f"distillation diverged at iteration {self.iteration + 1} ({what}, syn_lr "
                f"{self.syn_lr.item():.4g}); rolled back to iteration {self.iteration} and saved that state. Lower "
                f"--lr-img (now {cfg.lr_img:g}) or --lr-lr (now {cfg.lr_lr:g}), or --syn-steps (now {cfg.syn_steps}),"
                " then re-run to continue from the checkpoint.")
        if self.ema is not None:
            self.ema.mul_(cfg.ema_decay).add_(self.images.detach(), alpha=1 - cfg.ema_decay)
        self.iteration += 1
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        return {"it": self.iteration, "loss": float(loss), "syn_lr": self.syn_lr.item(), "expert": expert_idx,
                "start_epoch": start_epoch, "seconds": elapsed}

    # ------------------------------------------------------------------ files
    def _save_checkpoint(self) -> None:
        with atomic_path(self.work / "checkpoint.pt") as tmp:
            torch.save(self._state(), tmp)

    def _resume(self) -> bool:
        path = self.work / "checkpoint.pt"
        if not path.exists():
            return False
        state = torch.load(path, map_location="cpu", weights_only=True)
        stored, now = state["config"], self.config.to_dict()
        diff = [k for k in now if k not in DistillConfig.RESUMABLE_CHANGES and stored.get(k) != now[k]]
        if diff:
            raise ConfigError(f"{str(self.work)!r} holds a run with other settings ("
                              + ", ".join(f"{k}: {stored.get(k)!r} vs {now[k]!r}" for k in diff)
                              + "); use another --out or --work-dir, or delete that folder to start over")
        self._load_state(state)
        log = self.work / "log.jsonl"
        if log.exists():  # drop lines of iterations after the checkpoint: they will be redone
            lines = [ln for ln in log.read_text().splitlines() if ln and json.loads(ln)["it"] <= self.iteration]
            with atomic_path(log) as tmp:
                tmp.write_text("".join(ln + "\n" for ln in lines))
        return True

    def _finished_proxy(self) -> Proxy | None:
        """The proxy this exact run already wrote (kept as is, with its evaluations), if any."""
        if not self.out.exists():
            return None
        proxy = Proxy.load(self.out)
        stored, now = proxy.meta["config"], self.config.to_dict()
        same = all(stored.get(k) == now[k] for k in now if k not in DistillConfig.RESUMABLE_CHANGES)
        return proxy if same and proxy.meta["iterations"] >= self.config.iterations else None

    def display_images(self, ema: bool = True) -> torch.Tensor:
        images = self.ema if (ema and self.ema is not None) else self.images.detach()
        return self.dataset.to_display(images)

    def _save_grid(self) -> None:
        save_grid(self.work / "grids" / f"iter_{self.iteration:06d}.png", self.display_images(), nrow=self.config.ipc)

    def proxy(self) -> Proxy:
        ds, cfg = self.dataset, self.config
        images = self.ema if self.ema is not None else self.images.detach()
        meta = {"classes": ds.classes, "image_size": list(ds.image_size), "channels": ds.channels,
                "mean": list(ds.mean), "std": list(ds.std), "ipc": cfg.ipc, "model": self.spec.to_dict(),
                "method": cfg.method, "config": cfg.to_dict(), "iterations": self.iteration,
                "dataset": ds.fingerprint(), "data_config": asdict(self.data_config),
                "provenance": {"experts": str(self.experts.path), "num_experts": len(self.experts),
                               "expert_settings": self.experts.settings, "seconds": self.seconds,
                               "environment": environment_info(self.device),
                               "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
                "evaluations": []}
        return Proxy(images.detach().cpu(), self.labels.cpu(), self.syn_lr.item(), meta,
                     self.images.detach().cpu() if self.ema is not None else None,
                     ds.zca.to("cpu") if ds.zca is not None else None)

    # ------------------------------------------------------------------ the loop
    def run(self) -> Proxy:
        cfg = self.config
        finished = self._finished_proxy()
        if finished is not None:
            return finished
        self.work.mkdir(parents=True, exist_ok=True)
        resumed = self._resume()
        write_json(self.work / "config.json", {"config": cfg.to_dict(), "experts": str(self.experts.path),
                                               "data": asdict(self.data_config), "model": self.spec.to_dict(),
                                               "dataset": self.dataset.fingerprint(), "notes": self.notes,
                                               "resumed_at": self.iteration if resumed else None,
                                               "environment": environment_info(self.device)})
        if self.iteration == 0:
            self._save_grid()
        bar = progress(range(self.iteration, cfg.iterations), desc=f"distill {cfg.method}", total=cfg.iterations,
                       enabled=self.show_progress)
        bar.update(self.iteration)
        with open(self.work / "log.jsonl", "a") as log:
            for _ in range(self.iteration, cfg.iterations):
                record = self.step()
                log.write(json.dumps(record) + "\n")
                log.flush()
                bar.update(1)
                bar.set_postfix(loss=f"{record['loss']:.4f}", syn_lr=f"{record['syn_lr']:.5f}")
                if self.iteration % cfg.checkpoint_every == 0 or self.iteration == cfg.iterations:
                    self._save_checkpoint()
                if self.iteration % cfg.image_every == 0 or self.iteration == cfg.iterations:
                    self._save_grid()
        bar.close()
        write_curves([load_curves(self.work)], self.work / "curves")
        proxy = self.proxy()
        proxy.save(self.out)
        return proxy


def distill(config: DistillConfig, experts: str | Path, out: str | Path, **kwargs) -> Proxy:
    """Distill a proxy into `out` from the experts in `experts` (resuming an interrupted run)."""
    return Distiller(config, experts, out, **kwargs).run()

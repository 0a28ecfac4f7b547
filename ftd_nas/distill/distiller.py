"""The distillation loop of every method: step the images (and MTT/FTD's learned lr), keep FTD's EMA, roll back
a diverging step, checkpoint, write the proxy.

A run lives in a work directory (default: the proxy path + '.run'):
  config.json       resolved configuration, provenance, environment
  checkpoint.pt     images, syn_lr, EMA, optimizer and generator states, iteration, settings (every K iterations)
  claim             which process is distilling here (one at a time)
  log.jsonl         one line per iteration: loss, syn_lr, seconds (and expert, start epoch for FTD/MTT)
  grids/            PNG grids of the synthetic images (without ZCA) at intervals
  curves-distillation.{png,pdf}   matching loss and learned lr per iteration (at the end)
Re-running the same command continues from the checkpoint and gives the same result as an uninterrupted run.
The folder's settings are fixed by its first checkpoint; before that, a run with other settings starts afresh.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import time
from pathlib import Path

import torch

from ftd_nas.claims import release, try_claim
from ftd_nas.data import Dataset
from ftd_nas.distill.presets import preset
from ftd_nas.errors import ConfigError, FtdNasError, NonFiniteError
from ftd_nas.evaluation import sample_per_class
from ftd_nas.experts import ExpertDirectory
from ftd_nas.figures.curves import load_curves, write_curves
from ftd_nas.figures.grid import save_grid
from ftd_nas.io import atomic_path, load_checkpoint, write_json
from ftd_nas.models import ModelSpec
from ftd_nas.origins import DistillConfig
from ftd_nas.paths import inside
from ftd_nas.progress import progress
from ftd_nas.proxy_methods import lookup
from ftd_nas.proxy import RANGE_FACTOR, Proxy, ProxyRecord
from ftd_nas.records import diff_settings, folder_label, format_diff
from ftd_nas.runtime import environment_info

SYN_LR_FACTOR = 100.0  # a learned lr this many times its start has run away: the next steps would diverge


def _iteration_of(line: str) -> int | None:
    try:
        return int(json.loads(line)["it"])
    except (ValueError, KeyError, TypeError):
        return None


WORK_FILES = ("checkpoint.pt", "log.jsonl", "grids")  # read, appended to, written into (the rest: replaced whole)


class Distiller:
    """One distillation run of any method (`methods.py`); `run()` resumes from the work directory's checkpoint."""

    def __init__(self, config: DistillConfig, experts: str | Path | None, out: str | Path, *, dataset: Dataset,
                 model: ModelSpec | None = None, device: torch.device | str = "cpu", work_dir: str | Path | None = None,
                 progress: bool | None = None, overwrite: bool = False):
        self.config, self.out, self.device, self.show_progress = config, Path(out), torch.device(device), progress
        self.overwrite = overwrite
        self.work = Path(work_dir) if work_dir else \
            inside(self.out.parent, self.out.name + ".run", "the work folder of the proxy")
        self.dataset = dataset
        self.notes: list[str] = []
        self.method = lookup(config.method).strategy(self, experts, model)
        self.spec = self.method.spec
        self.settings = {"distill": config.settings(), **self.method.settings(),
                         "data": dataset.fingerprint().settings()}
        self.gen = torch.Generator().manual_seed(config.seed)
        self.labels = torch.arange(self.dataset.num_classes, device=self.device).repeat_interleave(config.ipc)
        self.images = torch.nn.Parameter(self._init_images())
        self.opt_img = torch.optim.SGD([self.images], lr=config.lr_img, momentum=config.momentum)
        if self.method.learns_lr:
            self.syn_lr = torch.nn.Parameter(torch.tensor(config.lr_teacher, device=self.device))
            self.opt_lr = torch.optim.SGD([self.syn_lr], lr=config.lr_lr, momentum=config.momentum)
        else:  # the lr the method's code trains (and evaluates) networks on its sets with
            self.syn_lr, self.opt_lr = torch.tensor(config.lr_net, device=self.device), None
        self.ema = self.images.detach().clone() if lookup(config.method).keeps_ema else None
        # images far beyond the real data's range mean the run has diverged (even while still finite)
        self.value_bound = RANGE_FACTOR * float(dataset.train.x.abs().max())
        self.iteration = 0
        self.seconds = 0.0

    @property
    def experts(self) -> ExpertDirectory | None:
        return getattr(self.method, "experts", None)

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
                "opt_img": copy.deepcopy(self.opt_img.state_dict()),
                "opt_lr": copy.deepcopy(self.opt_lr.state_dict()) if self.opt_lr is not None else None,
                "gen": self.gen.get_state(), "config": self.config.to_dict(), "settings": self.settings}

    def _load_state(self, state: dict) -> None:
        with torch.no_grad():
            self.images.copy_(state["images"])
            self.syn_lr.copy_(state["syn_lr"])
        self.ema = None if state["ema"] is None else state["ema"].to(self.device)
        self.opt_img.load_state_dict(state["opt_img"])
        if self.opt_lr is not None:
            self.opt_lr.load_state_dict(state["opt_lr"])
        for opt, lr in ((self.opt_img, self.config.lr_img), (self.opt_lr, self.config.lr_lr)):
            for group in opt.param_groups if opt is not None else []:
                group["lr"] = lr  # a resumed run may lower the learning rates
        self.gen.set_state(state["gen"])
        self.iteration, self.seconds = int(state["iteration"]), float(state["seconds"])

    def step(self) -> dict:
        """One iteration of the method; on NaN/inf, a runaway syn_lr or images far outside the data, roll back and
        raise."""
        cfg = self.config
        started = time.perf_counter()
        good = self._state(on_host=False)
        loss, finite, extras = self.method.step(self)
        problem = self._divergence(finite, loss)
        if problem is not None:
            self._load_state(good)
            self._save_checkpoint()
            raise NonFiniteError(f"distillation diverged at iteration {self.iteration + 1} ({problem}); rolled back "
                                 f"to iteration {self.iteration} and saved that state. {self._advice(problem)}")
        if self.ema is not None:
            self.ema.mul_(cfg.ema_decay).add_(self.images.detach(), alpha=1 - cfg.ema_decay)
        self.iteration += 1
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        return {"it": self.iteration, "loss": loss, "syn_lr": self.syn_lr.item(), **extras, "seconds": elapsed}

    def _divergence(self, finite: bool, loss: float) -> str | None:
        """What went wrong in this step, if anything: non-finite values, syn_lr <= 0, images far outside the data."""
        if not finite:
            return "a NaN/inf loss or gradient"
        syn_lr = self.syn_lr.item()
        if self.method.learns_lr and not 0 < syn_lr <= SYN_LR_FACTOR * self.config.lr_teacher:
            return (f"the learned lr syn_lr became {syn_lr:.4g}, outside (0, {SYN_LR_FACTOR:g} x --lr-teacher "
                    f"{self.config.lr_teacher:g}]")
        largest = float(self.images.detach().abs().max())
        if not math.isfinite(largest) or largest > self.value_bound:
            return (f"image values reached {largest:.3g}, beyond {RANGE_FACTOR:g} times the largest magnitude of the "
                    f"real training images ({self.value_bound / RANGE_FACTOR:.3g}); loss {loss:.4g}")
        return None

    def _advice(self, problem: str) -> str:
        """Concrete options that let the run continue: the preset's learning rates where they were raised above
        it, else a tenth of the rate that caused the problem (syn_lr's when it left its range, else the images')."""
        cfg = self.config
        values, _ = preset(self.dataset.fingerprint().name, cfg.ipc, cfg.method, cfg.family)
        current = {"--lr-img": cfg.lr_img, **({"--lr-lr": cfg.lr_lr} if self.method.learns_lr else {})}
        changes = {opt: values[opt[2:].replace("-", "_")] for opt, now in current.items()
                   if now > values[opt[2:].replace("-", "_")]}
        if not changes:
            runaway_lr = self.method.learns_lr and (problem.startswith("the learned lr")
                                                    or not 0 < self.syn_lr.item() < 10 * cfg.lr_teacher)
            opt = "--lr-lr" if runaway_lr else "--lr-img"
            changes = {opt: current[opt] / 10}
        options = " ".join(f"{opt} {value:g}" for opt, value in changes.items())
        now = ", ".join(f"{opt} {current[opt]:g}" for opt in changes)
        return (f"Re-run the same command with {options} (now {now}) to continue from there; if it diverges again, "
                f"lower it further or lower --syn-steps (now {cfg.syn_steps}).")

    # ------------------------------------------------------------------ files
    def _save_checkpoint(self) -> None:
        with atomic_path(self.work / "checkpoint.pt") as tmp, open(tmp, "wb") as fh:
            torch.save(self._state(), fh)  # through a file object, so that a full disk's OSError reaches us

    def _resume(self) -> bool:
        """Continue from the work folder's checkpoint; without one, start afresh (clearing a failed run's log)."""
        path = self.work / "checkpoint.pt"
        if not path.exists():
            for leftover in (self.work / "log.jsonl", self.work / "grids"):
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
            return False
        state = load_checkpoint(path, "iteration", "images", "syn_lr", "ema", "opt_img", "opt_lr", "gen", "config")
        # v1 checkpoints recorded only the configuration
        stored = state.get("settings") or {"distill": {k: v for k, v in state["config"].items()
                                                       if k not in DistillConfig.RESUMABLE_CHANGES}}
        diff = diff_settings(stored, self.settings)
        if diff:
            raise ConfigError(f"{str(self.work)!r} holds a run with other settings ({format_diff(diff)}; stored vs "
                              "requested); use another --out or --work-dir, or delete that folder to start over")
        self._load_state(state)
        log = self.work / "log.jsonl"
        if log.exists():  # drop lines of iterations after the checkpoint (and a line cut by a crash): redone
            with atomic_path(log) as tmp:
                tmp.write_text("".join(ln + "\n" for ln in log.read_text().splitlines()
                                       if _iteration_of(ln) is not None and _iteration_of(ln) <= self.iteration))
        return True

    def _finished_proxy(self) -> Proxy | None:
        """The proxy this run already wrote, if any; refuse to replace another result without `overwrite`."""
        if not self.out.exists():
            return None
        try:
            proxy = Proxy.load(self.out)
            made = proxy.record
            made_by = made.distill.settings() if made.distill is not None else {"method": made.method}
            recorded = {"distill": made_by, "experts": made.experts.get("settings") or {},
                        "model": made.model.to_dict(), "data": made.data.settings()}
            diff = diff_settings(recorded, self.settings)  # only the keys this method records are compared
            why = f"other settings: {format_diff(diff)}; file vs requested"
        except FtdNasError as exc:  # unreadable: not a result of this run either
            proxy, diff, why = None, ["unreadable"], f"not a readable proxy: {exc}"
        if not diff and proxy.record.iterations >= self.config.iterations:
            return proxy
        if diff and not self.overwrite:
            raise ConfigError(f"{str(self.out)!r} exists and was not made by this distillation ({why}); pass "
                              "--overwrite to replace it, or choose another --out")
        return None  # ours with fewer iterations: this run continues and rewrites it

    def display_images(self, ema: bool = True) -> torch.Tensor:
        images = self.ema if (ema and self.ema is not None) else self.images.detach()
        return self.dataset.to_display(images)

    def _save_grid(self) -> None:
        save_grid(self.work / "grids" / f"iter_{self.iteration:06d}.png", self.display_images(), nrow=self.config.ipc)

    def proxy(self) -> Proxy:
        ds, cfg = self.dataset, self.config
        images = self.ema if self.ema is not None else self.images.detach()
        record = ProxyRecord(method=cfg.method, ipc=cfg.ipc, iterations=self.iteration, model=self.spec,
                             data=ds.fingerprint(), distill=cfg, experts=self.method.provenance(),
                             seconds=self.seconds, environment=environment_info(self.device),
                             created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        return Proxy(images.detach().cpu(), self.labels.cpu(), self.syn_lr.item(), record,
                     self.images.detach().cpu() if self.ema is not None else None)

    # ------------------------------------------------------------------ the loop
    def run(self) -> Proxy:
        finished = self._finished_proxy()
        if finished is not None:
            return finished
        for name in WORK_FILES:  # a resumed work folder may come from elsewhere: its files are its own, or refused
            inside(self.work, name, "the distillation's file")
        self.work.mkdir(parents=True, exist_ok=True)
        claim = self.work / "claim"
        if not try_claim(claim):
            raise ConfigError(f"another process is distilling into {str(self.work)!r} right now ({claim.read_text()}); "
                              "wait for it, or use another --out or --work-dir")
        try:
            return self._run()
        finally:
            release(claim)

    def _run(self) -> Proxy:
        cfg = self.config
        resumed = self._resume()
        experts = folder_label(self.experts.path) if self.experts is not None else None
        write_json(self.work / "config.json", {"config": cfg.to_dict(), "experts": experts,
                                               "settings": self.settings, "model": self.spec.to_dict(),
                                               "notes": self.notes, "resumed_at": self.iteration if resumed else None,
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


def distill(config: DistillConfig, experts: str | Path | None, out: str | Path, *, dataset: Dataset,
            **kwargs) -> Proxy:
    """Distill a proxy into `out` from the real `dataset` (and, for FTD and MTT, the experts in `experts`, trained on
    that data: checked by fingerprint), resuming an interrupted run."""
    return Distiller(config, experts, out, dataset=dataset, **kwargs).run()

"""Device and thread choice, and the environment record stored next to every result."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import torch

from ftd_nas.cpus import allotment, runnable_elsewhere, share_of
from ftd_nas.errors import ConfigError


# At most this many torch threads per CPU of the machine: more only make threads wait on each other, and far more
# (--threads 100000) exhaust memory as torch starts its pools, a crash far from its cause.
MAX_THREADS_PER_CPU = 4


def resolve_device(name: str = "auto") -> torch.device:
    """Turn 'auto', 'cpu', 'cuda' or 'cuda:N' into a device, failing clearly when CUDA is absent.

    A SLURM task that sees several GPUs (one job step holding a node's GPUs) takes the one of its local rank.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    local_rank = os.environ.get("SLURM_LOCALID", "")
    if device.type == "cuda" and device.index is None and local_rank.isdigit() and torch.cuda.device_count() > 1:
        device = torch.device("cuda", int(local_rank) % torch.cuda.device_count())
    return device


@dataclass(frozen=True)
class ThreadPlan:
    threads: int
    allotted: int  # CPUs this process may use: its affinity mask, or fewer when SLURM allots fewer
    workers: int  # workers started together on this machine, sharing the allotted CPUs
    reason: str

    def describe(self) -> str:
        return f"{self.threads} torch threads ({self.reason})"


def _check_threads(threads: int, source: str, allotted: int, machine: int) -> None:
    cap = MAX_THREADS_PER_CPU * machine
    if threads > cap:
        raise ConfigError(f"{source} {threads} is more than {cap} torch threads ({MAX_THREADS_PER_CPU} per CPU of "
                          f"this machine's {machine}): more threads than CPUs only wait on each other, and so many "
                          f"exhaust the memory as torch starts them. Give at most {cap}, or leave it out to take the "
                          f"{allotted} CPUs allotted to this process")


def plan_threads(requested: int | None = None, environ: dict | None = None,
                 affinity: set[int] | None = None, machine_cpus: int | None = None,
                 load: int | None = None) -> ThreadPlan:
    """How many threads torch should use here.

    Torch's default, one thread per core of the machine, makes processes that share cores fight for them (on a
    2-core machine scripts/bench_threads.py's search took 71 s beside one busy process with 2 threads, 14 s with
    one; 9 s alone): so by default a worker takes its share of the CPUs it is allotted, divided among the workers
    started with it, and no more than the CPUs free of other work. --threads, or OMP_NUM_THREADS set by the user,
    wins, up to MAX_THREADS_PER_CPU per CPU of the machine (`machine_cpus`, default os.cpu_count()).

    `load` is the number of other runnable tasks on the machine (default: runnable_elsewhere(), read only when the
    default is taken). They are taken to fill the machine's CPUs outside this process's allotment first (a SLURM
    job or an affinity mask keeps other work on other cores): only the rest take allotted CPUs. The workers
    started with this one count as load once they run; the result is never below 1.
    """
    environ = os.environ if environ is None else environ
    allotted, workers, machine = allotment(environ, affinity, machine_cpus)
    if requested is not None:
        _check_threads(requested, "--threads", allotted, machine)
        return ThreadPlan(requested, allotted, workers, "--threads")
    omp = environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:
        _check_threads(int(omp), "OMP_NUM_THREADS", allotted, machine)
        return ThreadPlan(int(omp), allotted, workers, "OMP_NUM_THREADS")
    cpus = share_of(allotted, workers, machine, runnable_elsewhere(environ) if load is None else load)
    threads = max(1, min(cpus.share, cpus.free))
    reason = f"{allotted} CPUs allotted / {workers} worker{'s' if workers > 1 else ''} on this machine"
    if cpus.crowded:
        reason += (f", {cpus.free} free: {cpus.others} other runnable task{'s' if cpus.others != 1 else ''} on the "
                   f"machine's {machine} CPUs")
    return ThreadPlan(threads, allotted, workers, reason)


_applied: list[ThreadPlan] = []  # the plan this process runs under (torch's thread count is process-wide too)


def apply_threads(plan: ThreadPlan) -> None:
    if torch.get_num_threads() != plan.threads:
        torch.set_num_threads(plan.threads)
    _applied[:] = [plan]


def describe_threads() -> str:
    """This process's torch threads and why (as applied by the CLI), for a worker's log."""
    plan = _applied_plan()
    return plan.describe() if plan else f"{torch.get_num_threads()} torch threads"


def _applied_plan() -> ThreadPlan | None:
    """The plan applied by the CLI, if torch still runs under it (a library caller may have changed the count)."""
    return _applied[0] if _applied and _applied[0].threads == torch.get_num_threads() else None


def host_to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU tensor to `device` without making the host wait for the GPU (pinned, non-blocking)."""
    if device.type != "cuda" or not tensor.is_cpu:
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment_info(device: torch.device | None = None) -> dict:
    """Versions and hardware that produced a result, for the run record."""
    import ftd_nas

    plan = _applied_plan()
    info = {
        "ftd_nas": ftd_nas.__version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "optuna": _version("optuna"),
        "safetensors": _version("safetensors"),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_threads_reason": plan.reason if plan else None,
        # as read when the run record is made; the `ftd-nas` command sets PASSIVE before torch loads (__main__.py)
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY") or None,
        "cuda": torch.version.cuda,
    }
    if device is not None:
        info["device"] = str(device)
        if device.type == "cuda":
            info["gpu"] = torch.cuda.get_device_name(device)
    return info

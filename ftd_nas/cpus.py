"""What this process may use of the machine's CPUs and how busy the machine is, read without importing torch:
the `ftd-nas` command decides how OpenMP threads wait from it before torch loads (__main__.py), and the thread plan
sizes torch's threads from it (runtime.plan_threads)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ftd_nas.errors import ConfigError

LOCAL_WORKERS_ENV = "FTD_NAS_LOCAL_WORKERS"  # set by a parent that starts several workers on this machine
# The number of other runnable tasks on this machine, instead of reading it from /proc/loadavg: for tests, and for
# users who know better (0 turns the load sensing off).
OTHER_RUNNABLE_ENV = "FTD_NAS_OTHER_RUNNABLE"
LOADAVG = "/proc/loadavg"
LOAD_SAMPLES, LOAD_SAMPLE_GAP = 3, 0.01  # the fewest of 3 readings 10 ms apart: a passing task is not a load


def allotted_cpus(environ: dict | None = None, affinity: set[int] | None = None) -> int:
    environ = os.environ if environ is None else environ
    cpus = len(affinity if affinity is not None else os.sched_getaffinity(0))
    slurm = environ.get("SLURM_CPUS_PER_TASK", "")
    return min(cpus, int(slurm)) if slurm.isdigit() and int(slurm) > 0 else cpus


def runnable_elsewhere(environ: dict | None = None, path: str = LOADAVG) -> int:
    """How many other tasks (threads of other processes, mostly) want a CPU now: the running count of
    /proc/loadavg's 4th field (running/total) less this process, the fewest of LOAD_SAMPLES readings.

    FTD_NAS_OTHER_RUNNABLE, a whole number, overrides it; any other value is refused (a ConfigError saying so)
    rather than silently sensing the load the user meant to override. Without /proc (not Linux) it is 0.
    """
    environ = os.environ if environ is None else environ
    given = environ.get(OTHER_RUNNABLE_ENV, "").strip()
    if given:
        if not given.isdigit():
            raise ConfigError(f"{OTHER_RUNNABLE_ENV}={given!r} is not a whole number: give the number of other "
                              "runnable tasks on this machine (0 to size threads as if it were idle), or unset it")
        return int(given)
    readings = []
    for sample in range(LOAD_SAMPLES):
        if sample:
            time.sleep(LOAD_SAMPLE_GAP)
        try:
            with open(path) as f:
                running = f.read().split()[3].split("/")[0]
        except (OSError, IndexError):
            return 0
        if not running.isdigit():
            return 0
        readings.append(int(running) - 1)  # this process is running as it reads
    return max(0, min(readings))


@dataclass(frozen=True)
class CpuShare:
    """This process's part of the machine's CPUs as it starts."""
    allotted: int  # CPUs it may use: its affinity mask, or fewer when SLURM allots fewer
    workers: int  # workers started together on this machine, sharing the allotted CPUs
    machine: int  # the machine's CPUs
    others: int  # other runnable tasks on the machine
    share: int  # the allotted CPUs divided among the workers (at least 1)
    free: int  # the allotted CPUs not wanted by other work: other work fills the CPUs outside the allotment first

    @property
    def crowded(self) -> bool:
        """Other work wants CPUs of this process's share."""
        return self.free < self.share


def allotment(environ: dict, affinity: set[int] | None = None, machine_cpus: int | None = None
              ) -> tuple[int, int, int]:
    """(CPUs allotted to this process, workers started with it on this machine, the machine's CPUs)."""
    allotted = allotted_cpus(environ, affinity)
    workers = int(environ[LOCAL_WORKERS_ENV]) if environ.get(LOCAL_WORKERS_ENV, "").isdigit() else 1
    return allotted, max(workers, 1), max(machine_cpus or os.cpu_count() or 1, allotted)


def share_of(allotted: int, workers: int, machine: int, others: int) -> CpuShare:
    """The share of a process given its `allotment` and the other runnable tasks on the machine."""
    if others < 0:
        raise ValueError(f"load must be at least 0, not {others}")
    free = max(0, allotted - max(0, others - (machine - allotted)))
    return CpuShare(allotted, workers, machine, others, max(1, allotted // workers), free)


def cpu_share(environ: dict | None = None, load: int | None = None) -> CpuShare:
    """This process's share as it starts; `load` gives the other runnable tasks instead of `runnable_elsewhere`."""
    environ = os.environ if environ is None else environ
    return share_of(*allotment(environ), runnable_elsewhere(environ) if load is None else load)

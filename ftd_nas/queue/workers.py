"""Several search workers on one machine: `ftd-nas search --workers N` or `--devices 0,1,...` starts the same
command once per worker, and they share the study's queue like workers on different machines.

A listed GPU index may repeat (0,0,1,1): small candidates leave most of a large GPU idle, and several
workers on one GPU overlap one candidate's launch gaps with another's kernels. Each child learns how many
workers share the machine (FTD_NAS_LOCAL_WORKERS), so by default it takes its share of the CPUs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Sequence

from ftd_nas.errors import ConfigError
from ftd_nas.cpus import LOCAL_WORKERS_ENV


def strip_option(argv: Sequence[str], name: str, has_value: bool = True) -> list[str]:
    """argv without `name VALUE` / `name=VALUE` (or the flag `name`)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = has_value
        elif not arg.startswith(name + "="):
            out.append(arg)
    return out


def parse_devices(devices: str) -> list[str]:
    ids = [d.strip() for d in devices.split(",") if d.strip()]
    if not ids or not all(d.isdigit() for d in ids):
        raise ConfigError(f"--devices takes GPU indices like 0,1,2,3, got {devices!r}")
    return [f"cuda:{d}" for d in ids]


def worker_commands(argv: Sequence[str], workers: int | None = None, devices: str | None = None) -> list[list[str]]:
    """The command line of each local worker: the same search, one per device (--devices) or N times (--workers)."""
    base = strip_option(strip_option(argv, "--devices"), "--workers")
    if devices:
        targets = parse_devices(devices)
        if workers is not None and workers != len(targets):
            raise ConfigError(f"--workers {workers} and --devices {devices} disagree: --devices starts one worker "
                              "per listed index (repeat an index for several workers on one GPU)")
        base = strip_option(base, "--device")
        return [[sys.executable, "-m", "ftd_nas", *base, "--device", device] for device in targets]
    return [[sys.executable, "-m", "ftd_nas", *base] for _ in range(workers or 1)]


def spawn_workers(commands: list[list[str]]) -> int:
    """Run the worker commands in parallel; the worst exit code wins."""
    env = {**os.environ, LOCAL_WORKERS_ENV: str(len(commands))}
    procs = [subprocess.Popen(cmd, env=env) for cmd in commands]
    codes = [p.wait() for p in procs]
    return max(codes, key=abs)

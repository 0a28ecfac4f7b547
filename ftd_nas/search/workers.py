"""Search workers per GPU: `ftd-nas search --devices 0,1,...` starts the same command once per listed device.

A listed index may repeat (0,0,1,1): small candidates leave most of a large GPU idle, and several
workers on one GPU overlap one candidate's launch gaps with another's kernels.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Sequence

from ftd_nas.errors import ConfigError


def strip_option(argv: Sequence[str], name: str) -> list[str]:
    """argv without `name VALUE` / `name=VALUE`."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + "="):
            out.append(arg)
    return out


def spawn_device_workers(argv: Sequence[str], devices: str) -> int:
    """Run `ftd-nas search ARGV --device cuda:D` for each D in '0,1,...' in parallel; the worst exit code wins."""
    ids = [d.strip() for d in devices.split(",") if d.strip()]
    if not ids or not all(d.isdigit() for d in ids):
        raise ConfigError(f"--devices takes GPU indices like 0,1,2,3, got {devices!r}")
    base = strip_option(strip_option(argv, "--devices"), "--device")
    procs = [subprocess.Popen([sys.executable, "-m", "ftd_nas", *base, "--device", f"cuda:{d}"]) for d in ids]
    codes = [p.wait() for p in procs]
    return max(codes, key=abs)

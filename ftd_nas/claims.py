"""Claim files that let several processes share one folder without doing one piece of work twice.

A claim is created with O_EXCL, so exactly one process wins it. It is stale (and may be taken over) when
its process is gone from this host, or when its heartbeat (mtime, touched every epoch) is older than
`stale_after` seconds, e.g. after a crash on another machine.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(path: Path, stale_after: float) -> bool:
    try:
        info = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
    except (OSError, json.JSONDecodeError):
        return True  # unreadable or half-written by a crashed process
    if info.get("host") == socket.gethostname() and not _alive(int(info.get("pid", -1))):
        return True
    return age > stale_after


def claim_is_live(path: Path, stale_after: float = 3600.0) -> bool:
    """Is someone (alive, with a recent heartbeat) holding this claim?"""
    return path.exists() and not _is_stale(path, stale_after)


def try_claim(path: Path, stale_after: float = 3600.0) -> bool:
    """Create the claim file atomically; True if this process now owns it."""
    payload = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()})
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)  # the umask decides
        except FileExistsError:
            if not _is_stale(path, stale_after):
                return False
            try:  # exactly one process can move the stale claim away; the others fail here
                os.rename(path, path.with_name(f"{path.name}.stale.{os.getpid()}"))
                os.unlink(path.with_name(f"{path.name}.stale.{os.getpid()}"))
            except FileNotFoundError:
                return False
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(payload)
        return True
    return False


def heartbeat(path: Path) -> None:
    try:
        os.utime(path)
    except FileNotFoundError:
        pass


def release(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

"""Claim files that let several processes share one folder without doing one piece of work twice.

A claim appears whole or not at all: its content (host, pid, a random token) is written to a private file
first and then hard-linked to the claim's name, which fails if the claim exists (atomic, also on NFS). It is
stale (and may be taken over) when its process is gone from this host, or when its heartbeat (mtime, touched
every epoch) is older than `stale_after` seconds, e.g. after a crash on another machine.

Takeovers take a lock (one at a time), then move the stale claim aside and check that what they moved is the
claim they judged stale (a fresh one is put back): before, two processes taking over one stale claim at once
could both win, the slower one moving the faster one's fresh claim away. A release removes only this
process's own claim.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

from ftd_nas.lockfile import TokenSymlinkLock

UNREADABLE_STALE_AFTER = 60.0  # seconds: a claim an older version left half-written is someone's for no longer
TAKEOVER_GRACE = 10.0  # seconds after which a takeover lock left by a killed process is broken (held for microseconds)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> tuple[bytes, float] | None:
    """The claim's content and its age in seconds; None when there is no claim."""
    try:
        with open(path, "rb") as fh:
            content = fh.read()
            return content, time.time() - os.fstat(fh.fileno()).st_mtime
    except FileNotFoundError:
        return None


def _is_stale(content: bytes, age: float, stale_after: float) -> bool:
    try:
        info = json.loads(content)
        host, pid = info["host"], int(info["pid"])
    except (ValueError, KeyError, TypeError):
        return age > min(stale_after, UNREADABLE_STALE_AFTER)
    if host == socket.gethostname() and not _alive(pid):
        return True
    return age > stale_after


def _mine(content: bytes) -> bool:
    try:
        info = json.loads(content)
        return info["host"] == socket.gethostname() and int(info["pid"]) == os.getpid()
    except (ValueError, KeyError, TypeError):
        return False


def _move_aside(path: Path) -> tuple[Path, bytes] | None:
    """Rename the claim to a private name (only one process can) and read it; None when it was gone."""
    aside = path.with_name(f"{path.name}.{uuid.uuid4().hex}.aside")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    return aside, aside.read_bytes()


def _link(src: Path, dst: Path) -> bool:
    """Give `dst` the content of `src` unless `dst` exists, atomically; False if it exists."""
    try:
        os.link(src, dst)
        return True
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links (some FUSE and SMB mounts): exclusive create, then write
        try:
            fd = os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)  # the umask decides
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(src.read_bytes())
        return True


def _put_back(aside: Path, path: Path) -> None:
    _link(aside, path)  # fails only when a third process claimed it meanwhile; the moved claim's owner finds it gone
    aside.unlink()


def claim_is_live(path: Path, stale_after: float = 3600.0) -> bool:
    """Is someone (alive, with a recent heartbeat) holding this claim?"""
    found = _read(path)
    return found is not None and not _is_stale(*found, stale_after)


def try_claim(path: Path, stale_after: float = 3600.0) -> bool:
    """Create the claim atomically, taking over a stale one; True if this process now owns it."""
    payload = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
                          "token": uuid.uuid4().hex})
    private = path.with_name(f"{path.name}.{uuid.uuid4().hex}.new")
    private.write_text(payload)
    try:
        if _link(private, path):
            return True
        # Takeovers go one at a time: two at once would each move a claim aside, and the second one's move
        # would leave a gap in which a third process claims too.
        with TokenSymlinkLock(f"{path}.takeover", TAKEOVER_GRACE):
            found = _read(path)
            if found is not None:
                if not _is_stale(*found, stale_after):
                    return False
                moved = _move_aside(path)
                if moved is not None:
                    aside, content = moved
                    if content != found[0]:  # its stale owner released it and someone claimed it since
                        _put_back(aside, path)
                        return False
                    aside.unlink()
            return _link(private, path)
    finally:
        private.unlink()


def heartbeat(path: Path) -> None:
    try:
        os.utime(path)
    except FileNotFoundError:
        pass


def release(path: Path) -> None:
    """Remove the claim if it is this process's (one taken over meanwhile is left to its new owner)."""
    moved = _move_aside(path)
    if moved is None:
        return
    aside, content = moved
    if _mine(content):
        aside.unlink()
    else:
        _put_back(aside, path)

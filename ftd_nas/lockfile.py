"""A lock file that works on network filesystems and survives its holder being killed: the journal storage's
appends and the takeover of stale claims (`claims.py`) go through it.

Optuna's `JournalFileSymlinkLock` breaks a lock left by a killed worker after a grace period, but every waiter
breaks it on its own timer: the first waiter to break it takes the lock, and the next one (often another thread
of the same worker, e.g. its heartbeat) then removes that fresh lock too, so the first one's release fails with
"did not possess lock" and the worker dies. Its staleness clock also follows the symlink to the journal, which
for a lock beside a missing file (our queue lock) never ticks, so that lock is never broken at all.

Here each acquisition writes its own token as the symlink's target (creating a symlink is atomic on NFSv2 and
later). A waiter breaks a lock only when it has seen the same token for `grace` seconds of its own monotonic
clock (no clock shared between machines), and breaks it by renaming it aside and checking the token it moved:
if that was a fresh lock taken meanwhile, it is put back. A release removes only its own token.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

log = logging.getLogger(__name__)

MAX_SLEEP = 0.1  # seconds between tries: holders keep the lock for one append, a few milliseconds


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except FileNotFoundError:
        return None


class TokenSymlinkLock:
    """What optuna's JournalFileBackend calls a lock object: acquire() blocks, release() gives it up."""

    def __init__(self, lock_file: str, grace: float = 30.0):
        if grace <= 0:
            raise ValueError(f"the grace period of a lock must be positive, got {grace}")
        self.lock_file, self.grace = lock_file, grace
        self._token: str | None = None

    def __enter__(self) -> "TokenSymlinkLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _aside(self) -> str:
        return f"{self.lock_file}.{uuid.uuid4().hex}.aside"

    def acquire(self) -> bool:
        token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        seen, seen_since, sleep = None, time.monotonic(), 0.001
        while True:
            try:
                os.symlink(token, self.lock_file)
                self._token = token
                return True
            except FileExistsError:
                pass
            holder = _readlink(self.lock_file)
            if holder is None:  # released between our two calls
                continue
            if holder != seen:
                seen, seen_since = holder, time.monotonic()
            elif time.monotonic() - seen_since > self.grace:
                self._break(holder)
                seen, sleep = None, 0.001
                continue
            time.sleep(sleep)
            sleep = min(2 * sleep, MAX_SLEEP)

    def _take(self) -> str | None:
        """Move the lock aside (only one process can) and remove it: the token it held, None if there was none."""
        aside = self._aside()
        try:
            os.rename(self.lock_file, aside)
        except FileNotFoundError:
            return None
        moved = _readlink(aside)
        os.unlink(aside)
        return moved

    def _give_back(self, token: str) -> bool:
        """Restore a lock moved aside by a race; False when a third process took the lock meanwhile."""
        try:
            os.symlink(token, self.lock_file)
            return True
        except FileExistsError:
            return False

    def _break(self, stale: str) -> None:
        """Remove the lock if it still holds `stale`; a fresh lock moved aside by the race is put back."""
        moved = self._take()
        if moved is None:  # released or broken by someone else first
            return
        if moved == stale:
            log.warning("broke the lock %s left for %.0f s by %s (a worker killed while holding it?)",
                        self.lock_file, self.grace, stale)
        elif not self._give_back(moved):  # a lock taken after our last look could not be given back
            log.error("the lock %s of %s was moved aside while a third worker took it; their appends may "
                      "interleave once", self.lock_file, moved)

    def release(self) -> None:
        token, self._token = self._token, None
        moved = self._take()
        if moved is None:
            log.warning("the lock %s was broken while this worker held it (held longer than %.0f s?)",
                        self.lock_file, self.grace)
        elif moved != token:
            log.warning("the lock %s was broken while this worker held it and is now %s's; giving it back",
                        self.lock_file, moved)
            self._give_back(moved)

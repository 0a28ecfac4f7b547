"""A termination signal that stops the work at a safe point instead of wherever it lands.

A Python signal handler runs in the main thread between two bytecodes, wherever that thread happens to be, so
an exception raised by the handler lands at an arbitrary point: inside a storage write or the recording of a
finished candidate's result (the result is then lost, its trial left running until another worker's grace
period declares it dead), inside a lock or a `finally`, or inside code run by `exec()`. The last one is worse
than it looks: dataclasses and namedtuples build their methods with `exec()` (torch, for one, defines hundreds of
dataclasses when the first optimizer lazily imports torch._dynamo), and CPython (3.11 at least) marks a
KeyboardInterrupt that ends an exec()'d string as unhandled even when it is caught further up; the command still
returns its exit code, but under `python -m` the interpreter then kills itself with SIGINT on the way out (exit
status -2 instead of 130).

So within `stop_on(...)` the signals raise nothing: the handler only records that a stop was asked for, and the
work calls `check()` where stopping is safe (between two candidates, between two training steps), which raises
`Interrupted` there, to be caught at one place (the CLI's `main`, after the search has re-queued its running
candidate). Outside `stop_on`, `check()` does nothing.
"""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from typing import Iterator

POLL = 0.1  # seconds between looks at the stop request while `sleep` waits

_requested: int | None = None  # the first signal received inside `stop_on`, until `check` raises it


class Interrupted(KeyboardInterrupt):
    """A signal asked this process to stop (SIGTERM: a SLURM preemption or requeue); raised by `check` at a safe
    point. A KeyboardInterrupt, so that it is handled as Ctrl-C is: the search re-queues the running candidate (not
    counted as a crash) and the command exits with 130."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum} ({signal.Signals(signum).name})")
        self.signum = signum


def _record(signum: int, frame) -> None:
    # Nothing but an assignment: raising here is exactly what this module avoids, and a second signal (SLURM may
    # send several before its SIGKILL) must not disturb the cleanup the first one started.
    global _requested
    if _requested is None:
        _requested = signum


def requested() -> int | None:
    """The signal that asked for a stop, None while none has."""
    return _requested


def check() -> None:
    """Raise `Interrupted` if a signal asked for a stop: call it where stopping leaves nothing half done."""
    if _requested is not None:
        raise Interrupted(_requested)


def sleep(seconds: float) -> None:
    """`time.sleep` that ends with `Interrupted` soon after a stop is asked for (time.sleep itself resumes after
    a handler that raises nothing, so a long wait would delay the stop by its whole length)."""
    deadline = time.monotonic() + seconds
    while True:
        check()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, POLL))


@contextmanager
def stop_on(*signums: int) -> Iterator[None]:
    """Within the block, `signums` only ask for a stop (see `check`); their previous handlers are restored on the
    way out. A stop asked for after the block's last `check` (during its final cleanup) is raised once the
    handlers are restored, so a signal at any moment of the block ends it as interrupted. Main thread only, like
    `signal.signal`; not reentrant."""
    global _requested
    _requested = None
    previous = {}
    try:
        for signum in signums:
            previous[signum] = signal.signal(signum, _record)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        pending, _requested = _requested, None
    if pending is not None:  # reached only when the block itself ended without an exception
        raise Interrupted(pending)

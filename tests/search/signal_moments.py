"""`python -m tests.search.signal_moments MOMENT ARGS...`: `python -m ftd_nas ARGS...` that sends itself SIGTERM
at one chosen moment of its search, the same moment on every run and machine (no timing):

  exec    inside code run by exec() while the first candidate's trainer is made, as when torch's first optimizer
          lazily imports torch._dynamo, whose dataclasses build their methods with exec() (where CI's signal
          landed: the command then died of SIGINT, exit status -2, instead of exiting with 130)
  result  while the first finished candidate's result is being recorded (it must be kept)
  second  one SIGTERM while the first candidate's trainer is made (not in exec()'d code), and a second one while
          the interrupted candidate is being failed (it must still be failed as interrupted, so that it is
          re-queued)

Run with -m, as the SLURM script runs the command: CPython only turns an exec()'d KeyboardInterrupt into a
SIGINT exit under -m.
"""

import signal
import sys

from ftd_nas import train
from ftd_nas.cli import main
from ftd_nas.queue import INTERRUPTED
from ftd_nas.search import runner


def _sigterm_in_exec() -> None:
    exec("import signal\nsignal.raise_signal(signal.SIGTERM)")  # the handler runs inside the exec()'d code


def _arm(moment: str) -> None:
    if moment in ("exec", "second"):
        real_init = train.Trainer.__init__

        def init(self, *args, **kwargs):
            if not getattr(init, "sent", False):
                init.sent = True
                _sigterm_in_exec() if moment == "exec" else signal.raise_signal(signal.SIGTERM)
            real_init(self, *args, **kwargs)

        train.Trainer.__init__ = init
    if moment in ("result", "second"):
        real_tell = runner.Search._tell

        def tell(self, trial, value=None, state=None, attrs=None):
            finished = value is not None and moment == "result"
            interrupted = moment == "second" and INTERRUPTED in (attrs or {})
            if (finished or interrupted) and not getattr(tell, "sent", False):
                tell.sent = True
                signal.raise_signal(signal.SIGTERM)  # the handler runs before the result is stored
            return real_tell(self, trial, value, state, attrs)

        runner.Search._tell = tell


if __name__ == "__main__":
    _arm(sys.argv[1])
    raise SystemExit(main(sys.argv[2:]))

"""The `ftd-nas` command: one thin subcommand module per capability, dispatched from a table."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import traceback
from typing import Callable, Sequence

import ftd_nas
from ftd_nas.cli import (curves, data, demo, distill, evaluate, experts, import_set, report, search, select, status,
                         train, truth, verify)
from ftd_nas.cli.common import whole
from ftd_nas.runtime import apply_threads, plan_threads
from ftd_nas.errors import (DISK_FULL_ADVICE, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_MEMORY, EXIT_NUMERICAL,
                            EXIT_STORAGE, EXIT_USAGE, FtdNasError, disk_full_error, exhausted, one_line)

SUBCOMMANDS = [demo, experts, distill, select, import_set, evaluate, search, status, truth, report, verify, curves,
               train, data]

EXIT_CODES = f"""exit codes:
  0    success
  1    unexpected error: a bug in ftd-nas (the traceback is shown; please report it)
  {EXIT_USAGE}    usage: a bad option value or combination
  {EXIT_INPUT}    input: a missing, unreadable, corrupt or mismatched file or dataset, an unwritable output, a full disk
  {EXIT_NUMERICAL}    numerical: a run diverged, or a proxy holds non-finite or out-of-range values
  {EXIT_STORAGE}    storage: the study database is unreachable or unusable
  {EXIT_MEMORY}    out of memory
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
--debug or FTD_NAS_DEBUG=1 shows the traceback of every error."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftd-nas", epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Neural architecture search on distilled proxy datasets (Flat Trajectory Distillation).")
    parser.add_argument("--version", action="version", version=f"ftd-nas {ftd_nas.__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more diagnostics (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--debug", action="store_true", help="show the traceback of every error")
    parser.add_argument("--threads", type=whole(1), default=None, metavar="N",
                        help="torch CPU threads (default: the CPUs allotted to this process, by its affinity mask or "
                             "SLURM, divided by the workers started with it, and no more than are free of other "
                             "work; OMP_NUM_THREADS if set)")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    for command in sub.choices.values():  # the same switches after the command name, as users type them
        g = command.add_argument_group("diagnostics")
        g.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more diagnostics")
        g.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only warnings and errors")
        g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of errors")
        g.add_argument("--threads", type=whole(1), default=argparse.SUPPRESS, metavar="N", help="torch CPU threads")
        command.epilog, command.formatter_class = EXIT_CODES, argparse.RawDescriptionHelpFormatter
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (a handler holding the stream it was made with writes
    to a closed one once a caller, a test's capture say, has swapped sys.stderr since)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(verbose: int, quiet: bool) -> None:
    """Diagnostics of the library (logger `ftd_nas`) on stderr; other libraries stay at warnings."""
    import optuna

    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logger = logging.getLogger("ftd_nas")
    if not any(getattr(h, "_ftd_nas_cli", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ftd_nas_cli = True
        logger.addHandler(handler)
    logger.setLevel(level)
    optuna.logging.set_verbosity(optuna.logging.DEBUG if verbose > 1 else optuna.logging.WARNING)


def _os_error_message(exc: OSError) -> str:
    what = f"{exc.strerror or exc}: {exc.filename!r}" if exc.filename else str(exc)
    hints = {**DISK_FULL_ADVICE,
             errno.EACCES: "check the permissions of the file and its folder",
             errno.EPERM: "check the permissions of the file and its folder",
             errno.EROFS: "the file system is read-only: choose another output folder",
             errno.ENOTDIR: "a part of the path is a file, not a folder",
             errno.EISDIR: "a folder was given where a file is expected"}
    return what + (f"; {hints[exc.errno]}" if exc.errno in hints else "")


STORAGE_MODULES = ("sqlalchemy", "sqlite3", "psycopg2", "psycopg", "optuna")


def classify(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, message) of an expected failure; None for a bug. A full disk or an exhausted allocator is
    recognised however it reached us (safetensors, torch, SQLite and optuna wrap them: `ftd_nas.errors.exhausted`)."""
    from ftd_nas.queue.urls import redact

    if isinstance(exc, FtdNasError):
        return exc.exit_code, redact(str(exc))
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted; re-run the same command to resume"
    kind = exhausted(exc)
    if kind == "memory":
        return EXIT_MEMORY, ("out of memory; lower the batch size, the width, --syn-steps or --batch-syn, or use "
                             "--unroll checkpoint for distillation")
    if kind == "disk":
        if isinstance(exc, OSError) and exc.filename and exc.errno in DISK_FULL_ADVICE:
            return EXIT_INPUT, redact(_os_error_message(exc))
        return EXIT_INPUT, redact(str(disk_full_error(exc)))
    if isinstance(exc, OSError):
        return EXIT_INPUT, redact(_os_error_message(exc))
    if type(exc).__module__.split(".")[0] in STORAGE_MODULES and (
            type(exc).__module__.split(".")[0] != "optuna" or type(exc).__name__ == "StorageInternalError"):
        # optuna's StorageInternalError says only "e.g. exceeding max length": what failed is the error it wraps
        return EXIT_STORAGE, redact(f"the study storage failed: {one_line(exc)}; re-run to resume once the "
                                    "database is reachable")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # for subcommands that re-launch themselves (search --devices)
    if not getattr(args, "func", None):  # a usage error: the help, on stderr, says what to type
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    configure_logging(args.verbose, args.quiet)
    debug = args.debug or _debug_env()
    try:
        threads = plan_threads(args.threads)  # refuses a count far beyond the machine's CPUs
        apply_threads(threads)
        logging.getLogger("ftd_nas").debug("%s", threads.describe())
        return args.func(args)
    except BaseException as exc:  # noqa: B902 -- every way out gets an exit code of its class
        if isinstance(exc, SystemExit):
            raise
        return _failed(f"ftd-nas {args.command}", exc, debug)


def _debug_env() -> bool:
    """FTD_NAS_DEBUG set (to anything but 0): every failure shows its traceback."""
    return os.environ.get("FTD_NAS_DEBUG", "") not in ("", "0")


def _failed(who: str, exc: BaseException, debug: bool) -> int:
    """Say why `who` (a command, a script) stopped, on stderr, and return its exit code: a known failure in one
    line, a bug with its traceback."""
    known = classify(exc)
    if known is None or debug:
        traceback.print_exc()
    if known is None:
        print(f"{who}: unexpected error ({type(exc).__name__}). This is a bug in ftd-nas: please report it with "
              "the command line and the traceback above.", file=sys.stderr)
        return 1
    code, message = known
    print(f"{who}: {'' if code == EXIT_INTERRUPTED else 'error: '}{message}", file=sys.stderr)
    return code


def run_script(name: str, entry: Callable[[], object]) -> int:
    """A script's `main` (scripts/) with the command's ways out: Ctrl-C, a failed stage or bad input end in one
    line and their exit code (130 for an interrupt, whose finished stages are kept), not a traceback."""
    try:
        entry()
        return 0
    except BaseException as exc:  # noqa: B902 -- as in `main`
        if isinstance(exc, SystemExit):
            raise
        return _failed(name, exc, _debug_env())

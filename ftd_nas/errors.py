"""Errors a user can act on, each with the exit code of its class; the CLI prints their message, no traceback.

Exit codes (also in `ftd-nas --help` and the README):
  0 success; 1 unexpected error (a bug: traceback and a request to report it); 2 usage (a bad option value or
  combination); 3 input (a missing, unreadable, corrupt or mismatched file or dataset; an unwritable output or a
  full disk); 4 numerical (a run diverged, or a proxy holds non-finite or out-of-range values); 5 storage (the
  study database is unreachable or unusable); 6 out of memory; 130 interrupted (Ctrl-C).
"""

import errno

EXIT_USAGE, EXIT_INPUT, EXIT_NUMERICAL, EXIT_STORAGE, EXIT_MEMORY, EXIT_INTERRUPTED = 2, 3, 4, 5, 6, 130


class FtdNasError(Exception):
    """Base class for user-facing errors (bad input, bad configuration, diverged runs)."""

    exit_code = EXIT_USAGE


class ConfigError(FtdNasError, ValueError):
    """An invalid name or value in a configuration or on the command line."""


class UntrustedCodeError(ConfigError):
    """A file names code to run (a user's model factory) that the user has not named or trusted themselves."""


class InputError(FtdNasError):
    """A file or dataset given as input is missing, unreadable, corrupt, or does not fit what it is used with."""

    exit_code = EXIT_INPUT


class DatasetError(InputError, ValueError):
    """A dataset is missing, malformed or unknown."""


class NonFiniteError(FtdNasError, FloatingPointError):
    """A loss or parameter became NaN or inf, or values left any sensible range."""

    exit_code = EXIT_NUMERICAL


class StorageError(FtdNasError):
    """The study storage (SQLite file or database server) cannot be reached or used."""

    exit_code = EXIT_STORAGE


class DiskFullError(InputError):
    """A disk, or the user's quota, filled up while a result was being written: what was finished is kept (every
    result is written atomically), so freeing space and running the same command again resumes."""


# ---------------------------------------------------------------------------------------------------------------
# Failures that reach us wrapped: a full disk seen through safetensors' writer, SQLite or optuna, an exhausted
# allocator seen through torch. One place recognises them, so every command gives them the exit code of their
# class (`ftd_nas.cli.classify`) and the search records an out-of-memory candidate as failed (`search/runner.py`).

DISK_FULL_ADVICE = {errno.ENOSPC: "free some disk space (or choose another output folder), then re-run to resume",
                    errno.EDQUOT: "free some of your disk quota, then re-run to resume"}
_DISK_FULL_TEXT = {errno.ENOSPC: ("no space left on device", "os error 28", "database or disk is full",
                                  "sqlite_full"),
                   errno.EDQUOT: ("disk quota exceeded", "os error 122")}
# RuntimeErrors of torch's allocators (CPU, CUDA kernels, cuDNN / cuBLAS workspaces, Apple's MPS)
_OUT_OF_MEMORY_TEXT = ("out of memory", "can't allocate memory", "not enough memory", "cannot allocate memory",
                       "failed to allocate memory", "cudnn_status_alloc_failed", "cublas_status_alloc_failed")


def causes(exc: BaseException):
    """The exception, then what caused it or was being handled when it was raised (optuna, SQLAlchemy and the
    database drivers wrap what went wrong: `__cause__`, `__context__`, and a driver error's `orig`), each once."""
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]


def one_line(exc: BaseException) -> str:
    """`Type: first line` of what went wrong, by what is wrapped where the wrapper says nothing of it: optuna's
    StorageInternalError reads "e.g. exceeding max length" whatever failed beneath it (a corrupt file, a refused
    password, a full disk)."""
    inner = next((e for e in causes(exc) if type(e).__module__.split(".")[0] != "optuna"), exc)
    first = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {first}" if first else type(inner).__name__


def _disk_full_code(e: BaseException) -> int | None:
    if isinstance(e, DiskFullError):
        return errno.ENOSPC
    if isinstance(e, OSError) and e.errno in DISK_FULL_ADVICE:
        return e.errno
    text = str(e).lower()
    return next((code for code, markers in _DISK_FULL_TEXT.items() if any(m in text for m in markers)), None)


def _out_of_memory(e: BaseException) -> bool:
    return (isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError"
            or (isinstance(e, OSError) and e.errno == errno.ENOMEM)
            or (isinstance(e, RuntimeError) and any(m in str(e).lower() for m in _OUT_OF_MEMORY_TEXT)))


def exhausted(exc: BaseException) -> str | None:
    """"memory" or "disk" when `exc`, or the first exception of its chain that is either, is an allocator out of
    memory or a full disk or quota, however it was wrapped; None otherwise."""
    for e in causes(exc):
        if _out_of_memory(e):
            return "memory"
        if _disk_full_code(e) is not None:
            return "disk"
    return None


def disk_full(exc: BaseException) -> int | None:
    """ENOSPC or EDQUOT when `exc` is (or was caused by) a full disk or quota, however it was wrapped."""
    return next((code for code in map(_disk_full_code, causes(exc)) if code is not None), None)


def disk_full_error(exc: BaseException, path: str | None = None) -> DiskFullError:
    """What a full disk (as recognised by `disk_full`) means for the user: where, and how to go on."""
    code = disk_full(exc) or errno.ENOSPC
    if path is None:
        path = next((e.filename for e in causes(exc) if isinstance(e, OSError) and e.filename), None)
    where = f" while writing {str(path)!r}" if path else ""
    what = "the disk quota is exceeded" if code == errno.EDQUOT else "the disk is full (no space left on device)"
    return DiskFullError(f"{what}{where}; {DISK_FULL_ADVICE[code]}")


def out_of_memory(exc: BaseException) -> bool:
    """Did an allocator run out of memory: MemoryError, torch.OutOfMemoryError, or a RuntimeError of torch's
    allocators (the CPU allocator raises a plain RuntimeError), however it was wrapped?"""
    return any(map(_out_of_memory, causes(exc)))

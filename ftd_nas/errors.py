"""Errors a user can act on, each with the exit code of its class; the CLI prints their message, no traceback.

Exit codes (also in `ftd-nas --help` and the README):
  0 success; 1 unexpected error (a bug: traceback and a request to report it); 2 usage (a bad option value or
  combination); 3 input (a missing, unreadable, corrupt or mismatched file or dataset; an unwritable output or a
  full disk); 4 numerical (a run diverged, or a proxy holds non-finite or out-of-range values); 5 storage (the
  study database is unreachable or unusable); 6 out of memory; 130 interrupted (Ctrl-C).
"""

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

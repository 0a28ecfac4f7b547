"""Errors a user can act on: the CLI prints their message without a traceback."""


class FtdNasError(Exception):
    """Base class for user-facing errors (bad input, bad configuration, diverged runs)."""


class DatasetError(FtdNasError, ValueError):
    """A dataset is missing, malformed or unknown."""


class ConfigError(FtdNasError, ValueError):
    """An invalid name or value in a configuration or on the command line."""


class NonFiniteError(FtdNasError, FloatingPointError):
    """A loss or parameter became NaN or inf."""

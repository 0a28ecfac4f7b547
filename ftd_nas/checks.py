"""Checks of single configuration values, shared by every configuration.

They live on the ground floor (only `ftd_nas.errors` and the standard library below them) so that validating a
number never imports the code that will use it: a proxy's metadata, say, must not pull in the training loop.
They are the one definition of each range that the library's configs and the CLI's types share: a config's
`__post_init__` refuses a value with the option's name, so the Python API and the command line refuse the same
things with the same words; the CLI's argparse types read the bounds defined here and in the configs (e.g.
`DataConfig`'s MAX_VAL_FRACTION) instead of stating their own.
"""

from __future__ import annotations

import math

from ftd_nas.errors import ConfigError


def is_whole(value) -> bool:
    """An int that is not a bool: Python counts True as 1, but no user means it as a count."""
    return isinstance(value, int) and not isinstance(value, bool)


MAX_SEED = 2**63 - 1  # seeds are non-negative and fit a 64-bit signed integer (torch and numpy generators)


def check_number(name: str, value, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, integer: bool = False) -> None:
    """Refuse a non-number, a non-finite number or one outside [low, high] (low excluded when low_open)."""
    ok_type = is_whole(value) if integer else isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok_type or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite {'integer' if integer else 'number'}, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ConfigError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be <= {high:g}, got {value!r}")


def check_positive_int(name: str, value) -> None:
    """Refuse anything but a whole number >= 1 (a count, a size)."""
    if not is_whole(value) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def check_seed(name: str, value) -> None:
    """A seed: a whole number from 0 to MAX_SEED."""
    check_number(name, value, 0, MAX_SEED, integer=True)

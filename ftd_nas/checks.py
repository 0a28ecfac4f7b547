"""Range checks of configuration values: the one definition the library's configs and the CLI's types share.

A config's `__post_init__` refuses a value with the option's name, so the Python API and the command line
refuse the same things with the same words; the CLI's argparse types read the bounds defined here and in the
configs (e.g. `DataConfig`'s MAX_VAL_FRACTION) instead of stating their own.
"""

from __future__ import annotations

import math

from ftd_nas.errors import ConfigError

MAX_SEED = 2**63 - 1  # seeds are non-negative and fit a 64-bit signed integer (torch and numpy generators)


def check_number(name: str, value, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, integer: bool = False) -> None:
    """Refuse a non-number, a non-finite number or one outside [low, high] (low excluded when low_open)."""
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if not ok_type or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite {'integer' if integer else 'number'}, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ConfigError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be <= {high:g}, got {value!r}")


def check_seed(name: str, value) -> None:
    """A seed: a whole number from 0 to MAX_SEED."""
    check_number(name, value, 0, MAX_SEED, integer=True)

"""Optuna's remarks that a search worker has no use for."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator

import optuna


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence optuna's experimental-feature notes (heartbeats) and its ask()-with-heartbeat remark."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
        yield

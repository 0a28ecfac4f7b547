"""Progress bars for long work: shown on a terminal, silent in logs unless asked for."""

from __future__ import annotations

from typing import Iterable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], *, desc: str = "", total: int | None = None,
             enabled: bool | None = None, leave: bool = True) -> tqdm:
    """A tqdm bar; `enabled=None` shows it only when stderr is a terminal."""
    return tqdm(iterable, desc=desc, total=total, disable=None if enabled is None else not enabled,
                leave=leave, dynamic_ncols=True)

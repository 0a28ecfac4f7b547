"""Counting the commits the SQL storages of this process make, for benchmarks and tests of the bookkeeping per
trial. A commit of a transaction that wrote (INSERT, UPDATE, DELETE...) is what costs: SQLite syncs the disk for
it; a commit of one that only read (optuna commits after every call) costs nothing, and is counted apart."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")  # statements that write


@dataclass
class Commits:
    writes: int = 0  # commits of transactions that wrote
    reads: int = 0  # commits of transactions that only read

    @property
    def total(self) -> int:
        return self.writes + self.reads


@contextmanager
def counting_commits() -> Iterator[Commits]:
    """Count the commits of every SQLAlchemy engine of the process while the block runs (listeners on the Engine
    class, so engines created inside the block are counted too; removed when it ends)."""
    counts, wrote = Commits(), set()

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip()[:7].upper().startswith(WRITES):
            wrote.add(id(conn))

    def on_commit(conn) -> None:
        if id(conn) in wrote:
            counts.writes += 1
            wrote.discard(id(conn))
        else:
            counts.reads += 1

    def on_rollback(conn) -> None:
        wrote.discard(id(conn))

    listeners = (("before_cursor_execute", on_execute), ("commit", on_commit), ("rollback", on_rollback))
    for name, listener in listeners:
        event.listen(Engine, name, listener)
    try:
        yield counts
    finally:
        for name, listener in listeners:
            event.remove(Engine, name, listener)

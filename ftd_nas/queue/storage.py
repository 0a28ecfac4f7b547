"""Opening a study storage: for a worker (created if missing, with heartbeats and the retry of dead workers'
trials) or for reading only (never created, never written). Failures are one-line `StorageError`s that say
what to do, never with a password."""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import quote, unquote

from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from ftd_nas.errors import FtdNasError, StorageError, causes, disk_full, disk_full_error, one_line
from ftd_nas.queue.journal import HeartbeatJournalStorage
from ftd_nas.queue.lock import file_lock
from ftd_nas.queue.quiet import quiet_optuna
from ftd_nas.queue.units import MAX_CRASHES
from ftd_nas.queue.urls import default_url, journal_path, normalise_url, password_of, redact, redact_url, sqlite_file

Storage = RDBStorage | HeartbeatJournalStorage


def _storage_error(url: str, exc: Exception) -> FtdNasError:
    """One line saying what failed: the server that cannot be reached (host and port), the login it refused, the
    database it lacks, a file that is no database, a full disk, or else the database's own words; never the
    password, in whatever form the driver's message quotes it. Optuna wraps many of these in a StorageInternalError
    whose text ("e.g. exceeding max length") says nothing of them: its cause is read instead."""
    shown = redact_url(url)
    if disk_full(exc):
        where = sqlite_file(url)
        return disk_full_error(exc, str(where) if where is not None else None)
    text = _without_password(" ".join(" ".join(str(e).split()) for e in causes(exc)), url)
    if url.startswith("postgresql"):
        from sqlalchemy.engine import make_url

        try:
            where = make_url(shown)  # the host as the redacted URL has it: a password's "@" cannot shift it
            host, port, user, database = where.host or "localhost", where.port or 5432, where.username, where.database
        except Exception:  # an unparsable URL: say so below
            host = port = user = database = None
        unreachable = ("could not connect", "Connection refused", "could not translate host", "timeout expired")
        if host and any(marker in text for marker in unreachable):
            return StorageError(f"cannot reach the PostgreSQL server at {host}:{port} ({shown}): is it running "
                                "and reachable from here? Check the host, port and firewall")
        if host and any(m in text for m in ("password authentication failed", "no password supplied",
                                            "authentication failed")):
            return StorageError(f"the PostgreSQL server at {host}:{port} refused the login of user {user!r}: a wrong "
                                "or missing password (run.json never records it). Put the right one in the --storage "
                                "URL, after the user name and a colon, or in ~/.pgpass")
        if host and "does not exist" in text and f'database "{database}"' in text:
            return StorageError(f"the PostgreSQL server at {host}:{port} has no database {database!r}: check the "
                                "database name in the URL, or create it (createdb)")
    if "file is not a database" in text or "malformed" in text:
        return StorageError(f"the study storage {shown!r} is not a usable SQLite database (corrupt, or another "
                            "kind of file); restore it from a copy, or start a new run with another --out")
    return StorageError(f"cannot open the study storage {shown!r}: {_without_password(one_line(exc), url)}")


def _without_password(text: str, url: str) -> str:
    """A driver's message without the URL's password, in every form it may quote it: within the URL (`redact`),
    or alone, as written or percent-decoded (a connection string's password=...)."""
    text = redact(text.replace(url, redact_url(url)))
    password = password_of(url)
    for form in {password, unquote(password)} - {""}:
        text = text.replace(form, "***")
    return text


def _open_journal(path: Path, **kwargs) -> HeartbeatJournalStorage:
    try:
        storage = HeartbeatJournalStorage(path, **kwargs)
        storage.get_all_studies()  # replays the log now: a file that is not a journal fails here, not mid-search
        return storage
    except (OSError, ValueError, KeyError, TypeError) as exc:  # unwritable folder, or a file that is not a journal
        if disk_full(exc):
            raise disk_full_error(exc, str(path)) from None
        raise StorageError(f"cannot use {str(path)!r} as a journal storage ({type(exc).__name__}: {exc}); give a "
                           "file on a filesystem every worker can write (journal:PATH), or start a new run with "
                           "another --out") from None


def make_storage(url: str | None, run_dir: Path, heartbeat: int = 60, grace: int = 180) -> Storage:
    """The study storage (default: SQLite file in the run directory) with heartbeats and retry of dead trials."""
    with quiet_optuna():
        retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_CRASHES)
    path = journal_path(url or "")
    if path is not None:
        if not path.parent.is_dir():
            raise StorageError(f"the folder of the journal file {str(path)!r} does not exist; create it first")
        return _open_journal(path, heartbeat=heartbeat, grace=grace, stale_callback=retry)
    url = normalise_url(url or default_url(run_dir))
    database = sqlite_file(url)
    engine_kwargs = {"connect_args": {"timeout": 120}} if database else {"pool_pre_ping": True}
    # two workers creating the schema of one SQLite file at once collide: one creates, the other waits
    lock = file_lock(Path(f"{database}.lock")) if database else nullcontext()
    attempts = 5
    for attempt in range(attempts):
        try:
            with lock, quiet_optuna():
                return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat, grace_period=grace,
                                  heartbeat_stale_trial_callback=retry)
        except Exception as exc:  # bad URL, missing driver, unreachable server, concurrent schema creation
            # workers creating a server's schema at once collide on its unique names; optuna wraps the driver's
            # error (StorageInternalError), so its causes are looked at, not only the exception itself
            transient = any("IntegrityError" in type(e).__name__ or "UniqueViolation" in str(e)
                            or "duplicate key value" in str(e) for e in causes(exc))
            if not transient or attempt == attempts - 1:
                raise _storage_error(url, exc) from None
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def open_storage_readonly(url: str) -> Storage:
    """Open an existing study storage for reading only: SQLite in read-only mode, PostgreSQL in read-only
    transactions, a journal file only read (never appended to). A missing file is an error, never created."""
    path = journal_path(url)
    if path is not None:
        if not path.is_file():
            raise StorageError(f"the journal file {str(path)!r} does not exist; was the run copied without it?")
        return _open_journal(path, readonly=True)
    url = opened = normalise_url(url)
    path = sqlite_file(url)
    if path is not None:
        if not path.is_file():
            raise StorageError(f"the study database {str(path)!r} does not exist; was the run copied without it?")
        # a SQLite URI, whose path is percent-encoded for SQLite and once more for SQLAlchemy (which decodes it)
        opened, engine_kwargs = f"sqlite:///file:{quote(quote(str(path)))}?mode=ro&uri=true", {}
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"options": "-c default_transaction_read_only=on"}}
    else:
        engine_kwargs = {}
    try:
        with quiet_optuna():
            return RDBStorage(opened, engine_kwargs=engine_kwargs, skip_table_creation=True)
    except Exception as exc:
        raise _storage_error(url, exc) from None

"""Opening a study storage: for a worker (created if missing, with heartbeats and the retry of dead workers'
trials) or for reading only (never created, never written). Failures are one-line `StorageError`s that say
what to do, never with a password."""

from __future__ import annotations

import logging
import sqlite3
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
log = logging.getLogger(__name__)

# How every SQLite study a worker opens journals its commits. WAL: a commit appends to study.db-wal and syncs that
# one file, where SQLite's default rollback journal (DELETE) writes, syncs and deletes a journal and syncs the
# database as well: 4.2 ms a commit instead of 16.6 on this project's machine. synchronous=FULL syncs the WAL at
# every commit, so a finished candidate survives a power loss or a crash of the machine, not only a killed
# process; NORMAL (0.013 ms) syncs only at checkpoints and may lose the last commits when the power goes.
SQLITE_PRAGMAS = {"journal_mode": "WAL", "synchronous": "FULL"}
SQLITE_TIMEOUT_S = 120  # how long a worker waits for another's write to finish before giving up


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


class _StudyConnection(sqlite3.Connection):
    """A worker's connection to a SQLite study (SQLAlchemy hands it to sqlite3.connect as its factory), with
    `SQLITE_PRAGMAS` set as it opens. The journal mode is stored in the file: a study written before WAL (DELETE)
    is switched by the first worker that opens it, and resumes as it was."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        wanted = SQLITE_PRAGMAS["journal_mode"]
        mode = self.execute(f"PRAGMA journal_mode = {wanted}").fetchone()[0]
        if mode.lower() != wanted.lower():  # SQLite keeps the old mode where the new one cannot work
            log.warning("the SQLite study stays in journal mode %s (%s is not available on its filesystem); it works, "
                        "each commit costs more", mode, wanted)
        self.execute(f"PRAGMA synchronous = {SQLITE_PRAGMAS['synchronous']}")


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
    engine_kwargs = ({"connect_args": {"timeout": SQLITE_TIMEOUT_S, "factory": _StudyConnection}} if database
                     else {"pool_pre_ping": True})
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


def close_storage(storage: Storage) -> None:
    """Close the storage's connections (it opens new ones if used again). The last connection to close a SQLite
    study in WAL mode moves the commits of study.db-wal into study.db and removes study.db-wal and -shm: a
    finished worker leaves its whole study in study.db, for whoever copies just that file."""
    if isinstance(storage, RDBStorage):
        storage.engine.dispose()


def open_storage_readonly(url: str) -> Storage:
    """Open an existing study storage for reading only: SQLite in read-only mode, PostgreSQL in read-only
    transactions, a journal file only read (never appended to). A missing file is an error, never created."""
    path = journal_path(url)
    if path is not None:
        if not path.is_file():
            raise StorageError(f"the journal file {str(path)!r} does not exist; was the run copied without it?")
        return _open_journal(path, readonly=True)
    url = normalise_url(url)
    path = sqlite_file(url)
    if path is not None:
        if not path.is_file():
            raise StorageError(f"the study database {str(path)!r} does not exist; was the run copied without it?")
        return _open_sqlite_readonly(path, url)
    if url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"options": "-c default_transaction_read_only=on"}}
    else:
        engine_kwargs = {}
    try:
        return _open_rdb_readonly(url, engine_kwargs)
    except Exception as exc:
        raise _storage_error(url, exc) from None


def _open_rdb_readonly(url: str, engine_kwargs: dict) -> RDBStorage:
    with quiet_optuna():
        return RDBStorage(url, engine_kwargs=engine_kwargs, skip_table_creation=True)


def _sqlite_uri(path: Path, query: str) -> str:
    """A SQLite URI, whose path is percent-encoded for SQLite and once more for SQLAlchemy (which decodes it)."""
    return f"sqlite:///file:{quote(quote(str(path)))}?{query}&uri=true"


def _open_sqlite_readonly(path: Path, url: str) -> RDBStorage:
    """A SQLite study opened read-only. One in WAL mode is read through its index, study.db-shm, which SQLite
    creates beside it when missing (the last worker to close a study removes it, with study.db-wal): in a folder it
    cannot write (a read-only copy or mount), a study without study.db-wal holds every commit in the file itself and
    is opened immutable instead, needing neither."""
    try:
        return _open_rdb_readonly(_sqlite_uri(path, "mode=ro"), {})
    except Exception as exc:
        unwritable = any(m in str(e) for e in causes(exc) for m in ("unable to open database", "readonly database"))
        if not (unwritable and _in_wal_mode(path)):
            raise _storage_error(url, exc) from None
        if Path(f"{path}-wal").exists():
            raise StorageError(f"the study {str(path)!r} has commits in {path.name}-wal that SQLite can read only "
                               f"with an index ({path.name}-shm) it cannot create in this folder: copy the run folder "
                               "somewhere writable, or open it once where it was written") from None
    try:
        return _open_rdb_readonly(_sqlite_uri(path, "mode=ro&immutable=1"), {})
    except Exception as exc:
        raise _storage_error(url, exc) from None


def _in_wal_mode(path: Path) -> bool:
    """Does the SQLite file's header say WAL (its read and write versions, bytes 18 and 19, are 2)?"""
    with open(path, "rb") as fh:
        return fh.read(20)[18:20] == b"\x02\x02"

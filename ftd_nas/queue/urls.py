"""Storage URLs and the locations a run folder records for them.

Three storages: SQLite (`sqlite:///PATH`, the default, one machine), a journal file (`journal:PATH`, machines
sharing a filesystem, no server) and PostgreSQL (machines with a database server). A run folder is portable:
the default SQLite study is recorded as `study.db`, relative to the folder, so a moved or copied run opens its
own database. A URL given on the command line is recorded as given, without its password. A recorded location
never leaves the run folder.

Pure string and path handling: importing this module imports neither optuna nor a database driver.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ftd_nas.errors import StorageError
from ftd_nas.records import RecordError

JOURNAL = "journal:"  # the scheme of a journal file storage
SQLITE = "sqlite:///"
DEFAULT_DB = "study.db"  # the default SQLite study, in the run folder
POSTGRES_DRIVERS = (("psycopg2", "psycopg2"), ("psycopg", "psycopg"))  # (SQLAlchemy dialect driver, module)

_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):[^@/\s]*@")


def redact(text: str) -> str:
    """A URL, or any text quoting URLs, without their passwords: never written to a file or a message."""
    return _PASSWORD.sub(r"\1@", text)


def journal_path(url: str) -> Path | None:
    """The file of a `journal:PATH` storage URL, None for other URLs."""
    return Path(url[len(JOURNAL):]) if url.startswith(JOURNAL) else None


def default_url(run_dir: Path) -> str:
    """The SQLite study of a run folder."""
    return f"{SQLITE}{(run_dir / DEFAULT_DB).resolve()}"


def _installed_postgres_driver() -> str | None:
    from importlib.util import find_spec

    return next((driver for driver, module in POSTGRES_DRIVERS if find_spec(module) is not None), None)


def normalise_url(url: str) -> str:
    """postgresql://, postgres:// (what PostgreSQL's own tools print) and driver-qualified forms all mean the
    PostgreSQL driver that is installed."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.split("+")[0] in ("postgresql", "postgres"):
        driver = _installed_postgres_driver()
        if driver is None:
            raise StorageError("a PostgreSQL storage needs a driver: pip install psycopg2-binary "
                               "(or pip install -e '.[postgres]')")
        return f"postgresql+{driver}://{rest}"
    return url


def storage_location(url: str | None, run_dir: Path) -> str:
    """What run.json records: a file inside the run folder relative to it (`study.db`, `journal:NAME`),
    a journal elsewhere by its absolute path, a server's URL without its password."""
    if url is None:
        return DEFAULT_DB
    for prefix, recorded in ((SQLITE, ""), (JOURNAL, JOURNAL)):
        if url.startswith(prefix):
            path = Path(url[len(prefix):]).resolve()
            try:
                return recorded + path.relative_to(run_dir.resolve()).as_posix()
            except ValueError:
                return recorded + str(path) if prefix == JOURNAL else redact(url)
    return redact(url)


def in_run_folder(location: str) -> bool:
    """Does a recorded location name a file of the run folder itself (opened from run.json without asking)?"""
    path = location[len(JOURNAL):] if location.startswith(JOURNAL) else location
    return "://" not in location and not PurePosixPath(path).is_absolute()


def storage_url(location: str, run_dir: Path) -> str:
    """The URL to open for a recorded location. A file must be inside the run folder: a journal elsewhere is
    opened only when the user names it again (--storage), never by following run.json."""
    if "://" in location:
        return location
    prefix = JOURNAL if location.startswith(JOURNAL) else ""
    path = PurePosixPath(location[len(prefix):])
    if prefix and path.is_absolute():
        raise RecordError(f"run.json of {str(run_dir)!r} says its study is in the journal file {str(path)!r}, "
                          f"outside the run folder; ftd-nas does not follow such a path: give it with --storage "
                          f"journal:PATH")
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise RecordError(f"run.json of {str(run_dir)!r} names the study file {location!r}, which is not a path "
                          "inside the run folder; ftd-nas opens only the run's own study.db (or a --storage URL)")
    return f"{prefix or SQLITE}{(run_dir / path).resolve()}"


def recorded_v1(url: str) -> str:
    """The location of a format-v1 run.json's storage URL: v1 stored the absolute path of the default database
    (a moved or copied run opened the original's), now just its file name, relative to the run folder."""
    return PurePosixPath(url[len(SQLITE):]).name if url.startswith(SQLITE) else redact(url)

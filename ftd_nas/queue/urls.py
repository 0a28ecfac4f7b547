"""Storage URLs and the locations a run folder records for them.

Three storages: SQLite (`sqlite:///PATH`, the default, one machine), a journal file (`journal:PATH`, machines
sharing a filesystem, no server) and PostgreSQL (machines with a database server). A run folder is portable:
the default SQLite study is recorded as `study.db`, relative to the folder, so a moved or copied run opens its
own database. A URL given on the command line is recorded as given, without its password (`redact_url`, the one
function every URL goes through before it is printed, logged or stored). A recorded location is opened only
where it names a file of the run folder itself (checked by `ftd_nas.paths.inside`: no `..`, no symbolic link) or
a database server; a SQLite file or journal elsewhere is opened only when the user names it again (--storage).

Pure string and path handling: importing this module imports neither optuna nor a database driver.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote

from ftd_nas.errors import StorageError
from ftd_nas.paths import inside
from ftd_nas.records import RecordError

JOURNAL = "journal:"  # the scheme of a journal file storage
SQLITE = "sqlite:///"
DEFAULT_DB = "study.db"  # the default SQLite study, in the run folder
SQLITE_COMPANIONS = ("-journal", "-wal", "-shm", ".lock")  # files SQLite (and our claim lock) keep beside a study
POSTGRES_DRIVERS = (("psycopg2", "psycopg2"), ("psycopg", "psycopg"))  # (SQLAlchemy dialect driver, module)
SERVERS = ("postgresql", "postgres", "mysql", "mariadb")  # schemes of database servers, with or without +driver

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def _credentials(url: str) -> tuple[str, str, str, str] | None:
    """(scheme://, user, password, what follows the last `@`) of a URL with a password; None without one. The
    password, percent-encoded or not, may hold any character (`/`, `@`, `:`, `#`, `?`, spaces), so it is taken to
    end at the URL's last `@`."""
    match = _SCHEME.match(url)
    if match is None:
        return None
    rest = url[match.end():]
    at = rest.rfind("@")
    user, colon, password = rest[:at].partition(":") if at >= 0 else ("", "", "")
    if not colon or any(c in user for c in "/ \t\n"):  # no credentials, a user without a password, or no user
        return None
    return match.group(0), user, password, rest[at + 1:]


def redact_url(url: str) -> str:
    """The URL without its password, for every form a URL takes (`_credentials`): with or without a port, a
    database, a query string. `postgresql://me:p/w d@host:5432/db?x=1` -> `postgresql://me@host:5432/db?x=1`. A URL
    with an `@` in its query string loses the part before it too: hiding more than the password, never less."""
    found = _credentials(url)
    if found is None:
        return url
    scheme, user, _, rest = found
    return f"{scheme}{user + '@' if user else ''}{rest}"


def password_of(url: str) -> str:
    """The URL's password as written in it ("" without one), to keep it out of a library's message."""
    found = _credentials(url)
    return found[2] if found is not None else ""


_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^\s/@:]*):.*@")


def redact(text: str) -> str:
    """Text that may quote URLs (an error message) without their passwords: `redact_url`'s rule on each line, a
    password taken to run from `scheme://user:` to the line's last `@` (it may hold spaces), so a line may lose more
    than the password, never less. Every URL ftd-nas puts into a message goes through `redact_url` first; this is
    the last net, for messages of other libraries."""
    return _CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2) + '@' if m.group(2) else ''}", text)


def sqlite_url(path: Path) -> str:
    """The SQLite URL of a file: percent-encoded, since SQLAlchemy decodes the path (`%2e%2e` would be `..`)."""
    return SQLITE + quote(str(path))


def sqlite_file(url: str) -> Path | None:
    """The file of a `sqlite:///PATH` URL, as SQLAlchemy reads it (percent-decoded, without a query string)."""
    return Path(unquote(url[len(SQLITE):].split("?", 1)[0])) if url.startswith(SQLITE) else None


def journal_path(url: str) -> Path | None:
    """The file of a `journal:PATH` storage URL, None for other URLs."""
    return Path(url[len(JOURNAL):]) if url.startswith(JOURNAL) else None


def default_url(run_dir: Path) -> str:
    """The SQLite study of a run folder, checked to be a file of the folder itself (`study_file`)."""
    return study_file(run_dir, DEFAULT_DB)


def study_file(run_dir: Path, name: str, journal: bool = False) -> str:
    """The URL of the study file `name` of a run folder, checked by `inside` (with, for SQLite, the files it keeps
    beside the database): a link there could make a worker write a database anywhere."""
    fix = ("copy the study file itself into the run folder, or give its location with --storage URL if you trust "
           "it")
    inside(run_dir, name, "the study file", fix)
    if journal:  # its lock files are symbolic links by design (`ftd_nas/lockfile.py`), whose target is never opened
        return f"{JOURNAL}{Path(run_dir).resolve() / name}"
    for companion in SQLITE_COMPANIONS:
        inside(run_dir, name + companion, "the study's companion file", fix)
    return sqlite_url(Path(run_dir).resolve() / name)


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
    a journal elsewhere by its absolute path, any other URL without its password."""
    if url is None:
        return DEFAULT_DB
    for prefix, recorded, file in ((SQLITE, "", sqlite_file(url)), (JOURNAL, JOURNAL, journal_path(url))):
        if file is not None:
            try:
                return recorded + file.resolve().relative_to(run_dir.resolve()).as_posix()
            except ValueError:
                return recorded + str(file.resolve()) if prefix == JOURNAL else redact_url(url)
    return redact_url(url)


def in_run_folder(location: str) -> bool:
    """Does a recorded location name a file of the run folder itself (opened from run.json without asking)?"""
    path = location[len(JOURNAL):] if location.startswith(JOURNAL) else location
    return "://" not in location and not PurePosixPath(path).is_absolute()


def is_server(url: str) -> bool:
    """Does the URL name a database server (PostgreSQL, MySQL), not a file?"""
    scheme, sep, _ = url.partition("://")
    return bool(sep) and scheme.split("+")[0].lower() in SERVERS


def storage_url(location: str, run_dir: Path) -> str:
    """The URL to open for a location recorded in run.json: a file of the run folder (`study_file`: relative, no
    `..`, no symbolic link). A SQLite file or journal elsewhere, a database server or any other URL is opened only
    when the user names it again (--storage), never by following run.json: a received run.json naming a server
    would otherwise make ftd-nas connect to a host of the sender's choosing and offer it the credentials the
    environment gives the driver (PGPASSWORD, which libpq sends to any host; a server may ask for it in clear)."""
    if "://" in location:
        if is_server(location):
            raise RecordError(f"run.json of {str(run_dir)!r} says its study is on the database server "
                              f"{redact_url(location)!r}; ftd-nas does not connect to a server that a run folder "
                              f"names: give --storage {redact_url(location)} (with the password, or set it in "
                              "PGPASSWORD) if you trust that server")
        raise RecordError(f"run.json of {str(run_dir)!r} says its study is in {redact_url(location)!r}, outside the "
                          "run folder; ftd-nas does not open a file that a run.json points to (a run folder records "
                          "its own study relative to itself): give the storage with --storage URL if you trust it")
    prefix = JOURNAL if location.startswith(JOURNAL) else ""
    path = PurePosixPath(location[len(prefix):])
    if prefix and path.is_absolute():
        raise RecordError(f"run.json of {str(run_dir)!r} says its study is in the journal file {str(path)!r}, "
                          f"outside the run folder; ftd-nas does not follow such a path: give it with --storage "
                          f"journal:PATH")
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise RecordError(f"run.json of {str(run_dir)!r} names the study file {location!r}, which is not a path "
                          "inside the run folder; ftd-nas opens only the run's own study.db (or a --storage URL)")
    return study_file(run_dir, str(path), journal=bool(prefix))


def recorded_v1(url: str) -> str:
    """The location of a format-v1 run.json's storage URL: v1 stored the absolute path of the default database
    (a moved or copied run opened the original's), now just its file name, relative to the run folder."""
    return PurePosixPath(url[len(SQLITE):]).name if url.startswith(SQLITE) else redact_url(url)

"""The optuna study behind a search: storage, identity checks, the candidate queue and exactly-once claims.

Every unit of work, a candidate's repeat (candidate id and repeat number; one repeat unless --repeats), is
enqueued as a WAITING trial carrying both. Workers claim a trial by moving it from WAITING to RUNNING (an atomic
update in the storage), so two workers never claim the same trial. When two workers enqueue at the same moment
a unit can be queued twice; the rule "only the lowest-numbered live trial of a unit runs" turns the later copy
into a pruned duplicate, so it is still trained once.
Trials of workers that died are failed by optuna's heartbeat check and re-queued by its retry callback.

Three storages: SQLite (the default, one machine), a journal file (`journal:PATH`, machines sharing a
filesystem, no server) and PostgreSQL (machines with a database server).
"""

from __future__ import annotations

import fcntl
import threading
import time
import warnings
from collections import Counter
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, Iterator

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages import _CachedStorage
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import TrialState

from ftd_nas.errors import ConfigError, StorageError
from ftd_nas.records import diff_settings, format_diff
from ftd_nas.search.journal import HeartbeatJournalStorage, journal_path
from ftd_nas.search.record import SearchIdentity, redact
from ftd_nas.search.space import candidate_id

CANDIDATE = "candidate"  # user attr: the candidate id of a trial
REPEAT = "repeat"  # user attr: which repeat of its candidate a trial trains (absent: 0, as before repeats)
FAIL_REASON = "fail_reason"  # user attr of a failure that would recur (NaN, out of memory, invalid)
DUPLICATE = "duplicate_of"  # user attr of a pruned or cached duplicate trial
INTERRUPTED = "interrupted"  # user attr of a trial stopped by Ctrl-C (re-queued, not counted as a crash)

IDENTITY_WAIT_S = 60.0  # how long a worker waits for another worker to finish labelling a study it just created
MAX_CRASHES = 3  # a candidate whose worker died this often is reported as failed instead of re-queued


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence optuna's experimental-feature notes (heartbeats) and its ask()-with-heartbeat remark."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
        yield


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def backend_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage behind a study (optuna wraps an RDB storage in a cache layer)."""
    storage = study._storage
    return storage._backend if isinstance(storage, _CachedStorage) else storage


def rdb_of(study: optuna.Study) -> RDBStorage | None:
    storage = backend_of(study)
    return storage if isinstance(storage, RDBStorage) else None


def heartbeat_of(study: optuna.Study) -> BaseHeartbeat | None:
    """The study's storage when it records heartbeats (RDB storages and our journal)."""
    storage = backend_of(study)
    return storage if isinstance(storage, BaseHeartbeat) and storage.get_heartbeat_interval() else None


@contextmanager
def _advisory_lock(storage: RDBStorage, key: int = 0x46_54_44) -> Iterator[None]:
    with storage.engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
            conn.commit()


def storage_lock(study: optuna.Study):
    """Serialise queueing and claiming among workers.

    SQLite ignores SELECT ... FOR UPDATE, so claims there go through a lock file beside the database;
    PostgreSQL locks the claimed row itself and gets an advisory lock so workers do not queue twice; a journal
    rejects a second claim of a trial on replay and gets a lock file (safe on NFS) for queueing.
    """
    backend = backend_of(study)
    if isinstance(backend, HeartbeatJournalStorage):
        return backend.queue_lock()
    storage = rdb_of(study)
    if storage is None:
        return nullcontext()
    url = storage.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return _file_lock(Path(url.database + ".lock"))
    if url.get_backend_name() == "postgresql":
        return _advisory_lock(storage)
    return nullcontext()


POSTGRES_DRIVERS = (("psycopg2", "psycopg2"), ("psycopg", "psycopg"))  # (SQLAlchemy dialect driver, module)


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


def _storage_error(url: str, exc: Exception) -> StorageError:
    """One line saying what failed: the server that cannot be reached (host and port), or the database's problem."""
    text = " ".join(str(exc).split())
    if url.startswith("postgresql"):
        from sqlalchemy.engine import make_url

        try:
            where = make_url(url)
            host, port = where.host or "localhost", where.port or 5432
        except Exception:  # an unparsable URL: say so below
            host = port = None
        unreachable = ("could not connect", "Connection refused", "could not translate host", "timeout expired")
        if host and any(marker in text for marker in unreachable):
            return StorageError(f"cannot reach the PostgreSQL server at {host}:{port} ({redact(url)}): is it running "
                                "and reachable from here? Check the host, port and firewall")
    if "file is not a database" in text or "malformed" in text:
        return StorageError(f"the study storage {redact(url)!r} is not a usable SQLite database (corrupt, or another "
                            "kind of file); restore it from a copy, or start a new run with another --out")
    first = redact(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
    return StorageError(f"cannot open the study storage {redact(url)!r}: {type(exc).__name__}: {first}")


def _open_journal(path: Path, **kwargs) -> HeartbeatJournalStorage:
    try:
        storage = HeartbeatJournalStorage(path, **kwargs)
        storage.get_all_studies()  # replays the log now: a file that is not a journal fails here, not mid-search
        return storage
    except (OSError, ValueError, KeyError, TypeError) as exc:  # unwritable folder, or a file that is not a journal
        raise StorageError(f"cannot use {str(path)!r} as a journal storage ({type(exc).__name__}: {exc}); give a "
                           "file on a filesystem every worker can write (journal:PATH), or start a new run with "
                           "another --out") from None


def make_storage(url: str | None, run_dir: Path, heartbeat: int = 60,
                 grace: int = 180) -> RDBStorage | HeartbeatJournalStorage:
    """The study storage (default: SQLite file in the run directory) with heartbeats and retry of dead trials."""
    with quiet_optuna():
        retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_CRASHES)
    path = journal_path(url or "")
    if path is not None:
        if not path.parent.is_dir():
            raise StorageError(f"the folder of the journal file {str(path)!r} does not exist; create it first")
        return _open_journal(path, heartbeat=heartbeat, grace=grace, stale_callback=retry)
    url = normalise_url(url or f"sqlite:///{(run_dir / 'study.db').resolve()}")
    sqlite = url.startswith("sqlite:///")
    engine_kwargs = {"connect_args": {"timeout": 120}} if sqlite else {"pool_pre_ping": True}
    lock = _file_lock(Path(url[len("sqlite:///"):] + ".lock")) if sqlite else nullcontext()
    for attempt in range(3):
        try:
            with lock, quiet_optuna():
                return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat, grace_period=grace,
                                  heartbeat_stale_trial_callback=retry)
        except Exception as exc:  # bad URL, missing driver, unreachable server, concurrent schema creation
            transient = "IntegrityError" in type(exc).__name__ or "UniqueViolation" in str(exc)
            if not transient or attempt == 2:
                raise _storage_error(url, exc) from None
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def open_storage_readonly(url: str) -> RDBStorage | HeartbeatJournalStorage:
    """Open an existing study storage for reading only: SQLite in read-only mode, PostgreSQL in read-only
    transactions, a journal file only read (never appended to). A missing file is an error, never created."""
    path = journal_path(url)
    if path is not None:
        if not path.is_file():
            raise StorageError(f"the journal file {str(path)!r} does not exist; was the run copied without it?")
        return _open_journal(path)
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.is_file():
            raise StorageError(f"the study database {str(path)!r} does not exist; was the run copied without it?")
        url, engine_kwargs = f"sqlite:///file:{path}?mode=ro&uri=true", {}
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"options": "-c default_transaction_read_only=on"}}
    else:
        engine_kwargs = {}
    try:
        with quiet_optuna():
            return RDBStorage(url, engine_kwargs=engine_kwargs, skip_table_creation=True)
    except Exception as exc:
        raise _storage_error(url, exc) from None


def finished_and_running(study: optuna.Study) -> tuple[int, int]:
    """(units with a result or a recorded failure, trials running now) of a study."""
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and FAIL_REASON in t.user_attrs)
                   for t in trials if DUPLICATE not in t.user_attrs)
    return finished, sum(t.state == TrialState.RUNNING for t in trials)


def open_study(storage: RDBStorage, name: str, identity: SearchIdentity, sampler: optuna.samplers.BaseSampler,
               legacy_file_sha256: Callable[[], str] | None = None,
               pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """Create or load the study. A study's settings are fixed by its first finished candidate: one created with
    another identity is refused once it holds a result, and replaced while it holds none."""
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize", sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    attrs = _identity_attrs(study, identity)
    if attrs is None:
        return study
    stored = SearchIdentity.from_study_attrs(attrs)
    requested = identity.settings()
    if "file_sha256" in stored.source and legacy_file_sha256 is not None:  # a v1 study names the proxy file's hash
        requested["source"] = {**requested["source"], "file_sha256": legacy_file_sha256()}
    diff = diff_settings(stored.settings(), requested)
    if not diff:
        return study
    finished, running = finished_and_running(study)
    if finished or running:
        state = f"{finished} finished candidates" if finished else f"{running} candidates running in other workers"
        raise ConfigError(f"study {name!r} in this storage holds {state} with other settings ({format_diff(diff)}; "
                          "stored vs requested); use another --out, --storage or --study-name")
    optuna.delete_study(study_name=name, storage=storage)  # nothing finished: the new settings take its place
    return open_study(storage, name, identity, sampler, pruner=pruner)


def _identity_attrs(study: optuna.Study, identity: SearchIdentity) -> dict | None:
    """The identity attributes stored on the study, or None when this worker labelled a new study itself.

    Creating a study and setting its attributes are separate writes, so a worker starting beside the creator
    can see some attributes and not others; it waits for the rest rather than read a half-written identity.
    """
    wanted = identity.to_dict()
    deadline = time.monotonic() + IDENTITY_WAIT_S
    while True:
        attrs = study.user_attrs
        if not attrs:
            for key, value in wanted.items():
                study.set_user_attr(key, value)
            return None
        if "dataset" in attrs or all(key in attrs for key in wanted):  # complete (a v1 study has `dataset`)
            return attrs
        if time.monotonic() > deadline:  # the creator died while labelling: complete it with ours
            for key in wanted.keys() - attrs.keys():
                study.set_user_attr(key, wanted[key])
            return study.user_attrs
        time.sleep(0.1)


def _live(trial: optuna.trial.FrozenTrial) -> bool:
    """Does this trial stand for its candidate (queued, running, finished or failed for good)?"""
    if DUPLICATE in trial.user_attrs:
        return False
    if trial.state in (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE):
        return True
    return trial.state == TrialState.FAIL and FAIL_REASON in trial.user_attrs


def unit_of(trial: optuna.trial.FrozenTrial) -> tuple[str | None, int]:
    """The unit of work a trial stands for: (candidate id, repeat)."""
    return trial.user_attrs.get(CANDIDATE), int(trial.user_attrs.get(REPEAT, 0))


def crash_counts(trials: list[optuna.trial.FrozenTrial]) -> Counter:
    """Per unit, how many of its trials ended without a result or a reason (worker killed or crashed)."""
    return Counter(unit_of(t) for t in trials if t.state == TrialState.FAIL
                   and not {FAIL_REASON, DUPLICATE, INTERRUPTED} & set(t.user_attrs))


def enqueue_missing(study: optuna.Study, candidates: list[dict], repeats: int = 1) -> int:
    """Queue every repeat of every candidate that has no live trial yet; returns how many were queued."""
    with quiet_optuna():
        optuna.storages.fail_stale_trials(study)  # trials of dead workers -> FAIL -> re-queued by the retry callback
    with storage_lock(study):
        return _enqueue_missing(study, candidates, repeats)


def _enqueue_missing(study: optuna.Study, candidates: list[dict], repeats: int) -> int:
    trials = study.get_trials(deepcopy=False)
    have = {unit_of(t) for t in trials if _live(t)}
    crashes = crash_counts(trials)
    queued = 0
    for repeat in range(repeats):  # first repeat of every candidate first: a partial run covers the space
        for params in candidates:
            unit = (candidate_id(params), repeat)
            if unit not in have and crashes[unit] < MAX_CRASHES:
                study.enqueue_trial(params, user_attrs={CANDIDATE: unit[0], REPEAT: repeat})
                queued += 1
    return queued


def pop_waiting(study: optuna.Study) -> optuna.Trial | None:
    """Claim one queued trial (WAITING -> RUNNING, atomic in the storage); None when the queue is empty."""
    storage, beats = study._storage, heartbeat_of(study)
    study_id = storage.get_study_id_from_name(study.study_name)
    with storage_lock(study):
        for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,)):
            try:
                if storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING):
                    if beats is not None:  # at once: a trial without any heartbeat is never declared dead
                        beats.record_heartbeat(trial._trial_id)
                    return optuna.Trial(study, trial._trial_id)
            except UpdateFinishedTrialError:
                continue
    return None


def earlier_live_trial(study: optuna.Study, number: int, unit: tuple[str, int]) -> optuna.trial.FrozenTrial | None:
    """A live trial of the same unit with a lower number, if any (then this one is a duplicate)."""
    for t in study.get_trials(deepcopy=False):
        if t.number < number and unit_of(t) == unit and _live(t):
            return t
    return None


def remaining(study: optuna.Study) -> tuple[int, int]:
    """(waiting, running) trials of the study."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING))
    return (sum(t.state == TrialState.WAITING for t in trials), sum(t.state == TrialState.RUNNING for t in trials))


@contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """Record the trial's heartbeat while it trains, so other workers can tell a live trial from a dead one."""
    storage = heartbeat_of(study)
    if storage is None:
        yield
        return
    interval = storage.get_heartbeat_interval()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            storage.record_heartbeat(trial._trial_id)

    storage.record_heartbeat(trial._trial_id)
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

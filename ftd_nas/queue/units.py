"""The exactly-once queue of units of work over an optuna study.

A unit is an opaque key and a repeat number, with the params its trial is created with; the queue never
interprets either. Each unit is enqueued as a WAITING trial carrying both. Workers claim a trial by moving it
from WAITING to RUNNING (an atomic update in the storage), so two workers never claim the same trial. When two
workers enqueue at the same moment a unit can be queued twice; the rule "only the lowest-numbered live trial of
a unit runs" turns the later copy into a pruned duplicate, so it is still trained once.
Trials of workers that died are failed by optuna's heartbeat check and re-queued by its retry callback; a unit
whose workers died MAX_CRASHES times is given up.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from contextlib import contextmanager
from typing import Iterable, Iterator, NamedTuple

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from ftd_nas.errors import disk_full, one_line
from ftd_nas.queue.backend import heartbeat_of, one_transaction, storage_of, trial_id
from ftd_nas.queue.lock import storage_lock
from ftd_nas.queue.quiet import quiet_optuna

log = logging.getLogger(__name__)

# Trial user attributes. The key's name is "candidate" because that is what studies written so far carry.
UNIT_KEY = "candidate"  # the unit's key
REPEAT = "repeat"  # which repeat of its key a trial is (absent: 0, as before repeats)
FAIL_REASON = "fail_reason"  # a failure that would recur (never re-queued)
DUPLICATE = "duplicate_of"  # the number of the trial a pruned or cached duplicate stands behind
INTERRUPTED = "interrupted"  # stopped by Ctrl-C: re-queued, not counted as a crash

MAX_CRASHES = 3  # a unit whose worker died this often is reported as failed instead of re-queued


class Unit(NamedTuple):
    """A unit of work: its key and repeat identify it; params are what its trial is created with."""

    key: str
    repeat: int
    params: dict


def unit_of(trial: FrozenTrial) -> tuple[str | None, int]:
    """The unit of work a trial stands for: (key, repeat); key None for a trial outside the queue."""
    return trial.user_attrs.get(UNIT_KEY), int(trial.user_attrs.get(REPEAT, 0))


def is_live(trial: FrozenTrial) -> bool:
    """Does this trial stand for its unit (queued, running, finished or failed for good)?"""
    if DUPLICATE in trial.user_attrs:
        return False
    if trial.state in (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE):
        return True
    return trial.state == TrialState.FAIL and FAIL_REASON in trial.user_attrs


def crash_counts(trials: list[FrozenTrial]) -> Counter:
    """Per unit, how many of its trials ended without a result or a reason (worker killed or crashed)."""
    return Counter(unit_of(t) for t in trials if t.state == TrialState.FAIL
                   and not {FAIL_REASON, DUPLICATE, INTERRUPTED} & set(t.user_attrs))


def finished_and_running(study: optuna.Study) -> tuple[int, int]:
    """(units with a result or a recorded failure, trials running now) of a study."""
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and FAIL_REASON in t.user_attrs)
                   for t in trials if DUPLICATE not in t.user_attrs)
    return finished, sum(t.state == TrialState.RUNNING for t in trials)


def enqueue_missing(study: optuna.Study, units: Iterable[Unit]) -> int:
    """Queue every unit that has no live trial yet (in the order given); returns how many were queued."""
    with quiet_optuna():
        optuna.storages.fail_stale_trials(study)  # trials of dead workers -> FAIL -> re-queued by the retry callback
    with storage_lock(study), one_transaction(study):  # the units queued together: one commit
        trials = study.get_trials(deepcopy=False)
        have = {unit_of(t) for t in trials if is_live(t)}
        crashes = crash_counts(trials)
        queued = 0
        for key, repeat, params in units:
            if (key, repeat) not in have and crashes[key, repeat] < MAX_CRASHES:
                study.enqueue_trial(params, user_attrs={UNIT_KEY: key, REPEAT: repeat})
                queued += 1
        return queued


def pop_waiting(study: optuna.Study, key: str | None = None) -> optuna.Trial | None:
    """Claim one queued trial (WAITING -> RUNNING, atomic in the storage), of the unit `key` if given (another
    repeat of it); None when there is none."""
    storage, beats = storage_of(study), heartbeat_of(study)
    study_id = storage.get_study_id_from_name(study.study_name)
    with storage_lock(study):
        for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,)):
            if key is not None and unit_of(trial)[0] != key:
                continue
            try:
                with one_transaction(study):  # the claim and its first heartbeat: one commit
                    claimed = storage.set_trial_state_values(trial_id(trial), state=TrialState.RUNNING)
                    if claimed and beats is not None:  # at once: a trial without any heartbeat is never declared dead
                        beats.record_heartbeat(trial_id(trial))
            except UpdateFinishedTrialError:
                continue
            if claimed:
                return optuna.Trial(study, trial_id(trial))
    return None


def earlier_live_trial(study: optuna.Study, number: int, unit: tuple[str, int]) -> FrozenTrial | None:
    """A live trial of the same unit with a lower number, if any (then this one is a duplicate)."""
    for t in study.get_trials(deepcopy=False):
        if t.number < number and unit_of(t) == unit and is_live(t):
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
        failing = False
        while not stop.wait(interval):
            try:
                storage.record_heartbeat(trial_id(trial))
            except Exception as exc:  # a full disk, a database gone: the training goes on (no traceback from this
                # thread); its result is recorded when it ends, or dropped if another worker declared it dead
                if not failing:
                    log.warning("trial %d: its heartbeat cannot be recorded (%s); training goes on, but after "
                                "--grace seconds without one another worker may retry the candidate", trial.number,
                                "the disk is full" if disk_full(exc) else one_line(exc))
                failing = True
            else:
                if failing:
                    log.info("trial %d: its heartbeat is recorded again", trial.number)
                failing = False

    storage.record_heartbeat(trial_id(trial))
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

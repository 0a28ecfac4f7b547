"""Opening a study by name, checked to hold the work its caller asks for.

A study is labelled by its creator with an identity (a plain dict written as the study's user attributes). A
study's identity is fixed by its first finished unit: one created with another identity is refused once it
holds a result, and replaced while it holds none. What "another identity" means is the caller's: it passes a
function that compares the stored attributes with what it asks for.
"""

from __future__ import annotations

import time
from typing import Callable

import optuna

from ftd_nas.errors import ConfigError
from ftd_nas.queue.backend import one_transaction
from ftd_nas.queue.units import finished_and_running
from ftd_nas.records import format_diff

IDENTITY_WAIT_S = 60.0  # how long a worker waits for another worker to finish labelling a study it just created


def open_study(storage: optuna.storages.BaseStorage, name: str, identity: dict,
               differences: Callable[[dict], dict], sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None,
               complete: Callable[[dict], bool] | None = None, units: str = "units") -> optuna.Study:
    """Create or load the study `name`, maximising.

    identity: the attributes a new study is labelled with. differences(stored attributes): what differs from
    the identity asked for, as `ftd_nas.records.diff_settings` reports it (empty: the same). complete(stored
    attributes): whether a label is whole (default: it has every key of `identity`). units: what the caller
    calls its units of work, for the message that refuses a study.
    """
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize", sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    attrs = _label(study, identity, complete or (lambda attrs: identity.keys() <= attrs.keys()))
    if attrs is None:
        return study
    diff = differences(attrs)
    if not diff:
        return study
    finished, running = finished_and_running(study)
    if finished or running:
        state = f"{finished} finished {units}" if finished else f"{running} {units} running in other workers"
        raise ConfigError(f"study {name!r} in this storage holds {state} with other settings ({format_diff(diff)}; "
                          "stored vs requested); use another --out, --storage or --study-name")
    optuna.delete_study(study_name=name, storage=storage)  # nothing finished: the new identity takes its place
    return open_study(storage, name, identity, differences, sampler, pruner, complete, units)


def _label(study: optuna.Study, identity: dict, complete: Callable[[dict], bool]) -> dict | None:
    """The identity attributes stored on the study, or None when this worker labelled a new study itself.

    Creating a study and setting its attributes are separate writes, so a worker starting beside the creator
    can see some attributes and not others; it waits for the rest rather than read a half-written identity.
    """
    deadline = time.monotonic() + IDENTITY_WAIT_S
    while True:
        attrs = study.user_attrs
        if not attrs:
            with one_transaction(study):  # the whole label at once: no worker sees half of it
                for key, value in identity.items():
                    study.set_user_attr(key, value)
            return None
        if complete(attrs):
            return attrs
        if time.monotonic() > deadline:  # the creator died while labelling: complete it with ours
            with one_transaction(study):
                for key in identity.keys() - attrs.keys():
                    study.set_user_attr(key, identity[key])
            return study.user_attrs
        time.sleep(0.1)

"""A search's side of the queue (`ftd_nas/queue/`): its units are the repeats of the candidates of a space,
keyed by candidate id, and its study is labelled with the search's identity."""

from __future__ import annotations

from typing import Callable

import optuna

from ftd_nas.queue import Unit, open_study as open_queue_study
from ftd_nas.queue import enqueue_missing as enqueue_units
from ftd_nas.records import diff_settings
from ftd_nas.search.record import SearchIdentity
from ftd_nas.search.space import SearchSpace

V1_IDENTITY = "dataset"  # the attribute a format-v1 study carries instead of `data`


def units(space: SearchSpace, candidates: list[dict], repeats: int = 1) -> list[Unit]:
    """Every repeat of every candidate (named as `space` names them), first repeat of every candidate first: a
    partial run covers the space."""
    ids = [space.candidate_id(params) for params in candidates]
    return [Unit(cid, repeat, params) for repeat in range(repeats) for cid, params in zip(ids, candidates)]


def enqueue_missing(study: optuna.Study, space: SearchSpace, candidates: list[dict], repeats: int = 1) -> int:
    """Queue every repeat of every candidate of `space` that has no live trial yet; returns how many were queued."""
    return enqueue_units(study, units(space, candidates, repeats))


def open_study(storage: optuna.storages.BaseStorage, name: str, identity: SearchIdentity,
               sampler: optuna.samplers.BaseSampler | None, legacy_file_sha256: Callable[[], str] | None = None,
               pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """Create or load the search's study, refused when it holds finished candidates of other settings."""
    wanted = identity.to_dict()

    def differences(attrs: dict) -> dict:
        stored = SearchIdentity.from_study_attrs(attrs)
        requested = identity.settings()
        if "file_sha256" in stored.source and legacy_file_sha256 is not None:  # a v1 study names the file's hash
            requested["source"] = {**requested["source"], "file_sha256": legacy_file_sha256()}
        return diff_settings(stored.settings(), requested)

    return open_queue_study(storage, name, wanted, differences, sampler, pruner,
                            complete=lambda attrs: V1_IDENTITY in attrs or wanted.keys() <= attrs.keys(),
                            units="candidates")

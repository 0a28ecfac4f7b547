"""The record of a search run (`RUN/run.json`): its study, where that lives, and the search's identity.

Where a study lives is recorded as `ftd_nas/queue/urls.py` writes it (relative to the run folder, without a
password). Whatever storage `report` opens, it opens read-only and checks that the study there is the one the
record describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ftd_nas.data.fingerprint import DataFingerprint, upgrade_v1_fingerprint
from ftd_nas.errors import InputError
from ftd_nas.paths import inside
from ftd_nas.records import Part, Record, RecordError
from ftd_nas.queue.urls import recorded_v1
from ftd_nas.search.recipe import SearchRecipe


@dataclass(frozen=True)
class SearchIdentity(Part):
    """A search's settings: what was searched, trained on what, scored on which data, trained how.

    The study carries it as user attributes, and `run.json` repeats it; a run with another identity is
    refused once any candidate of the study has finished.
    """

    space: dict
    source: dict  # {kind: real} | {kind: random, ipc, seed} | {kind: proxy, method, ipc, iterations, digest}
    #               | {kind: zc, scorer, batch_size, bn, input, dtype, weights} (a `ZeroCostConfig`)
    data: DataFingerprint
    recipe: SearchRecipe

    def settings(self) -> dict:
        return {"space": self.space, "source": self.source, "data": self.data.settings(),
                "recipe": self.recipe.to_dict()}

    @classmethod
    def from_study_attrs(cls, attrs: dict) -> "SearchIdentity":
        """The identity a study was created with, upgrading the v1 attributes (`dataset`, the file's hash)."""
        if "dataset" in attrs:
            attrs = upgrade_v1_identity(attrs)
        return cls.from_dict({k: attrs[k] for k in ("space", "source", "data", "recipe") if k in attrs},
                             "the study's identity")


def upgrade_v1_identity(old: dict) -> dict:
    source = {k: v for k, v in old["source"].items() if k != "file"}  # a path: never kept, never followed
    if "sha256" in source:  # v1 identified a proxy by its file's bytes, which `evaluate` used to change
        source["file_sha256"] = source.pop("sha256")
    return {"space": old["space"], "source": source, "data": upgrade_v1_fingerprint(old["dataset"]),
            "recipe": old["recipe"]}


def _run_v1_to_v2(old: dict) -> dict:
    location = recorded_v1(old["storage"])
    config = old.get("config", {})
    source = old["identity"]["source"]
    return {"study_name": old["study_name"], "storage": location, "identity": upgrade_v1_identity(old["identity"]),
            "sampler": config.get("sampler", "grid"), "n_trials": config.get("n_trials"),
            "proxy_file": PurePosixPath(source["file"]).name if source.get("file") else None,
            "environment": old.get("environment", {}), "created": ""}


@dataclass(frozen=True)
class SearchRunRecord(Record):
    """run.json: which study holds the run's results, where, and with which settings."""

    FORMAT = "ftd-nas-search-run"
    UPGRADES = {1: _run_v1_to_v2}

    study_name: str
    storage: str  # 'study.db' / 'journal:NAME' (in the run folder), 'journal:/ABS', or a server URL sans password
    identity: SearchIdentity
    sampler: str = "grid"
    n_trials: int | None = None
    repeats: int = 1  # trainings per candidate the last run asked for (not part of the identity: more can be added)
    train_images: int | None = None  # images each candidate trains on (zc: its scorer's minibatch, 0 for none)
    space_size: int | None = None  # candidates in the space for this data (after its exclusions and limits)
    pruner: str = "none"
    proxy_seconds: float | None = None  # what making the proxy cost (from its file, when the search started)
    proxy_file: str | None = None  # the proxy as named on the command line: shown, never opened by `report`
    environment: dict = field(default_factory=dict)
    created: str = ""

    @classmethod
    def read(cls, run_dir: Path) -> "SearchRunRecord":
        import json

        path = inside(run_dir, "run.json", "the run record")
        if not path.is_file():
            raise InputError(f"{str(run_dir)!r} is not a search run (no run.json); create it with `ftd-nas search`")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise RecordError(f"{str(path)!r} is not readable JSON: {exc}") from None
        if isinstance(data, dict) and "format" not in data and "identity" in data:
            data = {"format": cls.FORMAT, "format_version": 1, **data}  # v1 run.json had no format keys
        return cls.from_dict(data, repr(str(path)))

"""Typed records: checked on the way in, versioned, upgraded in memory, compared in one way."""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ftd_nas.records import Part, Record, RecordError, diff_settings

FIXTURES = Path(__file__).parent / "fixtures" / "v1"


@dataclass(frozen=True)
class Inner(Part):
    size: tuple[int, int]
    note: str | None = None


def _v1_to_v2(old):
    return {"lr": old["learning_rate"], "inner": old["inner"], "tags": old.get("tags", [])}


@dataclass(frozen=True)
class Example(Record):
    FORMAT = "example"
    UPGRADES = {1: _v1_to_v2}

    lr: float
    inner: Inner
    tags: list[str] = field(default_factory=list)


def test_round_trip_and_type_checks_name_the_field():
    record = Example(lr=1, inner=Inner((2, 3)), tags=["a"])
    data = record.to_dict()
    assert data == {"format": "example", "format_version": 2, "lr": 1.0, "inner": {"size": [2, 3], "note": None},
                    "tags": ["a"]}
    assert isinstance(data["lr"], float)  # an int in a float field is written as a float: one text per record
    assert Example.from_dict(json.loads(json.dumps(data))) == Example(lr=1.0, inner=Inner((2, 3)), tags=["a"])
    for bad, message in (({**data, "lr": "x"}, r"example.lr: expected float"),
                         ({**data, "inner": {"size": [2]}}, r"example.inner.size: expected tuple"),
                         ({**data, "tags": [1]}, r"example.tags\[0\]: expected str"),
                         ({**data, "extra": 1}, r"unknown fields \['extra'\]"),
                         ({k: v for k, v in data.items() if k != "inner"}, "field 'inner' is missing"),
                         ({**data, "lr": True}, "expected float")):
        with pytest.raises(RecordError, match=message):
            Example.from_dict(bad)


def test_versions_are_upgraded_in_memory_and_newer_ones_refused():
    old = {"format": "example", "format_version": 1, "learning_rate": 0.5, "inner": {"size": [1, 1]}}
    assert Example.from_dict(old).lr == 0.5
    with pytest.raises(RecordError, match="version 3.*newer ftd-nas"):
        Example.from_dict({**Example(lr=1.0, inner=Inner((1, 1))).to_dict(), "format_version": 3})
    with pytest.raises(RecordError, match="not an example record"):
        Example.from_dict({"format": "other", "format_version": 2})
    with pytest.raises(RecordError, match="malformed format-v1"):
        Example.from_dict({"format": "example", "format_version": 1, "inner": {}})


def test_settings_differences_are_listed_and_unrecorded_keys_ignored():
    stored = {"train": {"lr": 0.01, "alpha": 0.3}, "data": {"name": "digits"}}
    assert diff_settings(stored, stored) == []
    assert diff_settings(stored, {"train": {"lr": 0.1, "alpha": 0.3}, "data": {"name": "digits"}}) == [
        "train.lr: 0.01 vs 0.1"]
    # a key an older file did not record (a content hash, say) is not a difference
    assert diff_settings(stored, {**stored, "data": {"name": "digits", "train_sha256": "ab"}}) == []


def test_v1_files_open_upgraded_and_keep_their_bytes(tmp_path, digits):
    from ftd_nas.evaluation import load_evaluations
    from ftd_nas.experts import ExpertDirectory
    from ftd_nas.proxy import Proxy

    shutil.copytree(FIXTURES, tmp_path / "v1")
    before = {p: p.read_bytes() for p in (tmp_path / "v1").rglob("*") if p.is_file()}
    experts = ExpertDirectory(tmp_path / "v1" / "experts")
    assert experts.record.train.optimizer == "gsam" and experts.record.data.train_sha256 is None
    assert not experts.record.data.mismatches(digits.fingerprint())  # the unrecorded hash is not compared
    proxy = Proxy.load(tmp_path / "v1" / "proxy.safetensors")
    assert proxy.record.data.classes == tuple(digits.classes) and proxy.record.experts["folder"] == "experts"
    proxy.check_dataset(digits)
    assert len(load_evaluations(proxy)) == 1
    assert {p: p.read_bytes() for p in before} == before


def test_a_v1_experts_folder_accepts_more_experts_of_its_settings(tmp_path, digits):
    from ftd_nas.experts import ExpertConfig, ExpertDirectory, expert_train_config, train_experts
    from ftd_nas.models import ModelSpec

    shutil.copytree(FIXTURES / "experts", tmp_path / "experts")
    cfg = ExpertConfig(model=ModelSpec(width=4, depth=2), num_experts=3,
                       train=expert_train_config("gsam", epochs=3, progress=False))
    outcomes = train_experts(cfg, tmp_path / "experts", dataset=digits, device="cpu")
    assert [o.status for o in outcomes] == ["done", "done", "trained"]
    assert len(ExpertDirectory(tmp_path / "experts")) == 3

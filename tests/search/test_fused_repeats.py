"""A search's repeats of a candidate trained as one computation (`--fuse`, ftd_nas/fused.py via runner.py)."""

from collections import Counter

import pytest

from ftd_nas import fused
from ftd_nas.errors import ConfigError
from ftd_nas.queue import unit_of
from ftd_nas.search import run_search
from ftd_nas.search.runner import FUSED
from tests.conftest import search_config, write_space
from tests.search.conftest import complete_trials


def by_candidate(summary) -> dict:
    return {r["candidate"]: r for r in summary["rows"]}


def test_fused_repeats_score_every_candidate_as_separate_repeats(space_file, tmp_path, digits):
    alone = by_candidate(run_search(search_config(space_file, tmp_path / "alone", repeats=3, fuse="off"),
                                    dataset=digits))
    summary = run_search(search_config(space_file, tmp_path / "fused", repeats=3, fuse="on"), dataset=digits)
    together = by_candidate(summary)
    assert summary["trained"] == 24 and set(together) == set(alone)
    for cid, row in together.items():
        assert row["repeats"] == 3
        assert row["val_accs"] == pytest.approx(alone[cid]["val_accs"], abs=1e-9)
        assert row["test_acc"] == pytest.approx(alone[cid]["test_acc"])
    trials = complete_trials(tmp_path / "fused")
    assert {t.user_attrs.get(FUSED) for t in trials} == {3}  # every repeat was trained in a group of three
    assert set(Counter(unit_of(t) for t in trials).values()) == {1}  # each (candidate, repeat) once
    assert not any(FUSED in t.user_attrs for t in complete_trials(tmp_path / "alone"))


def test_auto_never_fuses_on_a_cpu_and_a_network_that_cannot_be_fused_trains_alone(tmp_path, digits):
    space = write_space(tmp_path, "name: bn\naxes:\n  width: [4, 8]\nfixed: {depth: 1, norm: batchnorm, act: relu, pool: avgpool}\n")
    run_search(search_config(space, tmp_path / "bn", repeats=2, fuse="on"), dataset=digits)
    run_search(search_config(space, tmp_path / "auto", repeats=2), dataset=digits)
    for run in ("bn", "auto"):
        trials = complete_trials(tmp_path / run)
        assert len(trials) == 4 and not any(FUSED in t.user_attrs for t in trials)


def test_a_fused_group_that_diverges_is_trained_again_one_by_one_each_with_its_reason(space_file, tmp_path, digits,
                                                                                      monkeypatch):
    calls = []
    real = fused.FusedTrainer.fit

    def diverge_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            from ftd_nas.errors import NonFiniteError
            raise NonFiniteError("training loss became nan in epoch 1 of fused run 1")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(fused.FusedTrainer, "fit", diverge_once)
    summary = run_search(search_config(space_file, tmp_path / "run", repeats=2, fuse="on"), dataset=digits)
    assert summary["trained"] == 16 and summary["failed"] == 0  # the first group retrained alone, and fine
    trials = complete_trials(tmp_path / "run")
    assert sorted(FUSED in t.user_attrs for t in trials) == [False] * 2 + [True] * 14


def test_an_interrupted_fused_group_is_requeued_whole(space_file, tmp_path, digits, monkeypatch):
    calls = []
    real = fused.FusedTrainer.fit

    def interrupt_on_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(fused.FusedTrainer, "fit", interrupt_on_third)
    with pytest.raises(KeyboardInterrupt):
        run_search(search_config(space_file, tmp_path / "run", repeats=2, fuse="on"), dataset=digits)
    resumed = run_search(search_config(space_file, tmp_path / "run", repeats=2, fuse="on"), dataset=digits)
    assert resumed["trained"] == 12  # 2 groups of 2 were finished before the interruption
    assert set(Counter(unit_of(t) for t in complete_trials(tmp_path / "run")).values()) == {1}


def test_fuse_on_needs_repeats_and_no_pruner(space_file, tmp_path):
    with pytest.raises(ConfigError, match="--fuse on.*--repeats"):
        search_config(space_file, tmp_path / "run", fuse="on")
    with pytest.raises(ConfigError, match="--fuse on"):
        search_config(space_file, tmp_path / "run", repeats=2, fuse="on", pruner="median")
    with pytest.raises(ConfigError, match="--fuse 'always'"):
        search_config(space_file, tmp_path / "run", fuse="always")

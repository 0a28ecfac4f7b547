import re
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from optuna.trial import TrialState

from ftd_nas.errors import ConfigError
from ftd_nas.search import SearchConfig, load_run, run_search
from ftd_nas.search import runner as runner_module
from ftd_nas.queue import UNIT_KEY as CANDIDATE
from ftd_nas.queue import pop_waiting

from tests.conftest import search_config

from .conftest import SPACE, complete_trials


def test_every_candidate_once_and_rerun_trains_nothing(space_file, tmp_path, digits):
    first = run_search(search_config(space_file, tmp_path / "run"), dataset=digits)
    assert first["trained"] == 8 and first["complete"] == 8
    rows = load_run(tmp_path / "run").rows
    assert len(rows) == 8 and all(0 <= r["val_acc"] <= 1 and r["test_acc"] is not None for r in rows)
    second = run_search(search_config(space_file, tmp_path / "run"), dataset=digits)
    assert second["trained"] == 0 and second["queued"] == 0
    assert load_run(tmp_path / "run").rows == rows
    assert (tmp_path / "run" / "results.csv").read_text().count("\n") == 9


def test_invalid_candidate_is_recorded_as_failed_with_its_reason(tmp_path, digits):
    space = tmp_path / "deep.yaml"
    space.write_text(SPACE.replace("depth: [1, 2]", "depth: [4, 5]"))  # depth 5 cannot pool 16x16 images
    summary = run_search(search_config(str(space), tmp_path / "run", epochs=1), dataset=digits)
    failed = [r for r in summary["rows"] if r["state"] == "FAIL"]
    assert len(failed) == 4 and all("too small" in r["fail_reason"] for r in failed)
    assert summary["complete"] == 4
    assert run_search(search_config(str(space), tmp_path / "run", epochs=1), dataset=digits)["trained"] == 0


def test_interrupted_candidate_is_requeued_and_finished_once(space_file, tmp_path, digits, interrupt_after):
    restore = interrupt_after(runner_module, "train_candidate", 2)
    with pytest.raises(KeyboardInterrupt):
        run_search(search_config(space_file, tmp_path / "run"), dataset=digits)
    restore()
    summary = run_search(search_config(space_file, tmp_path / "run"), dataset=digits)
    assert summary["complete"] == 8 and summary["trained"] == 6  # 2 done before, 6 left (incl. the interrupted)
    from ftd_nas.queue import crash_counts

    assert not crash_counts(runner_module.Search(search_config(space_file, tmp_path / "run"),
                                                 digits).study.get_trials())
    assert sorted(t.user_attrs[CANDIDATE] for t in complete_trials(tmp_path / "run")) == \
        sorted(r["candidate"] for r in summary["rows"])


@pytest.mark.slow
def test_dead_workers_trial_is_retried_after_its_heartbeat_stops(space_file, tmp_path, digits):
    cfg = search_config(space_file, tmp_path / "run", heartbeat=1, grace=2)
    search = runner_module.Search(cfg, dataset=digits)
    from ftd_nas.search.study import enqueue_missing

    enqueue_missing(search.study, search.space, search.candidates)
    orphan = pop_waiting(search.study)  # claimed by a "worker" that then dies without a word
    search.storage.record_heartbeat(orphan._trial_id)
    time.sleep(3)
    summary = run_search(cfg, dataset=digits)
    assert summary["complete"] == 8
    states = {t.number: t.state for t in search.study.get_trials()}
    assert states[orphan.number] == TrialState.FAIL  # failed by the heartbeat check, then retried


def test_study_refuses_a_different_recipe(space_file, tmp_path, digits):
    run_search(search_config(space_file, tmp_path / "run", epochs=1), dataset=digits)
    with pytest.raises(ConfigError, match="holds a search with other settings.*recipe.epochs: 1 vs 3"):
        run_search(search_config(space_file, tmp_path / "run", epochs=3), dataset=digits)


def test_a_bf16_search_is_another_search_and_records_its_precision(space_file, tmp_path, digits):
    from dataclasses import replace

    cfg = search_config(space_file, tmp_path / "run", epochs=1)
    run_search(cfg, dataset=digits)
    bf16 = replace(cfg, recipe=replace(cfg.recipe, precision="bf16"))
    with pytest.raises(ConfigError, match="holds a search with other settings.*recipe.precision: 'fp32' vs 'bf16'"):
        run_search(bf16, dataset=digits)
    run_search(replace(bf16, out=str(tmp_path / "bf16")), dataset=digits)
    assert '"precision": "bf16"' in (tmp_path / "bf16" / "run.json").read_text()


def test_budgeted_tpe_search_never_trains_a_candidate_twice(space_file, tmp_path, digits):
    summary = run_search(search_config(space_file, tmp_path / "run", epochs=1, sampler="tpe", n_trials=12),
                         dataset=digits)
    assert summary["trained"] + summary["duplicate"] == 12
    assert summary["trained"] == len(summary["rows"]) <= 8


@pytest.mark.slow
def test_concurrent_processes_share_the_candidates(space_file, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ftd_nas", "search", "--space", space_file, "--proxy", "random:3", "--dataset",
           "digits", "--epochs", "3", "--dsa", "none", "--out", str(out), "--device", "cpu", "--no-progress"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outputs]
    trained = [int(re.search(r"this worker trained (\d+)", o[0]).group(1)) for o in outputs]
    assert sum(trained) == 8
    candidates = [t.user_attrs[CANDIDATE] for t in complete_trials(out)]
    assert sorted(candidates) == sorted(set(candidates)) and len(candidates) == 8


@pytest.mark.slow
def test_repeats_are_units_of_work_that_resume_and_grow_without_retraining(space_file, tmp_path, digits,
                                                                           interrupt_after):
    from collections import Counter

    from ftd_nas.queue import unit_of

    single = {r["candidate"]: r["val_acc"] for r in run_search(search_config(space_file, tmp_path / "one"),
                                                                 dataset=digits)["rows"]}
    two = run_search(search_config(space_file, tmp_path / "run", repeats=2), dataset=digits)
    assert two["trained"] == 16 and all(r["repeats"] == 2 and r["val_std"] is not None for r in two["rows"])
    for r in two["rows"]:  # repeat 0 is the run without repeats; the score is the mean over repeats
        assert r["val_accs"][0] == single[r["candidate"]]
        assert r["val_acc"] == pytest.approx(sum(r["val_accs"]) / 2)
    assert any(r["val_accs"][0] != r["val_accs"][1] for r in two["rows"])  # other seeds, other results
    assert run_search(search_config(space_file, tmp_path / "run", repeats=2), dataset=digits)["trained"] == 0
    assert run_search(search_config(space_file, tmp_path / "run", repeats=3), dataset=digits)["trained"] == 8
    restore = interrupt_after(runner_module, "train_candidate", 3)
    with pytest.raises(KeyboardInterrupt):
        run_search(search_config(space_file, tmp_path / "run", repeats=4), dataset=digits)
    restore()
    resumed = run_search(search_config(space_file, tmp_path / "run", repeats=4), dataset=digits)
    assert resumed["trained"] == 5 and all(r["repeats"] == 4 for r in resumed["rows"])
    units = Counter(unit_of(t) for t in complete_trials(tmp_path / "run"))
    assert len(units) == 32 and set(units.values()) == {1}  # every (candidate, repeat) trained exactly once


def test_repeats_need_the_grid_sampler():
    with pytest.raises(ConfigError, match="--repeats.*grid"):
        SearchConfig(proxy="random:2", sampler="tpe", n_trials=4, repeats=2)


@pytest.mark.parametrize("exhausted", [
    lambda: __import__("torch").OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you "
                         "tried to allocate 123456789 bytes."),  # the CPU allocator's: a plain RuntimeError
])
def test_a_candidate_out_of_memory_fails_with_its_reason_and_the_search_goes_on(space_file, tmp_path, digits,
                                                                                monkeypatch, exhausted):
    from ftd_nas.train import Trainer

    real = Trainer.run_epoch

    def wide_ones_exhaust_the_memory(self, *args, **kwargs):
        if sum(p.numel() for p in self.model.parameters()) > 2000:
            raise exhausted()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "run_epoch", wide_ones_exhaust_the_memory)
    summary = run_search(search_config(space_file, tmp_path / "run", epochs=1), dataset=digits)
    failed = [r for r in summary["rows"] if r["state"] == "FAIL"]
    assert failed and all(r["fail_reason"] == "out of memory" for r in failed)
    assert summary["failed"] == len(failed) and summary["trained"] == 8 - len(failed) > 0


@pytest.mark.parametrize("budget", [{}, {"sampler": "random", "n_trials": 3}], ids=["grid", "budgeted"])
def test_a_space_with_no_candidate_within_its_limits_is_an_error_not_a_finished_search(tmp_path, digits, budget):
    from ftd_nas.errors import InputError

    space = tmp_path / "tight.yaml"
    space.write_text(SPACE + "constraints:\n  max_params: 10\n")
    with pytest.raises(InputError, match=r"no candidate of space 'unit' .* within its limits \{'max_params': 10\} "
                                         r"for digits \(1x16x16, 10 classes\): all 8 have more parameters"):
        run_search(replace(search_config(str(space), tmp_path / "run"), **budget), dataset=digits)
    assert not (tmp_path / "run").exists()


def test_a_run_is_never_given_a_new_study_beside_one_holding_its_work(space_file, tmp_path, digits):
    run = tmp_path / "run"
    run_search(search_config(space_file, run, epochs=1), dataset=digits)
    journal = f"journal:{run / 'study.journal'}"
    with pytest.raises(ConfigError, match=r"study is in 'study.db' \(8 candidates finished, 0 running\): workers on "
                                          r"'journal:study.journal' would start a new study and train them all"):
        run_search(search_config(space_file, run, epochs=1, storage=journal), dataset=digits)
    assert not (run / "study.journal").exists()
    # the same study named another way is the same study
    again = run_search(search_config(space_file, run, epochs=1, storage=f"sqlite:///{run / 'study.db'}"),
                       dataset=digits)
    assert again["trained"] == 0
    # a study outside the folder is never followed from run.json: resuming without naming it is refused
    outside = tmp_path / "shared.journal"
    elsewhere = tmp_path / "elsewhere"
    run_search(search_config(space_file, elsewhere, epochs=1, storage=f"journal:{outside}"), dataset=digits)
    with pytest.raises(ConfigError, match="outside the folder: give --storage"):
        run_search(search_config(space_file, elsewhere, epochs=1), dataset=digits)
    assert not (elsewhere / "study.db").exists()
    assert run_search(search_config(space_file, elsewhere, epochs=1, storage=f"journal:{outside}"),
                      dataset=digits)["trained"] == 0

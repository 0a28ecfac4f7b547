"""`search --plan`: a sample spread over the space's sizes, a projection per worker count, and a run folder
left exactly as it was."""

import hashlib
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from ftd_nas.search import SearchConfig, SearchRecipe, run_search
from ftd_nas.search.plan import SampleTiming, fit_line, makespan, plan_search, project, spread_sample
from tests.conftest import search_config


def test_longest_first_schedule_by_hand():
    # loads: 5 | 4 -> 3 goes to 4 (7) -> 3 goes to 5 (8) -> 3 goes to 7 (10)
    assert makespan([3, 5, 3, 4, 3], 2) == 10
    assert makespan([3, 5, 3, 4, 3], 1) == 18
    assert makespan([3, 5, 3, 4, 3], 10) == 5


def test_line_fit_and_its_non_negative_slope():
    assert fit_line([1, 2, 3], [3, 5, 7]) == pytest.approx((1, 2))
    assert fit_line([1, 2, 3], [7, 5, 3]) == pytest.approx((5, 0))  # never "bigger trains faster"
    assert fit_line([2, 2], [1, 3]) == pytest.approx((2, 0))


def test_sample_spans_the_sizes():
    costs = [({"w": w}, {"macs": w * 10, "num_params": w}) for w in (7, 1, 5, 3, 9, 2, 8)]
    picked = [p["w"] for p, _ in spread_sample(costs, 3)]
    assert picked == [1, 5, 9]
    assert len(spread_sample(costs, 20)) == 7


def test_plan_projects_every_unit(space_file, digits):
    config = search_config(space_file, "unused", epochs=50, repeats=3)
    plan = plan_search(config, sample=3, epochs=2, workers=(1, 2, 4), dataset=digits)
    macs = sorted(t.macs for t in plan.sample)
    assert plan.units == 24 and len(plan.unit_seconds) == 24 and len(plan.sample) == 3
    assert macs[0] == 11_776 and macs[-1] == 56_576  # the smallest and the largest of the space
    walls = plan.seconds_by_workers
    assert walls[1] == pytest.approx(plan.total_seconds) and walls[1] >= walls[2] >= walls[4] >= max(plan.unit_seconds)
    assert all(t.memory_bytes > 0 and not t.memory_measured for t in plan.sample)


def test_projection_by_hand():
    timings = [SampleTiming("a", 100, 1, epoch_seconds=1.5, fixed_seconds=2.0, memory_bytes=1, memory_measured=False),
               SampleTiming("b", 300, 1, epoch_seconds=2.5, fixed_seconds=4.0, memory_bytes=1, memory_measured=False)]
    costs = [{"macs": 100}, {"macs": 200}, {"macs": 300}]  # epoch time 1 + macs / 200: 1.5, 2, 2.5 s
    grid = SearchConfig(space="x", proxy="real", recipe=SearchRecipe(epochs=10), repeats=2)
    plan = project(timings, costs, grid, workers=(1, 2, 3))
    assert plan.unit_seconds == pytest.approx([18, 23, 28] * 2)  # 3 s to build and score + 10 epochs
    # longest first: 2 workers 28+23+18 | 28+23+18; 3 workers 28+18 | 28+18 | 23+23
    assert plan.seconds_by_workers == pytest.approx({1: 138, 2: 69, 3: 46})
    budget = SearchConfig(space="x", proxy="real", recipe=SearchRecipe(epochs=10), sampler="tpe", n_trials=4)
    assert project(timings, costs, budget, workers=(1,)).unit_seconds == pytest.approx([23] * 4)


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_plan_leaves_the_run_folder_untouched(space_file, tmp_path, digits):
    run = tmp_path / "run"
    run_search(search_config(space_file, run, epochs=1, only=["d1-w4-relu-none-avgpool"]), dataset=digits)
    before = _snapshot(run)
    out = subprocess.run([sys.executable, "-m", "ftd_nas", "search", "--space", space_file, "--proxy", "random:3",
                          "--dataset", "digits", "--epochs", "5", "--dsa", "none", "--device", "cpu", "--out", str(run),
                          "--plan", "--plan-sample", "2", "--plan-epochs", "1", "--plan-json",
                          str(tmp_path / "plan.json")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert _snapshot(run) == before
    assert "wall time by number of workers" in out.stdout and "memory per candidate" in out.stdout
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["units"] == 8 and set(plan["seconds_by_workers"]) == {"1", "2", "4", "8", "16"}


def test_one_slow_first_sample_does_not_drag_the_projection():
    # six samples on a line (5 ms + 1e-11 s per multiply-add an epoch, 0.1 s fixed: small candidates on a GPU); then
    # the first carries the device's one-off start, as measured on an H200 (issue 30): 4.84 s to build and score,
    # 0.068 s per epoch
    macs = [1e6, 5e7, 1e8, 2e8, 4e8, 8e8]
    clean = [SampleTiming(str(i), m, 1, epoch_seconds=0.005 + 1e-11 * m, fixed_seconds=0.1, memory_bytes=1,
                          memory_measured=False) for i, m in enumerate(macs)]
    slow_start = [replace(clean[0], epoch_seconds=0.068, fixed_seconds=4.84), *clean[1:]]
    costs = [{"macs": m} for m in np.linspace(1e6, 8e8, 50)]
    config = SearchConfig(proxy="random:2", recipe=SearchRecipe(epochs=200))
    expected, dragged = (project(t, costs, config, workers=(1,)).total_seconds for t in (clean, slow_start))
    assert expected == pytest.approx(sum(0.1 + 200 * (0.005 + 1e-11 * c["macs"]) for c in costs))
    assert dragged == pytest.approx(expected, rel=0.10)


def test_the_plan_warms_the_device_up_before_it_times(space_file, digits, monkeypatch):
    from ftd_nas.search import plan as plan_module

    timed = []
    real = plan_module._time_candidate
    monkeypatch.setattr(plan_module, "_time_candidate",
                        lambda params, setup, epochs: timed.append(epochs) or real(params, setup, epochs))
    plan = plan_search(search_config(space_file, "unused", epochs=4), sample=2, epochs=2, dataset=digits)
    assert timed == [1, 2, 2] and len(plan.sample) == 2  # one untimed epoch first, left out of the sample

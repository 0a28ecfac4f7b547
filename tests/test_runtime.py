"""Thread counts: a worker's share of the CPUs it is allotted (affinity mask, SLURM), split among the workers
started with it and no more than the CPUs free of other work (the load); --threads and OMP_NUM_THREADS win; the
count, its reason and the OpenMP wait policy are logged and recorded with the run."""

import json
import os
import subprocess
import sys

import pytest

from ftd_nas import cpus, runtime
from ftd_nas.cpus import LOCAL_WORKERS_ENV, OTHER_RUNNABLE_ENV, runnable_elsewhere
from ftd_nas.errors import ConfigError
from ftd_nas.runtime import plan_threads


def test_threads_follow_the_allotment_and_the_workers():
    four = {0, 1, 2, 3}
    assert plan_threads(environ={}, affinity=four, load=0).threads == 4
    assert plan_threads(environ={LOCAL_WORKERS_ENV: "2"}, affinity=four, load=0).threads == 2
    assert plan_threads(environ={LOCAL_WORKERS_ENV: "3"}, affinity=four, load=0).threads == 1
    assert plan_threads(environ={LOCAL_WORKERS_ENV: "8"}, affinity=four, load=0).threads == 1  # never zero
    assert plan_threads(environ={"SLURM_CPUS_PER_TASK": "2"}, affinity=four, load=0).threads == 2
    assert plan_threads(environ={"SLURM_CPUS_PER_TASK": "16"}, affinity=four, load=0).threads == 4  # the mask is the limit
    assert plan_threads(environ={"OMP_NUM_THREADS": "3"}, affinity=four, load=0).threads == 3
    chosen = plan_threads(5, environ={"OMP_NUM_THREADS": "3", LOCAL_WORKERS_ENV: "2"}, affinity=four, load=0)
    assert chosen.threads == 5 and chosen.reason == "--threads"


def test_threads_far_beyond_the_machine_s_cpus_are_refused_saying_the_cap():
    two = {0, 1}
    assert plan_threads(32, environ={}, affinity=two, machine_cpus=8, load=0).threads == 32  # 4 per CPU: oversubscribing
    for requested, environ, source in ((100000, {}, "--threads"), (None, {"OMP_NUM_THREADS": "33"}, "OMP_NUM_THREADS")):
        with pytest.raises(ConfigError, match=rf"{source} \d+ is more than 32 torch threads \(4 per CPU of this "
                                              r"machine's 8\).* Give at most 32, or leave it out to take the 2 CPUs"):
            plan_threads(requested, environ=environ, affinity=two, machine_cpus=8, load=0)


TWO = {0, 1}


def test_threads_take_only_the_cpus_free_of_other_work():
    idle, one, three = (plan_threads(environ={}, affinity=TWO, machine_cpus=2, load=n) for n in (0, 1, 3))
    assert (idle.threads, one.threads, three.threads) == (2, 1, 1)
    assert idle.reason == "2 CPUs allotted / 1 worker on this machine"  # as before when the load takes nothing
    assert one.reason == ("2 CPUs allotted / 1 worker on this machine, 1 free: 1 other runnable task on the "
                          "machine's 2 CPUs")
    assert three.reason.endswith(", 0 free: 3 other runnable tasks on the machine's 2 CPUs")  # and still 1 thread
    eight = set(range(8))
    assert plan_threads(environ={}, affinity=eight, machine_cpus=8, load=3).threads == 5
    # workers started together: their share, or fewer when the load leaves less
    assert plan_threads(environ={LOCAL_WORKERS_ENV: "2"}, affinity=eight, machine_cpus=8, load=3).threads == 4
    assert plan_threads(environ={LOCAL_WORKERS_ENV: "2"}, affinity=eight, machine_cpus=8, load=6).threads == 2


def test_other_work_fills_the_cpus_outside_the_allotment_first():
    # a SLURM job or an affinity mask of 2 of 8 CPUs: 6 other tasks can run on the other 6 CPUs
    assert plan_threads(environ={}, affinity=TWO, machine_cpus=8, load=6).threads == 2
    assert plan_threads(environ={}, affinity=TWO, machine_cpus=8, load=7).threads == 1
    slurm = plan_threads(environ={"SLURM_CPUS_PER_TASK": "2"}, affinity=set(range(8)), machine_cpus=8, load=6)
    assert slurm.threads == 2 and slurm.reason == "2 CPUs allotted / 1 worker on this machine"


def test_the_user_s_count_wins_over_the_load_which_is_then_not_read():
    bad = {OTHER_RUNNABLE_ENV: "lots"}  # would be refused if it were read
    given = plan_threads(2, environ=bad, affinity=TWO, machine_cpus=2, load=3)
    assert (given.threads, given.reason) == (2, "--threads")
    assert plan_threads(2, environ=bad, affinity=TWO, machine_cpus=2).threads == 2
    omp = plan_threads(environ={"OMP_NUM_THREADS": "2", **bad}, affinity=TWO, machine_cpus=2)
    assert (omp.threads, omp.reason) == (2, "OMP_NUM_THREADS")


def test_the_load_can_be_given_in_the_environment():
    assert runnable_elsewhere({OTHER_RUNNABLE_ENV: "3"}) == 3
    assert runnable_elsewhere({OTHER_RUNNABLE_ENV: " 0 "}) == 0
    assert plan_threads(environ={OTHER_RUNNABLE_ENV: "1"}, affinity=TWO, machine_cpus=2).threads == 1
    assert plan_threads(environ={OTHER_RUNNABLE_ENV: "0"}, affinity=TWO, machine_cpus=2).threads == 2


@pytest.mark.parametrize("value", ["lots", "-1", "1.5", "2 tasks"])
def test_a_load_in_the_environment_that_is_not_a_whole_number_is_refused(value):
    with pytest.raises(ConfigError, match=rf"{OTHER_RUNNABLE_ENV}='{value}' is not a whole number: give the number "
                                          r"of other runnable tasks on this machine \(0 to size threads as if it "
                                          r"were idle\), or unset it"):
        plan_threads(environ={OTHER_RUNNABLE_ENV: value}, affinity=TWO, machine_cpus=2)


def test_a_bad_load_in_the_environment_is_a_usage_error_of_the_command(tmp_path, monkeypatch, capsys):
    from ftd_nas.cli import main
    from ftd_nas.errors import EXIT_USAGE

    monkeypatch.setenv(OTHER_RUNNABLE_ENV, "lots")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert main(["status", str(tmp_path / "run")]) == EXIT_USAGE
    assert f"error: {OTHER_RUNNABLE_ENV}='lots' is not a whole number" in capsys.readouterr().err


def _loadavg(tmp_path, *lines):
    paths = []
    for i, line in enumerate(lines):
        paths.append(tmp_path / f"loadavg{i}")
        paths[-1].write_text(line + "\n")
    return paths


def test_the_load_is_the_running_count_of_proc_loadavg_less_this_process(tmp_path, monkeypatch):
    environ = {}  # no override
    busy, idle, garbled = _loadavg(tmp_path, "12.03 11.50 9.80 5/412 31337", "0.00 0.01 0.05 1/98 4075", "1 2 3")
    assert runnable_elsewhere(environ, str(busy)) == 4
    assert runnable_elsewhere(environ, str(idle)) == 0
    assert runnable_elsewhere(environ, str(garbled)) == 0  # unreadable: as if idle
    assert runnable_elsewhere(environ, str(tmp_path / "absent")) == 0  # no /proc (not Linux)
    # the fewest of several readings: a task passing through one reading is not a load
    readings = iter(["1.0 1.0 1.0 4/100 1\n", "1.0 1.0 1.0 2/100 1\n", "1.0 1.0 1.0 6/100 1\n"])
    monkeypatch.setattr(cpus, "LOAD_SAMPLE_GAP", 0)
    monkeypatch.setattr(cpus, "open", lambda path: __import__("io").StringIO(next(readings)), raising=False)
    assert runnable_elsewhere(environ) == 1


def test_the_run_record_says_why_the_threads_and_how_they_wait(monkeypatch):
    import torch

    threads = torch.get_num_threads()  # a plan of the count torch already has: this process keeps its threads
    plan = runtime.ThreadPlan(threads, threads, 1, "why, in words")
    monkeypatch.setattr(runtime, "_applied", [])
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert runtime.environment_info()["torch_threads_reason"] is None  # no plan applied: no reason to give
    runtime.apply_threads(plan)
    info = runtime.environment_info()
    assert (info["torch_threads"], info["torch_threads_reason"], info["omp_wait_policy"]) == (threads,
                                                                                              "why, in words",
                                                                                              "PASSIVE")
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert runtime.environment_info()["omp_wait_policy"] is None


def _search(space_file, out, *extra, cpus=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", LOCAL_WORKERS_ENV, "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    cmd = [sys.executable, "-m", "ftd_nas", "search", "--space", space_file, "--proxy", "random:1", "--dataset",
           "digits", "--epochs", "1", "--dsa", "none", "--device", "cpu", "--no-progress", "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600,
                          preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)


def _recorded_threads(run):
    return json.loads((run / "run.json").read_text())["environment"]["torch_threads"]


def _recorded(run, key):
    return json.loads((run / "run.json").read_text())["environment"][key]


@pytest.mark.slow
def test_a_worker_takes_the_cpus_of_its_affinity_mask(space_file, tmp_path):
    one = _search(space_file, tmp_path / "one", cpus={sorted(os.sched_getaffinity(0))[0]})
    assert one.returncode == 0, one.stderr
    assert "with 1 torch threads (1 CPUs allotted / 1 worker on this machine)" in one.stderr
    assert _recorded_threads(tmp_path / "one") == 1
    assert _recorded(tmp_path / "one", "torch_threads_reason") == "1 CPUs allotted / 1 worker on this machine"
    # the suite's machine counts as idle (FTD_NAS_OTHER_RUNNABLE=0): OpenMP's own wait, nothing set (__main__.py)
    assert _recorded(tmp_path / "one", "omp_wait_policy") is None


@pytest.mark.slow
def test_a_worker_on_a_loaded_machine_takes_the_free_cpus_and_says_why(space_file, tmp_path, monkeypatch):
    cpus = set(sorted(os.sched_getaffinity(0))[:2])
    if len(cpus) < 2 or os.cpu_count() != 2:
        pytest.skip("needs a machine of two CPUs")
    monkeypatch.setenv("FTD_NAS_OTHER_RUNNABLE", "1")
    loaded = _search(space_file, tmp_path / "loaded", cpus=cpus)
    assert loaded.returncode == 0, loaded.stderr
    why = "2 CPUs allotted / 1 worker on this machine, 1 free: 1 other runnable task on the machine's 2 CPUs"
    assert f"with 1 torch threads ({why})" in loaded.stderr
    assert _recorded_threads(tmp_path / "loaded") == 1 and _recorded(tmp_path / "loaded", "torch_threads_reason") == why
    assert _recorded(tmp_path / "loaded", "omp_wait_policy") == "PASSIVE"  # other work wants the CPUs (__main__.py)


@pytest.mark.slow
def test_workers_started_together_split_the_cpus(space_file, tmp_path):
    cpus = set(sorted(os.sched_getaffinity(0))[:2])
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")
    alone = _search(space_file, tmp_path / "alone", cpus=cpus)
    assert "with 2 torch threads (2 CPUs allotted / 1 worker on this machine)" in alone.stderr
    pair = _search(space_file, tmp_path / "pair", "--workers", "2", cpus=cpus)
    assert pair.returncode == 0, pair.stderr
    assert pair.stderr.count("with 1 torch threads (2 CPUs allotted / 2 workers on this machine)") == 2
    assert _recorded_threads(tmp_path / "pair") == 1
    given = _search(space_file, tmp_path / "given", "--threads", "2", "--workers", "2", cpus=cpus)
    assert given.stderr.count("with 2 torch threads (--threads)") == 2

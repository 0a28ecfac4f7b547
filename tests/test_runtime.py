"""Thread counts: a worker's share of the CPUs it is allotted (affinity mask, SLURM), split among the workers
started with it; --threads and OMP_NUM_THREADS win; the count is logged and recorded with the run."""

import json
import os
import subprocess
import sys

import pytest

from ftd_nas.runtime import LOCAL_WORKERS_ENV, plan_threads


def test_threads_follow_the_allotment_and_the_workers():
    four = {0, 1, 2, 3}
    assert plan_threads(environ={}, affinity=four).threads == 4
    assert plan_threads(environ={LOCAL_WORKERS_ENV: "2"}, affinity=four).threads == 2
    assert plan_threads(environ={LOCAL_WORKERS_ENV: "3"}, affinity=four).threads == 1
    assert plan_threads(environ={LOCAL_WORKERS_ENV: "8"}, affinity=four).threads == 1  # never zero
    assert plan_threads(environ={"SLURM_CPUS_PER_TASK": "2"}, affinity=four).threads == 2
    assert plan_threads(environ={"SLURM_CPUS_PER_TASK": "16"}, affinity=four).threads == 4  # the mask is the limit
    assert plan_threads(environ={"OMP_NUM_THREADS": "3"}, affinity=four).threads == 3
    chosen = plan_threads(5, environ={"OMP_NUM_THREADS": "3", LOCAL_WORKERS_ENV: "2"}, affinity=four)
    assert chosen.threads == 5 and chosen.reason == "--threads"


def test_threads_far_beyond_the_machine_s_cpus_are_refused_saying_the_cap():
    from ftd_nas.errors import ConfigError

    two = {0, 1}
    assert plan_threads(32, environ={}, affinity=two, machine_cpus=8).threads == 32  # 4 per CPU: oversubscribing
    for requested, environ, source in ((100000, {}, "--threads"), (None, {"OMP_NUM_THREADS": "33"}, "OMP_NUM_THREADS")):
        with pytest.raises(ConfigError, match=rf"{source} \d+ is more than 32 torch threads \(4 per CPU of this "
                                              r"machine's 8\).* Give at most 32, or leave it out to take the 2 CPUs"):
            plan_threads(requested, environ=environ, affinity=two, machine_cpus=8)


def _search(space_file, out, *extra, cpus=None):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", LOCAL_WORKERS_ENV)}
    cmd = [sys.executable, "-m", "ftd_nas", "search", "--space", space_file, "--proxy", "random:1", "--dataset",
           "digits", "--epochs", "1", "--dsa", "none", "--device", "cpu", "--no-progress", "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600,
                          preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)


def _recorded_threads(run):
    return json.loads((run / "run.json").read_text())["environment"]["torch_threads"]


@pytest.mark.slow
def test_a_worker_takes_the_cpus_of_its_affinity_mask(space_file, tmp_path):
    one = _search(space_file, tmp_path / "one", cpus={sorted(os.sched_getaffinity(0))[0]})
    assert one.returncode == 0, one.stderr
    assert "with 1 torch threads (1 CPUs allotted / 1 worker on this machine)" in one.stderr
    assert _recorded_threads(tmp_path / "one") == 1


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

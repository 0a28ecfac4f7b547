"""Local workers and SLURM array tasks: the command line each worker runs."""

import pytest

from ftd_nas.errors import ConfigError
from ftd_nas.queue.slurm import SlurmConfig, slurm_script, worker_argv


def test_local_workers_rewrite_the_command_line():
    from ftd_nas.queue.workers import worker_commands

    argv = ["search", "--space", "x", "--devices", "0,1", "--device=cpu", "--out", "r"]
    commands = worker_commands(argv, devices="0,1")
    assert [c[3:] for c in commands] == [["search", "--space", "x", "--out", "r", "--device", f"cuda:{i}"]
                                         for i in (0, 1)]
    three = worker_commands(["search", "--workers", "3", "--out", "r"], workers=3)
    assert len(three) == 3 and all(c[3:] == ["search", "--out", "r"] for c in three)
    with pytest.raises(ConfigError, match="GPU indices"):
        worker_commands(argv, devices="a,b")
    with pytest.raises(ConfigError, match="disagree"):
        worker_commands(argv, workers=3, devices="0,1")


def test_worker_command_of_a_task():
    argv = ["-v", "search", "--space", "s", "--out", "r", "--workers", "2", "--slurm-script", "4", "--device", "cpu",
            "--slurm-option=--qos=long", "--storage", "postgresql://u@h/db"]
    args = worker_argv(argv, __import__("pathlib").Path("/runs/r"), "postgresql://u@h/db", gpus=1)
    assert args == ["-v", "search", "--space", "s", "--out", "r", "--storage", "postgresql://u@h/db", "--no-progress",
                    "--device", "cuda"]
    assert worker_argv(["search", "--out", "r"], __import__("pathlib").Path("/runs/r"), None, gpus=0)[-3:] == \
        ["--storage", "journal:/runs/r/study.journal", "--no-progress"]
    with pytest.raises(ConfigError, match="SQLite"):
        worker_argv(argv, __import__("pathlib").Path("/r"), "sqlite:///x.db", gpus=1)
    script = slurm_script(["search"], __import__("pathlib").Path("/runs/r"), SlurmConfig(tasks=8, gpus=2))
    assert "#SBATCH --gres=gpu:2" in script and "#SBATCH --array=0-7" in script
    with pytest.raises(ConfigError, match="--slurm-option"):
        SlurmConfig(tasks=1, options=["--partition=gpu\nrm -rf /"])

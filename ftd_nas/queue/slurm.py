"""`ftd-nas search ... --slurm-script N`: an sbatch array script of N search workers, to read and submit.

Each array task is one worker running the same search command against a storage every node can reach (a
journal file on the shared filesystem unless --storage names one): the workers share the queue, each candidate
is trained once, and a task that is preempted or requeued simply joins again (SIGTERM re-queues its running
candidate at once; a task killed outright has its candidate retried after --grace seconds). A worker names
itself by its SLURM job and array task, and takes the GPU and the CPUs SLURM gives it.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ftd_nas.errors import ConfigError
from ftd_nas.io import atomic_path
from ftd_nas.paths import inside
from ftd_nas.queue.urls import study_file
from ftd_nas.queue.workers import strip_option

SCRIPT_NAME = "search.sbatch"
JOURNAL_NAME = "study.journal"
SLURM_ONLY = ("--slurm-script", "--slurm-time", "--slurm-cpus", "--slurm-gpus", "--slurm-option",
              "--devices", "--workers")


@dataclass
class SlurmConfig:
    tasks: int
    time: str = "24:00:00"  # per task; a requeued task goes on where the search stands
    cpus: int = 4  # per task: data on the device leaves a worker few CPU needs
    gpus: int = 1  # per task; 0 for CPU workers
    options: list[str] = field(default_factory=list)  # extra #SBATCH lines, e.g. --partition=gpu, --account=lab

    def __post_init__(self) -> None:
        if self.tasks < 1:
            raise ConfigError(f"--slurm-script needs at least one task, got {self.tasks}")
        for option in self.options:
            if not option.startswith("--") or "\n" in option:
                raise ConfigError(f"--slurm-option takes one sbatch option like --partition=gpu, got {option!r}")


def worker_argv(argv: Sequence[str], run_dir: Path, storage: str | None, gpus: int) -> list[str]:
    """The search command each task runs: the user's, without the SLURM and local-worker options, with the
    shared storage, no progress bar (a log file is not a terminal) and a GPU device when the task has one."""
    args = list(argv)
    for option in SLURM_ONLY:
        args = strip_option(args, option)
    args = strip_option(strip_option(args, "--storage"), "--no-progress", has_value=False)
    if storage is None:
        storage = study_file(run_dir, JOURNAL_NAME, journal=True)
    elif storage.startswith("sqlite"):
        raise ConfigError("SQLite is not safe for workers on several machines (its locks fail on network "
                          "filesystems): drop --storage to use a journal file in the run folder, or give "
                          "--storage journal:PATH or a PostgreSQL URL")
    args += ["--storage", storage, "--no-progress"]
    if gpus > 0:
        args = strip_option(args, "--device") + ["--device", "cuda"]
    return args


def slurm_script(argv: Sequence[str], run_dir: Path, config: SlurmConfig, storage: str | None = None,
                 workdir: Path | None = None, python: str | None = None) -> str:
    run_dir = run_dir.resolve()
    command = [python or sys.executable, "-m", "ftd_nas", *worker_argv(argv, run_dir, storage, config.gpus)]
    logs = run_dir / "slurm"
    sbatch = [f"--job-name=ftd-nas-{run_dir.name}", f"--array=0-{config.tasks - 1}", "--ntasks=1",
              f"--cpus-per-task={config.cpus}", f"--time={config.time}", "--requeue", "--open-mode=append",
              f"--output={logs}/%A_%a.log"]
    if config.gpus:
        sbatch.append(f"--gres=gpu:{config.gpus}")
    sbatch += config.options
    lines = ["#!/bin/bash",
             f"# {config.tasks} ftd-nas search workers as a SLURM array; written by ftd-nas search --slurm-script.",
             f"# Submit: sbatch {shlex.quote(str(logs / SCRIPT_NAME))}",
             f"# Watch:  ftd-nas status {shlex.quote(str(run_dir))}"
             + (f" --storage {shlex.quote(storage)}" if storage else ""),
             "# Each task is one worker; they share the queue and train each candidate once. Submitting again, or",
             "# a requeue, resumes: finished candidates are never redone.",
             *(f"#SBATCH {option}" for option in sbatch),
             "",
             "set -euo pipefail",
             f"cd {shlex.quote(str((workdir or Path.cwd()).resolve()))}",
             f"mkdir -p {shlex.quote(str(logs))}",
             "# torch takes the CPUs SLURM allots (SLURM_CPUS_PER_TASK) and the GPU it hands this task",
             "exec " + " ".join(shlex.quote(a) for a in command),
             ""]
    return "\n".join(lines)


def write_slurm_script(argv: Sequence[str], run_dir: Path, config: SlurmConfig, storage: str | None = None) -> Path:
    """Write RUN/slurm/search.sbatch (atomically) and return its path. The logs go to RUN/slurm/ too: neither it
    nor the script may be a symbolic link (`inside`), or the tasks would write wherever it points."""
    path = inside(run_dir, f"slurm/{SCRIPT_NAME}", "the SLURM script")
    text = slurm_script(argv, run_dir, config, storage)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    path.chmod(0o755)
    return path

"""`ftd-nas search ... --slurm-script N`: an sbatch array script of N search workers, to read and submit.

Each array task is one worker running the same search command against a storage every node can reach (a
journal file on the shared filesystem unless --storage names one): the workers share the queue, each candidate
is trained once, and a task that is preempted or requeued simply joins again (SIGTERM re-queues its running
candidate at once; a task killed outright has its candidate retried after --grace seconds). A worker names
itself by its SLURM job and array task, and takes the GPU and the CPUs SLURM gives it.
"""

from __future__ import annotations

import re
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


# sbatch's --time: minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes,
# days-hours:minutes:seconds, or no limit
TIME_FORMAT = re.compile(r"(\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|unlimited|infinite)", re.IGNORECASE)
PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")  # a value that needs no quoting on an #SBATCH line


def _has_control(text: str) -> bool:
    """A newline (or another control character) would end a line of the script early: the rest of the value
    would become a line of its own, executed by bash or read by sbatch as another option."""
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def check_script_text(what: str, text: str) -> None:
    if _has_control(text):
        raise ConfigError(f"{what} {text!r} holds a newline or another control character, which would break the "
                          "lines of the sbatch script; choose another")


def sbatch_value(text: str) -> str:
    """`text` as one argument of an #SBATCH line. sbatch splits those lines itself, not through a shell (its
    `_get_argument`): it groups by double quotes (newer versions by single quotes too), takes a backslash to escape
    the next character, and ends the line at an unescaped `#` (older versions even inside quotes). So: double
    quotes, with a backslash before `\\`, `"` and `#`, which every version reads alike."""
    if PLAIN.fullmatch(text):
        return text
    return '"' + re.sub(r'([\\"#])', r"\\\1", text) + '"'


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
        if not isinstance(self.time, str) or not TIME_FORMAT.fullmatch(self.time):
            raise ConfigError(f"--slurm-time takes sbatch's time format (minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S, "
                              f"e.g. 24:00:00 or 2-00:00:00), got {self.time!r}")
        for option in self.options:
            if not option.startswith("--") or _has_control(option):
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
    workdir = (workdir or Path.cwd()).resolve()
    check_script_text("the run folder", str(run_dir))
    check_script_text("the working folder", str(workdir))
    if storage is not None:
        check_script_text("--storage", storage)
    command = [python or sys.executable, "-m", "ftd_nas", *worker_argv(argv, run_dir, storage, config.gpus)]
    logs = run_dir / "slurm"
    # a % in the folder's name is sbatch's, not a file-name pattern (%A the array job, %a the task)
    log_pattern = str(logs).replace("%", "%%") + "/%A_%a.log"
    sbatch = [f"--job-name={sbatch_value(f'ftd-nas-{run_dir.name}')}", f"--array=0-{config.tasks - 1}", "--ntasks=1",
              f"--cpus-per-task={config.cpus}", f"--time={config.time}", "--requeue", "--open-mode=append",
              f"--output={sbatch_value(log_pattern)}"]
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
             f"cd {shlex.quote(str(workdir))}",
             f"mkdir -p {shlex.quote(str(logs))}",
             "# torch takes the CPUs SLURM allots (SLURM_CPUS_PER_TASK) and the GPU it hands this task",
             "exec " + " ".join(shlex.quote(a) for a in command),
             ""]
    return "\n".join(lines)


def checked_paths(run_dir: Path, storage: str | None = None) -> Path:
    """RUN/slurm/search.sbatch, and with no `storage` the run's journal, checked by `inside` before anything else
    is decided: the logs go to RUN/slurm/ too, so neither it, the script nor the journal may be a symbolic link, or
    the tasks would write wherever it points. Returns the script's path."""
    if storage is None:
        study_file(run_dir, JOURNAL_NAME, journal=True)
    return inside(run_dir, f"slurm/{SCRIPT_NAME}", "the SLURM script")


def write_slurm_script(argv: Sequence[str], run_dir: Path, config: SlurmConfig, storage: str | None = None) -> Path:
    """Write RUN/slurm/search.sbatch (atomically, at `checked_paths`) and return its path."""
    path = checked_paths(run_dir, storage)
    text = slurm_script(argv, run_dir, config, storage)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    path.chmod(0o755)
    return path

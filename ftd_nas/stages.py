"""Long experiments as resumable stages of ftd-nas commands (used by the scripts in scripts/).

Each stage runs `python -m ftd_nas ARGS` in one or more worker processes (several workers share a study or an
experts folder, each with one thread). A finished stage is recorded, with its command and wall time, in
`OUT/experiment.json` (written atomically) and skipped when the experiment is run again; an interrupted stage is
re-run, and the ftd-nas command resumes where it stopped. A stage's arguments may be a function of the earlier
stages' record (e.g. epochs matched to a measured time budget).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ftd_nas.errors import FtdNasError
from ftd_nas.io import write_json

log = logging.getLogger(__name__)


@dataclass
class Stage:
    name: str
    args: list[str] | Callable[[dict], list[str]]  # ftd-nas arguments, or a function of the record so far
    workers: int = 1


class StageFailed(FtdNasError):
    """A stage's command failed; its log says why, and running the experiment again resumes it."""


def run_stages(stages: list[Stage], out: Path, settings: dict, python: str = sys.executable) -> dict:
    """Run every unfinished stage in order; returns the record (settings, and per stage: command, seconds)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "experiment.json"
    record = json.loads(path.read_text()) if path.exists() else {"stages": {}}
    record["settings"] = settings
    for stage in stages:
        if record["stages"].get(stage.name, {}).get("done"):
            continue
        args = stage.args(record) if callable(stage.args) else stage.args
        log.info("== %s", stage.name)
        started = time.time()
        _run(python, args, stage.workers, out / "logs" / f"{stage.name}.log")
        record["stages"][stage.name] = {"done": True, "seconds": time.time() - started, "workers": stage.workers,
                                        "command": "ftd-nas " + " ".join(args)}
        write_json(path, record)
    return record


def _run(python: str, args: list[str], workers: int, log_path: Path) -> None:
    env = dict(os.environ)
    if workers > 1:  # torch processes sharing the cores: one thread each, or they slow each other down
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as fh:
        fh.write(f"$ ftd-nas {' '.join(args)}  ({workers} workers, {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        fh.flush()
        procs = [subprocess.Popen([python, "-m", "ftd_nas", *args], stdout=fh, stderr=subprocess.STDOUT, env=env)
                 for _ in range(workers)]
        codes = [p.wait() for p in procs]
    if any(codes):
        raise StageFailed(f"a stage failed (exit codes {codes}); see {log_path}. Run the experiment again to resume.")

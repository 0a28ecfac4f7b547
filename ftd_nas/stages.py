"""Long experiments as resumable stages of ftd-nas commands (used by the scripts in scripts/).

Each stage runs `python -m ftd_nas ARGS` in one or more worker processes (several workers share a study or an
experts folder, each with its share of the CPUs). A finished stage is recorded, with its command and wall time, in
`OUT/experiment.json` (written atomically) and skipped when the experiment is run again (with a warning if its
command has changed since); an interrupted stage is re-run, and the ftd-nas command resumes where it stopped. A
stage's wall time is the sum over its attempts: the running attempt's time is written to the record every `TICK`
seconds, so even a killed attempt (SIGKILL at the end of a job's time limit) is counted up to its last tick. A
stage's arguments may be a function of the earlier stages' record (e.g. epochs matched to a measured time budget).

Given the CLI's `main` (`main=`; this module sits below the CLI and never imports it), each stage runs through it in
this process instead (one worker), so a caller that has already paid for importing torch and friends (`ftd-nas
demo`) does not pay for it again per stage; its output goes to the stage's log file the same way (its time is
written when it ends: there is no one to tick meanwhile).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ftd_nas.errors import EXIT_INTERRUPTED, FtdNasError
from ftd_nas.io import write_json
from ftd_nas.cpus import LOCAL_WORKERS_ENV

log = logging.getLogger(__name__)

TICK = 60.0  # seconds between writes of a running stage's time so far
Main = Callable[[list[str]], int]  # the CLI's entry point, `ftd_nas.cli.main`: arguments -> exit code


@dataclass
class Stage:
    name: str
    args: list[str] | Callable[[dict], list[str]]  # ftd-nas arguments, or a function of the record so far
    workers: int = 1


class StageFailed(FtdNasError):
    """A stage's command failed; its log says why, and running the experiment again resumes it."""


class StageInterrupted(FtdNasError):
    """Ctrl-C (or SIGINT) stopped a stage once its workers had stopped at a safe point; the finished stages and
    the interrupted one's finished work are kept, and running the experiment again resumes it."""

    exit_code = EXIT_INTERRUPTED


def same_command(recorded: str, command: str) -> bool:
    """Whether two commands are the same up to the order of their options: a finished stage whose command was
    spelled with its options in another order (before ftd_nas/experiment.py spelled every command one way) did the
    same work. Positional arguments before the first option keep their order, and so do repeated options (--label)."""
    return _options(recorded) == _options(command)


def _options(command: str) -> tuple:
    head, groups = [], []
    for token in command.split(" "):
        if token.startswith("--"):
            groups.append([token])
        elif groups:
            groups[-1].append(token)
        else:
            head.append(token)
    return tuple(head), sorted(groups, key=lambda group: group[0])  # stable: repeated options keep their order


def run_stages(stages: list[Stage], out: Path, settings: dict, python: str = sys.executable,
               main: Main | None = None) -> dict:
    """Run every unfinished stage in order; returns the record (settings, and per stage: command, seconds)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "experiment.json"
    record = json.loads(path.read_text()) if path.exists() else {"stages": {}}
    record["settings"] = settings
    for stage in stages:
        args = stage.args(record) if callable(stage.args) else stage.args
        command = "ftd-nas " + " ".join(args)
        entry = record["stages"].setdefault(stage.name, {})
        if entry.get("done"):
            # kept even when its command changed: its time is what the work cost where it was done
            if not same_command(entry.get("command", command), command):
                log.warning("stage %s finished earlier with another command (%s); kept. Delete its entry in %s "
                            "to run it again", stage.name, entry["command"], path)
            continue
        log.info("== %s", stage.name)
        before, started = entry.get("seconds", 0.0), time.time()  # `before`: earlier, interrupted attempts
        entry.update(done=False, attempts=entry.get("attempts", 0) + 1, workers=stage.workers, command=command)

        def tick() -> None:
            entry["seconds"] = before + time.time() - started
            write_json(path, record)

        try:
            log_path = out / "logs" / f"{stage.name}.log"
            if main is not None:
                _run_in_process(main, args, command, stage.workers, log_path)
            else:
                _run(python, args, command, stage.workers, log_path, tick)
        except KeyboardInterrupt:
            raise StageInterrupted(f"interrupted in stage {stage.name}; the finished stages are kept ({path}) and "
                                   "the same command resumes it") from None
        finally:
            tick()
        entry["done"] = True
        write_json(path, record)
    return record


def _run(python: str, args: list[str], command: str, workers: int, log_path: Path,
         tick: Callable[[], None]) -> None:
    env = dict(os.environ)
    env[LOCAL_WORKERS_ENV] = str(workers)  # each worker takes its share of the CPUs (runtime.plan_threads)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as fh:
        fh.write(f"$ {command}  ({workers} workers, {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        fh.flush()
        procs = [subprocess.Popen([python, "-m", "ftd_nas", *args], stdout=fh, stderr=subprocess.STDOUT, env=env)
                 for _ in range(workers)]
        codes = _wait_all(procs, tick)
    if any(codes):
        raise StageFailed(f"a stage failed (exit codes {codes}); see {log_path}. Run the experiment again to resume.")


def _run_in_process(main: Main, args: list[str], command: str, workers: int, log_path: Path) -> None:
    """The command through the CLI's `main` here: its printed output and its log records go to the stage's log
    file (as a subprocess's would), its log records also wherever this process's go; its diagnostics level follows
    this process's (the command line's -q/-v are not part of the stage's command), and is restored afterwards."""
    if workers != 1:
        raise ValueError(f"a stage run in this process has one worker, not {workers}")
    logger = logging.getLogger("ftd_nas")
    level, effective = logger.level, logger.getEffectiveLevel()
    switches = ["-q"] if effective >= logging.WARNING else ["-vv"] if effective <= logging.DEBUG else []
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as fh:
        fh.write(f"$ {command}  (in process, {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        fh.flush()
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ftd_nas_cli = True  # the CLI's own handler: main() then adds no stderr handler of its own
        logger.addHandler(handler)
        try:
            with contextlib.redirect_stdout(fh):
                code = main([*switches, *args])
        except SystemExit as exc:  # argparse's way out of a usage error: the command's, not this process's
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
    if code == EXIT_INTERRUPTED:
        raise KeyboardInterrupt
    if code:
        raise StageFailed(f"a stage failed (exit code {code}); see {log_path}. Run the experiment again to resume.")


def _wait_all(procs: list[subprocess.Popen], tick: Callable[[], None]) -> list[int]:
    """Every process's exit code, calling `tick` about every TICK seconds while any still runs. Interrupted, it
    passes the interrupt on to the workers (a Ctrl-C in a terminal reached them already; a second one only asks
    again, ftd_nas/interrupts.py) and waits for them to stop at their safe point before raising it: a worker left
    running would go on writing into the run after this process has said it stopped."""
    try:
        for proc in procs:
            while True:
                try:
                    proc.wait(timeout=TICK)
                    break
                except subprocess.TimeoutExpired:
                    tick()
    except KeyboardInterrupt:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            proc.wait()
        raise
    return [proc.returncode for proc in procs]

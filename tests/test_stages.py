"""Resumable stages: a stage's wall time adds up over its attempts, and survives a kill up to the last tick."""

import json
import stat

import pytest

from ftd_nas import stages
from ftd_nas.stages import Stage, StageFailed, run_stages

# Stands in for python: "-m ftd_nas SECONDS EXIT_CODE [wait-for-tick]". With wait-for-tick it first waits until
# the experiment record holds the running stage's time (a tick), copies the record aside, then sleeps and exits.
# Each call notes how many workers it was told share the machine.
FAKE_PYTHON = """#!/bin/sh
mkdir -p "$OUT" && echo "$FTD_NAS_LOCAL_WORKERS" >> "$OUT/workers.txt"
if [ "$5" = "wait-for-tick" ]; then
  n=0
  until grep -q '"seconds"' "$OUT/experiment.json" 2>/dev/null; do
    n=$((n + 1)); [ $n -gt 1200 ] && exit 3
    sleep 0.05
  done
  cp "$OUT/experiment.json" "$OUT/snapshot.json"
fi
sleep "$3"
exit "$4"
"""


@pytest.fixture
def fake_python(tmp_path, monkeypatch):
    path = tmp_path / "fake_python"
    path.write_text(FAKE_PYTHON)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("OUT", str(tmp_path / "out"))
    return str(path)


def test_a_resumed_stage_counts_the_time_of_every_attempt(tmp_path, fake_python):
    out = tmp_path / "out"
    with pytest.raises(StageFailed):
        run_stages([Stage("work", ["0.4", "1"])], out, {}, python=fake_python)
    failed = json.loads((out / "experiment.json").read_text())["stages"]["work"]
    assert failed["done"] is False and failed["attempts"] == 1 and failed["seconds"] >= 0.4

    run_stages([Stage("work", ["0.4", "0"])], out, {}, python=fake_python)
    done = json.loads((out / "experiment.json").read_text())["stages"]["work"]
    assert done["done"] is True and done["attempts"] == 2
    assert done["seconds"] >= 0.8  # the failed attempt's 0.4 s are not forgotten

    # a finished stage is not run again (this command would fail)
    record = run_stages([Stage("work", ["0", "1"])], out, {}, python=fake_python)
    assert record["stages"]["work"]["attempts"] == 2


def test_a_running_stage_writes_its_time_so_far(tmp_path, fake_python, monkeypatch):
    # what a SIGKILL of the experiment would leave behind: the record as of the last tick
    monkeypatch.setattr(stages, "TICK", 0.05)
    out = tmp_path / "out"
    run_stages([Stage("work", ["0", "0", "wait-for-tick"], workers=2)], out, {}, python=fake_python)
    snapshot = json.loads((out / "snapshot.json").read_text())["stages"]
    assert snapshot["work"]["done"] is False and snapshot["work"]["seconds"] > 0
    assert json.loads((out / "experiment.json").read_text())["stages"]["work"]["done"] is True
    # both workers were told to take half the CPUs each (runtime.plan_threads), not torch's one thread per core
    assert (out / "workers.txt").read_text().split() == ["2", "2"]


def test_a_finished_stage_is_kept_when_its_command_changes_and_says_so(tmp_path, fake_python, caplog):
    out = tmp_path / "out"
    run_stages([Stage("work", ["0.2", "0"])], out, {}, python=fake_python)
    with caplog.at_level("WARNING", logger="ftd_nas.stages"):
        record = run_stages([Stage("work", ["0", "1"])], out, {}, python=fake_python)  # would fail if run
    entry = record["stages"]["work"]
    assert entry["done"] and entry["attempts"] == 1 and entry["seconds"] >= 0.2
    assert "finished earlier with another command" in caplog.text


# A worker that, asked to stop, takes a moment to reach its safe point, and notes that it got there.
STOPPING_WORKER = """#!/bin/sh
trap 'sleep 0.3; echo stopped >> "$OUT/stopped"; exit 130' INT
echo started >> "$OUT/started"
while true; do sleep 0.05; done
"""

# The experiment's own process, as a script runs it (scripts/*.py: `sys.exit(run_script(NAME, main))`). SIGINT is
# given Python's handler explicitly: a process started in the background by a non-interactive shell inherits it
# ignored, and Python then leaves it so.
EXPERIMENT = """
import signal, sys
from pathlib import Path
from ftd_nas.cli import run_script
from ftd_nas.stages import Stage, run_stages
signal.signal(signal.SIGINT, signal.default_int_handler)
out, python = Path(sys.argv[1]), sys.argv[2]
sys.exit(run_script("experiment", lambda: run_stages([Stage("work", ["x"], workers=2)], out, {}, python=python)))
"""


def test_an_interrupted_experiment_stops_its_workers_first_and_says_so_in_one_line(tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    import time

    worker = tmp_path / "worker"
    worker.write_text(STOPPING_WORKER)
    worker.chmod(worker.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("OUT", str(out))
    # its own process group, so that whatever the outcome nothing it started outlives the test
    proc = subprocess.Popen([sys.executable, "-c", EXPERIMENT, str(out), str(worker)], stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ((out / "started").exists() and len((out / "started").read_text().split()) == 2):
            assert proc.poll() is None and time.monotonic() < deadline, "the workers never started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)  # the experiment alone, as `kill -INT PID` does: its workers are not told
        _, err = proc.communicate(timeout=120)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    assert proc.returncode == 130
    # it passed the interrupt on and waited: both workers reached their safe point before it exited
    assert (out / "stopped").read_text().split() == ["stopped", "stopped"]
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["experiment: interrupted in stage work; the finished stages are kept "
                                        f"({out / 'experiment.json'}) and the same command resumes it"]
    entry = json.loads((out / "experiment.json").read_text())["stages"]["work"]
    assert entry["done"] is False and entry["attempts"] == 1

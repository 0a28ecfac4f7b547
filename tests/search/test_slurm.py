"""`search --slurm-script N`: the sbatch array script parses, and its task lines, run here as local processes
with the SLURM variables a scheduler would set, share the search: each candidate once, workers named by their
array task, CPUs taken from the allocation, and a SIGTERM (preemption, requeue) re-queues the running candidate."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from .conftest import completed_once, study_trials, worker_command


def _write_script(space_file, run, *extra, epochs=40):
    cmd = [sys.executable, "-m", "ftd_nas", "search", "--space", space_file, "--proxy", "random:10", "--dataset",
           "digits", "--epochs", str(epochs), "--dsa", "none", "--out", str(run), "--device", "cpu", "--heartbeat", "1",
           "--grace", "4", "--slurm-script", "3", "--slurm-gpus", "0", "--slurm-option=--partition=debug", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    script = run / "slurm" / "search.sbatch"
    assert str(script) in out.stdout
    return script


def _task(script, task, **env):
    slurm = {"SLURM_ARRAY_JOB_ID": "4242", "SLURM_ARRAY_TASK_ID": str(task), "SLURM_JOB_ID": str(5000 + task),
             "SLURM_CPUS_PER_TASK": "1", "SLURM_LOCALID": "0", **env}
    environ = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    return subprocess.Popen(["bash", str(script)], env={**environ, **slurm}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_the_script_parses_and_its_tasks_share_the_search(space_file, tmp_path):
    run = tmp_path / "run"
    script = _write_script(space_file, run)
    text = script.read_text()
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    for line in ("#SBATCH --array=0-2", "#SBATCH --requeue", "#SBATCH --partition=debug", "#SBATCH --cpus-per-task=4"):
        assert line in text
    assert "--gres" not in text and "--slurm" not in text.split("exec ", 1)[1]
    assert not (run / "run.json").exists()  # writing the script starts nothing
    tasks = [_task(script, i) for i in range(3)]
    outs = [t.communicate(timeout=600) for t in tasks]
    assert all(t.returncode == 0 for t in tasks), [o[1][-1500:] for o in outs]
    url = f"journal:{run / 'study.journal'}"
    assert completed_once(url)
    workers = {t.user_attrs["worker"] for t in study_trials(url) if t.state == TrialState.COMPLETE}
    assert {w.split(":")[3] for w in workers} <= {f"slurm-4242_{i}" for i in range(3)} and len(workers) >= 2
    assert all("with 1 torch threads (1 CPUs allotted" in err for _, err in outs)  # SLURM_CPUS_PER_TASK=1


@pytest.mark.slow
def test_sigterm_requeues_the_running_candidate_and_a_requeued_task_finishes(space_file, tmp_path):
    run = tmp_path / "run"
    # candidates long enough that the signal lands inside the search even when the test polls late on a busy
    # machine (a signal after the last candidate has nothing to re-queue)
    script = _write_script(space_file, run, epochs=200)
    url = f"journal:{run / 'study.journal'}"
    task = _task(script, 0)
    deadline, running = time.time() + 300, []
    while time.time() < deadline and not running:
        time.sleep(0.3)
        try:
            running = [t for t in study_trials(url) if t.state == TrialState.RUNNING]
        except Exception:  # the journal or the study does not exist yet
            continue
    assert running, "the task never started a candidate"
    task.send_signal(signal.SIGTERM)
    _, err = task.communicate(timeout=300)
    assert task.returncode == 130 and "re-run the same command to resume" in err
    stopped = next(t for t in study_trials(url) if t.number == running[0].number)
    assert stopped.state == TrialState.FAIL and stopped.user_attrs.get("interrupted")
    requeued = _task(script, 0, SLURM_RESTART_COUNT="1")
    _, err = requeued.communicate(timeout=600)
    assert requeued.returncode == 0, err[-1500:]
    assert completed_once(url)
    again = next(t for t in study_trials(url) if t.state == TrialState.COMPLETE
                 and t.user_attrs["candidate"] == running[0].user_attrs["candidate"])
    assert again.user_attrs["worker"].endswith("slurm-4242_0-requeue1")


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["exec", "result", "second"])
def test_a_sigterm_at_any_moment_requeues_the_running_candidate_and_exits_130(space_file, tmp_path, moment):
    # The worker sends itself SIGTERM at a fixed point of its search (tests/search/signal_moments.py), where a
    # handler that raised at once went wrong: inside exec()'d code (exit by SIGINT, -2), while a finished result
    # was stored (the result lost, its trial left running), and a second signal while the first was handled (the
    # interrupted trial left running instead of re-queued).
    run = tmp_path / "run"
    url = f"journal:{run / 'study.journal'}"
    cmd = worker_command(space_file, url, run, 3)
    cmd[1:3] = ["-m", "tests.search.signal_moments", moment]  # python -m, as the SLURM script runs it
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=root, env=env)
    assert out.returncode == 130 and "re-run the same command to resume" in out.stderr, (out.returncode,
                                                                                         out.stderr[-3000:])
    (trial,) = [t for t in study_trials(url) if t.state != TrialState.WAITING]  # it stopped at its first
    if moment == "result":
        assert trial.state == TrialState.COMPLETE and trial.user_attrs["val_acc"] is not None
    else:
        assert trial.state == TrialState.FAIL and trial.user_attrs.get("interrupted")


def test_a_script_for_a_run_whose_work_is_in_sqlite_is_refused_and_quotes_what_it_prints(space_file, tmp_path,
                                                                                         digits, capsys):
    import shlex

    from ftd_nas.cli import main
    from ftd_nas.search import run_search

    from tests.conftest import search_config

    run = tmp_path / "my run"
    run_search(search_config(space_file, run, epochs=1), dataset=digits)
    argv = ["search", "--space", space_file, "--proxy", "random:3", "--dataset", "digits", "--epochs", "1",
            "--out", str(run), "--slurm-script", "2"]
    # a fresh journal would train the 8 finished candidates again, and orphan them
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "study is in 'study.db' (8 candidates finished, 0 running)" in err and "train them all again" in err
    assert "Finish it on this machine" in err and not (run / "slurm").exists()
    # a new run folder: the script, and the commands printed for it, quoted for a shell
    fresh = tmp_path / "new run"
    assert main(argv[:-3] + [str(fresh), "--slurm-script", "2"]) == 0
    out = capsys.readouterr().out
    assert f"submit with: sbatch {shlex.quote(str(fresh / 'slurm' / 'search.sbatch'))}" in out
    assert f"ftd-nas status {shlex.quote(str(fresh))}" in out

#!/usr/bin/env python
"""Sharing a machine: one fixed workload alone and beside 1 and 3 busy processes, under each way torch's threads
may be set up, measured side by side in one run (issue #27 item 7).

    python scripts/bench_threads.py                        # a fixed search (convnet-tiny on digits)
    python scripts/bench_threads.py --workload demo        # `ftd-nas demo`, as in the issue (62 s alone on 2 cores)
    python scripts/bench_threads.py --quick --busy 0 1     # a tiny search: a smoke test of this script

Run it on an otherwise idle machine: other work makes every figure wrong (the script says when it finds some).

Conditions (the workload is the same command in each):
  torch-default  the command as before this change (`ftd_nas.cli.main`, no OpenMP wait policy: libgomp spins
                 while it waits; threads the CPUs allotted, torch's own default on a machine of its own)
  passive        OMP_WAIT_POLICY=PASSIVE only (threads as before: FTD_NAS_OTHER_RUNNABLE=0)
  threads        threads sized to the CPUs free of other work only (`ftd_nas.cli.main`, no wait policy)
  ftd-nas        the `ftd-nas` command's default (`python -m ftd_nas`, nothing set): threads sized to the free CPUs, and
                 the passive wait where other work wants them (OpenMP's own wait on an idle machine)
The default runs torch-default, passive and ftd-nas (--conditions to choose).

A busy process is another torch job with torch's defaults (matrix products on all cores, spinning OpenMP waits):
the neighbour of a shared node. Each starts, and has done its first product, before the workload starts.

Fair share: the workload is entitled to 1 / (busy + 1) of the machine's C CPUs. With at least one whole CPU it
should run as fast as alone (these workloads gain little from a second thread: README, 9.4 s with 2 threads, 10.1 s
with 1), and with less it should take (busy + 1) / C times as long; so
    fair share = T_alone x max(1, (busy + 1) / C),
with T_alone the torch-default condition alone (the time before this change), the median of --reps rounds; each
cell is the median of its rounds, the conditions interleaved round by round (this machine's timings vary by
10-15 % from one run to the next). `ratio` is seconds / fair share:
1.0 is a perfectly fair share, and the issue asks for at most 1.5 (and no slower alone). A run is stopped at
--max-ratio times its fair share and reported as above it (`>4.0`). `cpu_seconds` is the CPU time the workload
burnt (user + system): spinning threads show there as CPU time far above the seconds.

Prints a table and writes JSON (default runs/bench_threads.json) with the machine's CPUs and load before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUSY = """import torch
a = torch.randn(1500, 1500)
a = torch.tanh(a @ a)
print("ready", flush=True)
while True:
    a = torch.tanh(a @ a)
"""
SEARCH = ["search", "--space", "convnet-tiny", "--proxy", "random:10", "--dataset", "digits", "--device", "cpu",
          "--no-progress"]
WORKLOADS = {"search": [*SEARCH, "--epochs", "150"], "demo": ["demo", "--device", "cpu", "--no-progress"]}
QUICK = [*SEARCH, "--epochs", "3"]
# What the user may set to choose threads and how they wait: cleared for every run, each condition sets its own.
CHOICES = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "MKL_NUM_THREADS",
           "FTD_NAS_LOCAL_WORKERS", "FTD_NAS_OTHER_RUNNABLE")
OLD_ENTRY = ["-c", "import sys; from ftd_nas.cli import main; sys.exit(main())"]  # the console script before
NEW_ENTRY = ["-m", "ftd_nas"]
CONDITIONS = {  # name: (entry, environment set)
    "torch-default": (OLD_ENTRY, {"FTD_NAS_OTHER_RUNNABLE": "0"}),
    "passive": (NEW_ENTRY, {"OMP_WAIT_POLICY": "PASSIVE", "FTD_NAS_OTHER_RUNNABLE": "0"}),
    "threads": (OLD_ENTRY, {}),
    "ftd-nas": (NEW_ENTRY, {}),
}
REFERENCE = "torch-default"


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CHOICES}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return env


def load_now() -> dict:
    try:
        fields = Path("/proc/loadavg").read_text().split()
    except OSError:
        return {}
    return {"loadavg_1min": float(fields[0]), "running": fields[3]}


def start_busy(count: int, env: dict) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", BUSY], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(count)]
    for proc in procs:  # each has imported torch and started its threads
        if proc.stdout.readline().strip() != "ready":
            stop(procs)
            raise SystemExit("a busy process failed to start")
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.kill()
    for proc in procs:
        proc.wait()


def timed(condition: str, command: list[str], out: Path, env: dict, timeout: float | None) -> dict:
    entry, extra = CONDITIONS[condition]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        subprocess.run([sys.executable, *entry, *command, "--out", str(out)], env={**env, **extra}, cwd=REPO,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
        finished = True
    except subprocess.TimeoutExpired:
        finished = False
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"{condition}: the workload failed:\n{exc.stderr.decode(errors='replace')}")
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workload only: busy processes are reaped later
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": seconds, "finished": finished, "cpu_seconds": cpu}


def _shown(row: dict, cap: float) -> str:
    """The ratio of a cell: '>cap' when its median round was stopped at the cap, and how many rounds were."""
    ratio = f"{row['ratio']:.2f}" if row["finished"] else f">{cap:.1f}"
    return ratio + (f", {row['capped']} of {row['reps']} stopped at {cap:.1f}" if row["capped"] else "")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=sorted(WORKLOADS), default="search")
    p.add_argument("--quick", action="store_true", help="a 3-epoch search instead of the workload (smoke test)")
    p.add_argument("--busy", type=int, nargs="+", default=[0, 1, 3], help="busy processes beside it (default 0 1 3)")
    p.add_argument("--conditions", nargs="+", choices=list(CONDITIONS), default=["torch-default", "passive", "ftd-nas"])
    p.add_argument("--max-ratio", type=float, default=4.0, help="stop a run at this many times its fair share")
    p.add_argument("--reps", type=int, default=3,
                   help="rounds of every condition, interleaved; each cell is the median (default 3)")
    p.add_argument("--out", default="runs/bench_threads.json")
    args = p.parse_args(argv)
    if args.quick and args.workload != "search":
        p.error("--quick is a tiny search: leave out --workload")
    command = QUICK if args.quick else WORKLOADS[args.workload]
    conditions = [REFERENCE] + [c for c in args.conditions if c != REFERENCE]  # the reference first: it sets limits
    busy_levels = sorted(set(args.busy))
    if 0 not in busy_levels:
        busy_levels.insert(0, 0)  # the fair share needs the time alone
    env = clean_env()
    cpus = len(os.sched_getaffinity(0))
    load_before = load_now()
    if load_before and int(load_before["running"].split("/")[0]) > 1:
        print(f"warning: {int(load_before['running'].split('/')[0]) - 1} other runnable tasks now "
              f"(load {load_before['loadavg_1min']}): the figures will be wrong on a busy machine", file=sys.stderr)
    print(f"{args.workload if not args.quick else 'quick search'} on {cpus} CPUs: "
          f"{' '.join(command)}", flush=True)
    rows, alone, runs = [], None, []
    with tempfile.TemporaryDirectory() as tmp:
        for busy in busy_levels:
            factor = max(1.0, (busy + 1) / cpus)
            neighbours = start_busy(busy, env)
            try:
                # the conditions interleaved, --reps rounds: a slow moment of the machine falls on all of them
                times: dict[str, list[dict]] = {c: [] for c in conditions}
                for rep in range(args.reps):
                    for condition in conditions:
                        limit = args.max_ratio * alone * factor if alone else None
                        run = {"busy": busy, "condition": condition, "rep": rep,
                               **timed(condition, command, Path(tmp) / f"run{len(runs)}", env, limit)}
                        runs.append(run)
                        times[condition].append(run)
                    if alone is None:  # the reference alone, first round: sets the limits of the later runs
                        alone = times[REFERENCE][0]["seconds"]
                if busy == 0:  # the fair share from the reference's median alone, once all its rounds ran
                    alone = statistics.median(r["seconds"] for r in times[REFERENCE])
                fair = alone * factor
                for condition in conditions:
                    done = times[condition]
                    row = {"busy": busy, "condition": condition, "reps": len(done),
                           "seconds": statistics.median(r["seconds"] for r in done),
                           "seconds_each": [r["seconds"] for r in done],
                           "capped": sum(not r["finished"] for r in done),
                           "cpu_seconds": statistics.median(r["cpu_seconds"] for r in done),
                           "fair_share_seconds": fair}
                    row["ratio"] = row["seconds"] / fair
                    # the median round stopped at the cap: the cell is a lower bound
                    row["finished"] = row["capped"] * 2 < len(done)
                    rows.append(row)
                    shown = _shown(row, args.max_ratio)
                    spread = "/".join(f"{t:.1f}" for t in row["seconds_each"])
                    print(f"beside {busy} busy  {condition:<14} {row['seconds']:8.1f} s ({spread})  fair "
                          f"{fair:7.1f} s  ratio {shown:>6}  cpu {row['cpu_seconds']:8.1f} s", flush=True)
            finally:
                stop(neighbours)
    print("\n| condition | " + " | ".join(f"beside {b} busy" if b else "alone" for b in busy_levels) + " |")
    print("|---|" + "---|" * len(busy_levels))
    for condition in conditions:
        cells = []
        for busy in busy_levels:
            row = next(r for r in rows if r["busy"] == busy and r["condition"] == condition)
            cells.append(f"{row['seconds']:.1f} s ({_shown(row, args.max_ratio)})")
        print(f"| {condition} | " + " | ".join(cells) + " |")
    result = {"workload": "quick" if args.quick else args.workload, "command": command, "cpus": cpus,
              "cpu_count": os.cpu_count(), "machine": platform.platform(), "torch": metadata.version("torch"),
              "max_ratio": args.max_ratio, "reps": args.reps,
              "fair_share": "T_alone(torch-default) x max(1, (busy + 1) / cpus)", "load_before": load_before,
              "load_after": load_now(), "busy_process": BUSY, "conditions": {
                  name: {"entry": CONDITIONS[name][0], "environment": CONDITIONS[name][1]} for name in conditions},
              "rows": rows, "runs": runs}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()

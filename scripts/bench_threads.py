#!/usr/bin/env python
"""Sharing a machine: one fixed workload alone and beside a busy process, with torch's default thread count and
with the count ftd-nas chooses (--threads), measured side by side in one run.

    python scripts/bench_threads.py                          # a fixed search (convnet-tiny on digits), ~5 min
    python scripts/bench_threads.py --workload demo          # `ftd-nas demo`, as in the issue (~10 min)

The busy process is another torch job (matrix products with torch's default threads), the normal neighbour on a
shared node or in our several-workers-per-machine mode. Prints a table and writes JSON (default
runs/bench_threads.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUSY = "import torch\na = torch.randn(1500, 1500)\nwhile True:\n    a = torch.tanh(a @ a)\n"
WORKLOADS = {
    "search": ["search", "--space", "convnet-tiny", "--proxy", "random:10", "--dataset", "digits", "--epochs", "150",
               "--device", "cpu", "--no-progress"],
    "demo": ["demo", "--device", "cpu"],
}


def timed(command: list[str], threads: int | None, out: Path, env: dict) -> float:
    extra = ["--threads", str(threads)] if threads else []
    args = [*command, "--out", str(out)]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ftd_nas", *extra, *args], check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=sorted(WORKLOADS), default="search")
    p.add_argument("--threads", type=int, default=1, help="the chosen thread count beside the busy process")
    p.add_argument("--out", default="runs/bench_threads.json")
    args = p.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "FTD_NAS_LOCAL_WORKERS")}
    import torch

    default = torch.get_num_threads()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for condition, busy, threads in (("alone", False, None), ("beside a busy process", True, None),
                                         ("beside a busy process", True, args.threads),
                                         ("alone", False, args.threads)):
            neighbour = subprocess.Popen([sys.executable, "-c", BUSY], env=env) if busy else None
            try:
                seconds = timed(WORKLOADS[args.workload], threads, Path(tmp) / f"run{len(rows)}", env)
            finally:
                if neighbour is not None:
                    neighbour.kill()
                    neighbour.wait()
            rows.append({"condition": condition, "threads": threads or default,
                         "how": f"--threads {threads}" if threads else "default", "seconds": seconds})
            print(f"{condition:<24} {rows[-1]['how']:<12} {rows[-1]['threads']:>2} threads  {seconds:7.1f} s",
                  flush=True)
    base = rows[0]["seconds"]
    for row in rows:
        row["relative_to_alone_default"] = row["seconds"] / base
    result = {"workload": args.workload, "command": WORKLOADS[args.workload], "cpus": len(os.sched_getaffinity(0)),
              "torch_default_threads": default, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Before and after, side by side: one benchmark script run from two versions of the code, in interleaved rounds,
so that "no slower than before" is a ratio measured in one run (this machine's timings drift by 10-15 % from one
run to the next, more than most regressions worth catching).

    python scripts/bench_ab.py --before 769ac35 --metric variants.deferred.seconds_per_candidate -- \\
        scripts/bench_search_throughput.py --device cpu --sample 4 --epochs 20 --variants deferred --real-epochs 0

`--before` (and `--after`, default: this working tree as it is, uncommitted changes included) names a git revision,
checked out into a temporary worktree for the run. Each round runs the benchmark once per side, the order
alternating (before-after, after-before, ...) so that a trend over the run (another job starting, the machine
warming) falls on both sides alike. Every run starts in the repository root (the benchmark's relative paths, such
as ../shared, mean the same on both sides) with PYTHONPATH set to its side's tree, so `ftd_nas` and the script are
that side's; each is given `--out FILE` and `METRIC` (a dotted path into that JSON) is read from it.

Prints each round and the summary, and writes JSON (default runs/bench_ab.json): both revisions, the command, every
run's value and seconds, per side the median, and after / before per round and its median (above 1: the after
side takes longer, for a metric in seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def dig(record: dict, path: str) -> float:
    """`record`'s value at the dotted `path` (a list is indexed by number)."""
    value = record
    for key in path.split("."):
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SystemExit(f"bench_ab: the benchmark's JSON has no {path!r} (no {key!r} there); give --metric as "
                             "a dotted path into it") from None
    if not isinstance(value, (int, float)):
        raise SystemExit(f"bench_ab: {path!r} is not a number in the benchmark's JSON: {value!r}")
    return float(value)


def run_side(tree: Path, command: list[str], out: Path, metric: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    script = str(tree / command[0])
    start = time.perf_counter()
    done = subprocess.run([sys.executable, script, *command[1:], "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"bench_ab: the benchmark failed in {tree} (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return {"value": dig(json.loads(out.read_text()), metric), "seconds": seconds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True, help="git revision of the 'before' side")
    p.add_argument("--after", default=None, help="git revision of the 'after' side (default: this working tree)")
    p.add_argument("--metric", required=True, help="dotted path of the number compared in the benchmark's JSON")
    p.add_argument("--rounds", type=int, default=3, help="runs per side, interleaved (default 3)")
    p.add_argument("--out", default="runs/bench_ab.json")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="-- then the benchmark script (a path in the repository) and its arguments, without --out")
    args = p.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not command[0].endswith(".py"):
        p.error("give the benchmark after --: a script in the repository and its arguments")
    if "--out" in command:
        p.error("the benchmark's --out is bench_ab's to set (each run writes its own file)")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    revisions = {"before": git("rev-parse", args.before),
                 "after": git("rev-parse", args.after) if args.after else f"{git('rev-parse', 'HEAD')} + working tree"}
    values: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="bench_ab-") as tmp:
        trees = {}
        for side in ("before", "after"):
            rev = getattr(args, side)
            if rev is None:
                trees[side] = ROOT
                continue
            trees[side] = Path(tmp) / side
            git("worktree", "add", "--detach", str(trees[side]), rev)
        try:
            for round_ in range(args.rounds):
                order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
                for side in order:
                    values[side].append(run_side(trees[side], command, Path(tmp) / f"{side}{round_}.json",
                                                 args.metric))
                ratio = values["after"][-1]["value"] / values["before"][-1]["value"]
                print(f"round {round_ + 1}: before {values['before'][-1]['value']:.4g}  after "
                      f"{values['after'][-1]['value']:.4g}  after/before {ratio:.3f}", flush=True)
        finally:
            for side, tree in trees.items():
                if tree != ROOT:
                    git("worktree", "remove", "--force", str(tree))
    ratios = [a["value"] / b["value"] for a, b in zip(values["after"], values["before"])]
    summary = {side: statistics.median(v["value"] for v in runs) for side, runs in values.items()}
    result = {"metric": args.metric, "command": command, "rounds": args.rounds, "revisions": revisions,
              "runs": values, "median": summary, "ratio_after_over_before": ratios,
              "median_ratio": statistics.median(ratios), "date": time.strftime("%Y-%m-%d %H:%M"),
              "load_after": os.getloadavg()}
    print(f"median {args.metric}: before {summary['before']:.4g}, after {summary['after']:.4g}; after/before per "
          f"round {', '.join(f'{r:.3f}' for r in ratios)} (median {result['median_ratio']:.3f})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

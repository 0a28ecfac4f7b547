"""scripts/bench_ab.py: a benchmark run from two versions of the code in interleaved rounds, compared per round."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A benchmark whose "seconds" is written in the code itself, so each version of it reports its own, and which
# notes the order in which the versions ran.
FAKE = """import argparse, json, os
from pathlib import Path
p = argparse.ArgumentParser(); p.add_argument("--scale", type=float); p.add_argument("--out")
a = p.parse_args()
with open(os.environ["ORDER_FILE"], "a") as f:
    f.write("{version}\\n")
Path(a.out).write_text(json.dumps({{"result": {{"seconds": {seconds} * a.scale}}, "rows": [{seconds}]}}))
"""


def _repo(tmp_path: Path) -> Path:
    """A git repository holding bench_ab.py and the fake benchmark: version 'old' (2 s), then 'new' (3 s) in the
    working tree, uncommitted."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bench_ab.py", repo / "scripts" / "bench_ab.py")
    (repo / "scripts" / "fake.py").write_text(FAKE.format(version="old", seconds=2.0))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "old"], check=True)
    (repo / "scripts" / "fake.py").write_text(FAKE.format(version="new", seconds=3.0))
    return repo


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(repo / "scripts" / "bench_ab.py"), *args], capture_output=True,
                          text=True, cwd=repo, env={**os.environ, "ORDER_FILE": str(repo.parent / "order.txt")})


def test_each_side_runs_its_own_code_in_alternating_order_and_the_ratio_is_per_round(tmp_path):
    repo = _repo(tmp_path)
    out = tmp_path / "ab.json"
    proc = _run(repo, "--before", "HEAD", "--metric", "result.seconds", "--rounds", "3", "--out", str(out), "--",
                "scripts/fake.py", "--scale", "0.5")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert [r["value"] for r in result["runs"]["before"]] == [1.0] * 3  # the committed version, its argument given
    assert [r["value"] for r in result["runs"]["after"]] == [1.5] * 3  # the working tree's
    assert result["ratio_after_over_before"] == [1.5] * 3 and result["median_ratio"] == 1.5
    assert (tmp_path / "order.txt").read_text().split() == ["old", "new", "new", "old", "old", "new"]
    assert subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True,
                          text=True).stdout.count("\n") == 1  # its temporary worktree is gone


def test_a_metric_the_benchmark_does_not_write_is_named_in_the_error(tmp_path):
    repo = _repo(tmp_path)
    proc = _run(repo, "--before", "HEAD", "--metric", "result.minutes", "--rounds", "1", "--out",
                str(tmp_path / "x.json"), "--", "scripts/fake.py", "--scale", "1")
    assert proc.returncode == 1 and "no 'result.minutes' (no 'minutes' there)" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _run(repo, "--before", "HEAD", "--metric", "rows", "--", "scripts/fake.py", "--scale", "1")
    assert proc.returncode == 1 and "'rows' is not a number" in proc.stderr
    proc = _run(repo, "--before", "HEAD", "--metric", "x", "--", "scripts/fake.py", "--out", "y")
    assert proc.returncode == 2 and "--out is bench_ab's to set" in proc.stderr

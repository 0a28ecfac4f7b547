"""scripts/gpu_check.sh: its dry mode runs every step on the CPU and gathers one JSON (what a GPU run writes)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_dry_run_on_cpu_writes_every_step_and_the_projection(tmp_path):
    out = tmp_path / "check"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--device", "cpu", "--quick",
                           "--out", str(out), "--python", sys.executable], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "gpu_check.json").read_text())
    assert summary["format"] == "ftd-nas-gpu-check" and summary["quick"] is True
    assert [s["step"] for s in summary["steps"]] == ["pytest_gpu", "fusion", "search_throughput", "plan",
                                                    "distill_ipc10", "precision", "zero_cost"]
    assert all(s["rc"] == 0 for s in summary["steps"])
    assert summary["environment"]["device"] == "cpu"
    assert summary["projected_minutes_for_space"]["candidates"] == 8  # convnet-tiny in the dry mode
    fusion = summary["results"]["fusion"]["rows"][0]
    # The functional step the fused path builds on ends where train() ends (same seed, same batch order).
    assert fusion["func_max_diff_vs_train"] < 1e-4 and fusion["vmap_2_max_diff_vs_train"] < 1e-4
    precision = summary["results"]["precision"]
    assert precision["candidates"] == 8 and set(precision["agreement"]) == {
        "bf16_vs_fp32_same_seed", "fp32_vs_fp32_other_seed", "bf16_vs_fp32_other_seed"}


def test_an_unknown_option_is_refused_with_usage_exit_code(tmp_path):
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--frobnicate"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "unknown option --frobnicate" in proc.stderr

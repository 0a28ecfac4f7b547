import json

import pytest

from ftd_nas.demo import DemoConfig, format_summary, run_demo

pytestmark = pytest.mark.slow  # the whole chain: experts, distillation, evaluation, searches, report


def test_demo_chain_produces_accuracies_rho_and_figures(tmp_path):
    cfg = DemoConfig(out=str(tmp_path / "demo"), width=8, depth=2, experts=2, expert_epochs=4, ipc=2, iterations=4,
                     syn_steps=3, eval_runs=1, eval_epochs=5, search_epochs=3, truth_epochs=1, device="cpu",
                     progress=False)
    summary = run_demo(cfg)
    assert set(summary["accuracy"]) == {"FTD", "MTT", "Random"}
    assert set(summary["spearman"]) == {"FTD IPC 2", "MTT IPC 2", "Random IPC 2"}
    assert any(f.endswith("topk_by_real.png") for f in summary["figures"])
    assert {f.rsplit("/", 1)[1] for f in summary["figures"]} >= {"curves-distillation.png", "curves-training.png"}
    assert json.loads((tmp_path / "demo" / "summary.json").read_text())["report"] == summary["report"]
    assert "Spearman rho" in format_summary(summary)
    again = run_demo(cfg)  # resumes: nothing is trained twice, the same proxies are reused
    assert again["accuracy"]["FTD"] == summary["accuracy"]["FTD"]

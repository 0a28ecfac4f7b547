"""scripts/verify_coverage.py: each simulated population is checked against its own truth, and pooled."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import verify_coverage  # noqa: E402

from ftd_nas.agreement import spearman  # noqa: E402
from ftd_nas.search.verify_check import simulated_population  # noqa: E402


def test_each_simulated_population_is_checked_against_its_own_truth(tmp_path, monkeypatch, capsys):
    out = tmp_path / "coverage.json"
    monkeypatch.setattr(sys, "argv", ["verify_coverage.py", "--simulate", "--sizes", "20", "30", "--correlations",
                                      "0.5", "--proxies", "2", "--samples", "4", "--tops", "3", "--draws", "3",
                                      "--bootstrap", "50", "--out", str(out)])
    verify_coverage.main()
    results = json.loads(out.read_text())["results"]
    assert [r["pooled"]["candidates"] for r in results] == [[20, 20], [30, 30]]
    for index, (size, result) in enumerate(zip((20, 30), results)):  # population i is simulated with seed i
        val, _, proxies = simulated_population(size, 0.5, proxies=2, seed=index)
        assert result["proxies"]["proxy 1"]["whole"]["spearman"] == spearman(proxies[1], val)
    assert "all populations, pooled | 3 | 4 |" in capsys.readouterr().out


def test_rounded_proxy_scores_tie_and_are_what_the_check_scores(tmp_path, monkeypatch):
    import numpy as np
    import pytest

    out = tmp_path / "ties.json"
    step = 0.02  # coarse: ties among 20 candidates are certain
    monkeypatch.setattr(sys, "argv", ["verify_coverage.py", "--simulate", "--sizes", "20", "--correlations", "0.5",
                                      "--proxies", "1", "--samples", "4", "--tops", "3", "--draws", "2",
                                      "--bootstrap", "20", "--round-proxy", str(step), "--out", str(out)])
    verify_coverage.main()
    val, _, proxies = simulated_population(20, 0.5, proxies=1, seed=0)
    rounded = np.round(proxies[0] / step) * step
    assert len(set(rounded)) < 20
    result = json.loads(out.read_text())["results"][0]["proxies"]["proxy 0"]
    assert result["whole"]["spearman"] == spearman(rounded, val) != spearman(proxies[0], val)
    for wrong in (["--round-proxy", "0.01"], ["--simulate", "--round-proxy", "0"],
                  ["--simulate", "--subsets", "3"]):
        monkeypatch.setattr(sys, "argv", ["verify_coverage.py", *wrong, "--truth", "t", "--proxy", "p"])
        with pytest.raises(SystemExit) as exited:
            verify_coverage.main()
        assert exited.value.code == 2

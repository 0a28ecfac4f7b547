import json
import math
from types import SimpleNamespace

import pytest

from ftd_nas.agreement import FAILED
from ftd_nas.cli import main
from ftd_nas.errors import ConfigError
from ftd_nas.search import run_search
from ftd_nas.search.report import _proxy_scores, _scores, build_report, report_from_candidates, write_report
from ftd_nas.search.results import COMPLETE, FAIL, PRUNED, CandidateResult
from tests.conftest import search_config

from .conftest import rep_space


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits):
    root = tmp_path_factory.mktemp("runs")
    space = rep_space(root)
    out = {}
    for name, proxy, epochs in (("truth", "real", 2), ("r3", "random:3", 20), ("r1", "random:1", 20)):
        run_search(search_config(space, root / name, proxy=proxy, epochs=epochs), dataset=digits)
        out[name] = str(root / name)
    return out


def test_report_compares_proxies_and_changes_with_the_proxy(runs, tmp_path):
    report = build_report([runs["r3"], runs["r1"]], runs["truth"], ks=(3, 5), bootstrap=100)
    a3, a1 = (run["agreement"] for run in report["runs"])
    assert a3["n"] == a1["n"] == 12
    assert a3["spearman"] != a1["spearman"]  # a different proxy gives a different ranking
    written = write_report(report, tmp_path / "rep")
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert set(data["spearman"]) == {"Random IPC 3", "Random IPC 1"} and "topk" in data and "kendall" in data
    assert "| Random IPC 3 |" in written["table"] and "k best architectures by proxy accuracy" in written["table"]
    assert (tmp_path / "rep" / "report.csv").read_text().count("\n") == 3
    for stem in ("scatter_r3", "ranks_r1", "topk_by_real", "topk_by_proxy"):  # figures named after their runs
        assert (tmp_path / "rep" / f"{stem}.png").stat().st_size > 1000
        assert (tmp_path / "rep" / f"{stem}.pdf").exists()


def test_a_proxy_runs_failures_rank_last_while_the_truth_keeps_only_finite_finished_scores():
    run = SimpleNamespace(rows=[
        CandidateResult("ok", {}, COMPLETE, 0, val_acc=0.7), CandidateResult("nan", {}, COMPLETE, 1, val_acc=math.nan),
        CandidateResult("crashed", {}, FAIL, 2), CandidateResult("pruned", {}, PRUNED, 3),
        CandidateResult("no_val", {}, COMPLETE, 4, test_acc=0.5)])  # finished, but without the metric: unknown
    assert _proxy_scores(run, "val_acc") == {"ok": 0.7, "nan": FAILED, "crashed": FAILED, "pruned": FAILED}
    assert _scores(run, "val_acc") == {"ok": 0.7}


def test_truth_must_be_a_real_data_run(runs):
    with pytest.raises(ConfigError, match="not a real-data run"):
        build_report([runs["r1"]], runs["r3"])


def test_report_cli(runs, tmp_path, capsys):
    assert main(["report", runs["r3"], "--truth", runs["truth"], "--out", str(tmp_path / "cli"), "--ks", "3",
                 "--bootstrap", "50"]) == 0
    assert "Spearman correlation" in capsys.readouterr().out
    assert main(["report", str(tmp_path), "--truth", runs["truth"]]) == 3  # not a run folder: an input error


@pytest.mark.slow
def test_runs_with_the_same_label_keep_their_own_figures_and_reports_are_not_replaced(runs, tmp_path, capsys):
    import shutil

    twin = tmp_path / "r3_seed1"
    shutil.copytree(runs["r3"], twin)  # e.g. a second FTD IPC 10 proxy: same label, another run
    written = write_report(build_report([runs["r3"], str(twin)], runs["truth"], ks=(3,), bootstrap=10),
                           tmp_path / "rep")
    names = {p.split("/")[-1] for p in written["figures"]}
    assert {"scatter_r3.png", "scatter_r3_seed1.png", "ranks_r3.png", "ranks_r3_seed1.png"} <= names
    again = write_report(build_report([runs["r3"], str(twin)], runs["truth"], ks=(3,), bootstrap=10),
                         tmp_path / "rep")  # the same inputs refresh the report
    assert again["figures"] == written["figures"]
    with pytest.raises(ConfigError, match="report of other runs.*--overwrite"):
        write_report(build_report([runs["r1"]], runs["truth"], ks=(3,), bootstrap=10), tmp_path / "rep")
    replaced = write_report(build_report([runs["r1"]], runs["truth"], ks=(3,), bootstrap=10), tmp_path / "rep",
                            overwrite=True)
    assert not (tmp_path / "rep" / "scatter_r3_seed1.png").exists()  # the replaced report's figures are gone
    assert (tmp_path / "rep" / "scatter_r1.png").exists() and len(replaced["figures"]) == 10


@pytest.mark.slow
def test_a_partial_run_is_refused_unless_allowed_and_then_says_so_everywhere(runs, tmp_path, digits,
                                                                           interrupt_after):
    from ftd_nas.search import runner

    interrupt_after(runner, "train_candidate", 3)
    cfg = search_config(rep_space(tmp_path), tmp_path / "partial", proxy="random:2", epochs=5)
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, dataset=digits)
    with pytest.raises(ConfigError, match=r"3 candidates in common.*3 finished, 0 failed or pruned, 9 missing of 12"
                                          ".*"
                                          "--allow-partial"):
        build_report([str(tmp_path / "partial")], runs["truth"], ks=(3,), bootstrap=10)
    report = build_report([str(tmp_path / "partial"), runs["r3"]], runs["truth"], ks=(3,), bootstrap=10,
                          allow_partial=True)
    written = write_report(report, tmp_path / "rep")
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    partial, full = data["runs"]
    assert partial["coverage"] == {"space": 12, "finished": 3, "failed": 0, "missing": 9, "common": 3}
    assert full["coverage"]["common"] == 12 and len(data["partial"]) == 1 and data["comparison_candidates"] == 3
    assert data["truth_coverage"]["finished"] == 12
    assert "**PARTIAL REPORT**" in written["table"] and "| Random IPC 2 | 3 |" in written["table"]
    assert "3 / 0 / 9" in written["table"]


@pytest.mark.slow
def test_truth_over_other_data_or_split_is_refused_naming_the_fields(runs, tmp_path, digits):
    from ftd_nas.data import load_dataset

    other_split = load_dataset("digits", split_seed=1)
    run_search(search_config(rep_space(tmp_path), tmp_path / "r", proxy="random:3", epochs=2, split_seed=1),
               dataset=other_split)
    with pytest.raises(ConfigError, match=r"differ in their space or real data \(.*split_seed: 0 vs 1"):
        build_report([str(tmp_path / "r")], runs["truth"], ks=(3,), bootstrap=10)


@pytest.mark.slow
def test_repeated_truth_gives_reliability_and_labelled_runs_form_groups_with_a_declared_family(tmp_path, digits):
    """Issue 25's crashing case (two random-subset searches with 2 repeats, a 3-repeat truth, a small space on
    digits) reports, and says what it may conclude."""
    space = rep_space(tmp_path)
    out = {}
    for name, proxy, epochs, seed, repeats in (("truth", "real", 2, 0, 3), ("a0", "random:3", 10, 0, 2),
                                               ("a1", "random:3", 10, 1, 2), ("b0", "random:1", 10, 0, 1)):
        cfg = search_config(space, tmp_path / name, proxy=proxy, epochs=epochs, seed=seed, repeats=repeats)
        run_search(cfg, dataset=digits)
        out[name] = str(tmp_path / name)
    report = build_report([out["a0"], out["a1"], out["b0"]], out["truth"], ks=(3, 5), bootstrap=50,
                          labels=["A", "A", "B"], primary=["B vs A"])
    a, b = report["groups"]["A"], report["groups"]["B"]
    assert a["runs"] == ["A", "A (a1)"] and b["runs"] == ["B"] and a["proxies"] == 2
    values = a["per_proxy"]["spearman"]
    assert a["metrics"]["spearman"]["value"] == pytest.approx(sum(values) / 2)
    assert a["metrics"]["spearman"]["design"] == "proxies" and b["metrics"]["spearman"]["design"] == "candidates"
    written = write_report(report, tmp_path / "rep")
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["format_version"] == 4 and data["truth_source"]["kind"] == "run"
    ceiling = data["noise_ceiling"]
    assert -1 <= ceiling["rho"] <= 1 and len(ceiling["ci"]) == 2 and ceiling["repeats"]["min"] == 3
    assert "topk" not in ceiling  # no top-k ceilings: they cannot be estimated without bias
    (primary,) = [c for c in data["comparisons"] if c["role"] == "primary"]
    assert (primary["a"], primary["b"], primary["metric"]) == ("B", "A", "spearman")  # as declared
    assert primary["p_holm"] == pytest.approx(primary["p"])  # a family of one
    assert data["family"]["declared_by"] == "the user (--primary)" and data["family"]["size"] == 1
    exploratory = {c["metric"] for c in data["comparisons"] if c["role"] == "exploratory"}
    assert exploratory == {"kendall", "kendall_half", "top3_by_real", "top3_by_proxy", "top5_by_real", "top5_by_proxy", "regret"}
    assert data["spearman"]["A"] == a["metrics"]["spearman"]["value"]
    table = written["table"]
    assert "Truth reliability r = " in table and "(3 repeats per candidate" in table
    assert "Primary comparisons (1, declared by the user (--primary), on spearman; Holm-corrected" in table
    assert "Exploratory differences" in table and "What this design could detect" in table
    assert (tmp_path / "rep" / "groups_spearman.png").exists()
    rows = (tmp_path / "rep" / "candidates.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 * 12 and len(next(r for r in rows if r.startswith("truth,")).split(";")) == 3
    # the statistics come back from candidates.csv alone, as the report computed them from the studies
    again = report_from_candidates(tmp_path / "rep" / "candidates.csv", ks=(3, 5), bootstrap=50,
                                   primary=["B vs A"])
    assert again["groups"] == report["groups"] and again["comparisons"] == report["comparisons"]
    assert again["noise_ceiling"] == report["noise_ceiling"] and again["family"] == report["family"]
    with pytest.raises(ConfigError, match="3 runs but 2 --label"):
        build_report([out["a0"], out["a1"], out["b0"]], out["truth"], labels=["A", "B"])
    with pytest.raises(ConfigError, match="no group labelled 'C'; the groups are 'A', 'B'"):
        build_report([out["a0"], out["a1"], out["b0"]], out["truth"], labels=["A", "A", "B"], primary=["A vs C"])


@pytest.mark.slow
def test_real_data_trained_for_fewer_epochs_is_the_early_stopping_proxy(runs, tmp_path, digits):
    run_search(search_config(rep_space(tmp_path), tmp_path / "early", proxy="real", epochs=1), dataset=digits)
    report = build_report([str(tmp_path / "early")], runs["truth"], ks=(3,), bootstrap=10)
    (run,) = report["runs"]
    assert run["label"] == "Early stopping (1 epochs)" and run["train_images"] == len(digits.train)
    with pytest.raises(ConfigError, match="is the truth and one of the runs"):
        build_report([runs["truth"]], runs["truth"])

import json

import pytest

from ftd_nas.cli import main
from ftd_nas.errors import ConfigError
from ftd_nas.search import SearchConfig, SearchRecipe, run_search
from ftd_nas.search.report import build_report, write_report

SPACE = "name: rep\naxes:\n  depth: [1, 2]\n  width: [4, 8, 16]\n  norm: [instancenorm, none]\n" \
        "fixed:\n  act: relu\n  pool: avgpool\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits):
    root = tmp_path_factory.mktemp("runs")
    space = root / "rep.yaml"
    space.write_text(SPACE)
    out = {}
    for name, proxy, epochs in (("truth", "real", 2), ("r3", "random:3", 20), ("r1", "random:1", 20)):
        cfg = SearchConfig(space=str(space), proxy=proxy, out=str(root / name), dataset="digits", device="cpu",
                           recipe=SearchRecipe(epochs=epochs, dsa=None), progress=False)
        run_search(cfg, dataset=digits)
        out[name] = str(root / name)
    return out


def test_report_compares_proxies_and_changes_with_the_proxy(runs, tmp_path):
    report = build_report([runs["r3"], runs["r1"]], runs["truth"], ks=(3, 5), bootstrap=100)
    a3, a1 = (report["proxies"][label]["agreement"] for label in ("Random IPC 3", "Random IPC 1"))
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


def test_truth_must_be_a_real_data_run(runs):
    with pytest.raises(ConfigError, match="not a real-data run"):
        build_report([runs["r1"]], runs["r3"])


def test_report_cli(runs, tmp_path, capsys):
    assert main(["report", runs["r3"], "--truth", runs["truth"], "--out", str(tmp_path / "cli"), "--ks", "3",
                 "--bootstrap", "50"]) == 0
    assert "Spearman correlation" in capsys.readouterr().out
    assert main(["report", str(tmp_path), "--truth", runs["truth"]]) == 2


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
    assert (tmp_path / "rep" / "scatter_r1.png").exists() and len(replaced["figures"]) == 8

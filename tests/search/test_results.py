"""The typed results: a candidate's row, a search's summary, and the versioned report.json, verify.json and the
demo's summary.json, which still read as written before they had a format."""

import json

import pytest

from ftd_nas.demo import DemoSummary
from ftd_nas.records import RecordError
from ftd_nas.search.report_record import ReportRecord, read_report
from ftd_nas.search.results import COMPLETE, FAIL, CandidateResult, SearchSummary, ranking_metric, read_record
from ftd_nas.search.verify import VerifyConfig, VerifySummary, read_verify

ROW = CandidateResult(candidate="depth=1-width=4", params={"depth": 1, "width": 4}, state=COMPLETE, trial=3,
                      val_acc=0.5, test_acc=0.4, train_acc=0.9, seconds=2.0, num_params=100, macs=2000,
                      epochs_trained=6, repeats=2, val_std=0.1, test_std=0.05, val_accs=[0.4, 0.6],
                      test_accs=[0.35, 0.45], repeat_ids=[0, 1])
FAILED = CandidateResult(candidate="depth=2-width=4", params={"depth": 2, "width": 4}, state=FAIL, trial=4,
                         fail_reason="too small", failed_repeats=1)

# files as ftd-nas wrote them before they had format keys
OLD_REPORT = {"spearman": {"A": 0.5}, "kendall": {"A": 0.4}, "topk": {"A": {"3": {"by_real": {"spearman": 0.2},
                                                                              "by_proxy": {"spearman": None}}}},
              "noise_ceiling": None, "comparisons": [], "comparison_candidates": 12,
              "groups": {"A": {"runs": ["A"], "summary": {}, "bootstrap": {}}},
              "runs": [{"name": "A", "run": "/x/r3", "agreement": {"spearman": 0.5}, "creation_seconds": None}],
              "truth": "/x/truth", "truth_metric": "test_acc", "proxy_metric": "val_acc",
              "space": {"name": "rep", "axes": {"depth": [1, 2]}}, "truth_coverage": {"finished": 12},
              "truth_recipe": {"epochs": 2}, "partial": [], "figures": ["/x/rep/scatter_r3.png"],
              "inputs": {"runs": ["/x/r3"], "truth": "/x/truth", "ks": [3]}}
OLD_VERIFY = {"pick": {"candidate": "a", "params": {"depth": 1}, "val_acc": 0.9, "test_acc": 0.8, "num_params": 10,
                       "proxy_rank": 1, "proxy_score": 0.7, "in_shortlist": True},
              "sample_beat_shortlist": [],
              "estimate": {"n": 2, "level": 0.9, "spearman": 1.0, "spearman_ci": [None, None], "kendall": 1.0,
                           "kendall_ci": [None, None], "resolves": "too few"},
              "verified": [{"candidate": "a", "role": "shortlist", "proxy_rank": 1, "proxy_score": 0.7,
                            "real_val_acc": 0.9, "real_test_acc": 0.8, "repeats": 1}],
              "cost": {"candidates": 1, "candidate_epochs": 3, "seconds": 1.5, "full_truth_candidate_epochs": 36,
                       "full_truth_seconds_projected": 18.0, "fraction": 0.083},
              "rounds": 1, "search_run": "runs/proxy", "real_run": "runs/real",
              "config": {"top": 1, "sample": 0, "seed": 0, "until_width": None, "budget": None, "level": 0.9,
                         "bootstrap": 2000},
              "seconds": 4.0}
OLD_DEMO = {"accuracy": {"FTD": {"test_mean": 0.5, "test_std": 0.01}}, "spearman": {"FTD IPC 2": 0.3},
            "report": "runs/demo/report", "figures": ["runs/demo/report/groups_spearman.png"], "seconds": 60.0,
            "stage_seconds": {"report": 1.0}, "config": {"out": "runs/demo", "ipc": 2}}


def _write(path, data):
    path.write_text(json.dumps(data))
    return path


def test_a_candidate_result_round_trips_and_keeps_the_old_keys():
    for row in (ROW, FAILED):
        assert CandidateResult.from_dict(json.loads(json.dumps(row.to_dict()))) == row
    assert ROW["val_acc"] == ROW.val_acc == 0.5 and ROW["depth"] == 1 and ROW["state"] == "COMPLETE"
    assert ROW.score("val_acc") == 0.5 and FAILED.score("val_acc") is None
    assert ROW.repeat_scores("test_acc") == [0.35, 0.45] and FAILED.spread("val_acc") is None
    assert list(ROW.flat())[:3] == ["candidate", "depth", "width"]  # results.csv: the axes after the id


def test_a_training_free_row_ranks_by_its_score_and_keeps_its_repeats():
    row = CandidateResult(candidate="depth=1-width=4", params={"depth": 1}, state=COMPLETE, trial=0, repeats=2,
                          proxy_score=3.0, proxy_std=1.4, proxy_scores=[2.0, 4.0])
    assert CandidateResult.from_dict(json.loads(json.dumps(row.to_dict()))) == row
    assert row.score("proxy_score") == 3.0 and row.score("val_acc") is None
    assert row.repeat_scores("proxy_score") == [2.0, 4.0] and row.spread("proxy_score") == 1.4
    assert ranking_metric({"kind": "zc", "scorer": "synflow"}, "test_acc") == "proxy_score"
    assert ranking_metric({"kind": "random", "ipc": 3}, "test_acc") == "test_acc"
    with pytest.raises(KeyError, match="unknown metric"):
        ranking_metric({"kind": "real"}, "loss")
    with pytest.raises(KeyError):
        ROW["no_such_key"]
    with pytest.raises(RecordError, match="state 'DONE'"):
        CandidateResult.from_dict({**ROW.to_dict(), "state": "DONE"})


def test_a_search_summary_round_trips_and_derives_its_totals():
    summary = SearchSummary(study="rep:real", queued=2, trained=2, candidates=2, seconds=3.5, rows=[ROW, FAILED])
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["format"] == "ftd-nas-search-summary" and data["format_version"] == 1
    assert SearchSummary.from_dict(data) == summary
    assert summary.complete == summary["complete"] == 1 and summary["failed_total"] == 1
    assert summary["rows"][0]["val_acc"] == 0.5


@pytest.mark.parametrize("cls, old, read", [(ReportRecord, OLD_REPORT, read_report),
                                            (VerifySummary, OLD_VERIFY, read_verify),
                                            (DemoSummary, OLD_DEMO, lambda p: read_record(DemoSummary, p))])
def test_result_files_round_trip_and_unversioned_files_still_load(tmp_path, cls, old, read):
    record = read(_write(tmp_path / "old.json", old))  # today's file: no format keys, format version 1
    # a report's inference before version 3 over-covered and is dropped on reading (issue 25), the rest kept
    inference = {"spearman", "kendall", "topk", "noise_ceiling", "comparisons", "groups"}
    dropped = inference if cls is ReportRecord else set()
    kept = {k: v for k, v in record.to_dict().items() if k in old and k not in dropped}
    if cls is VerifySummary:  # version 3 names the interval the older versions reported
        assert kept["estimate"].pop("interval") == "widened"
    assert kept == {k: v for k, v in old.items() if k not in dropped}
    assert all(not record.to_dict()[k] for k in dropped)
    again = read(_write(tmp_path / "new.json", json.loads(json.dumps(record.to_dict()))))
    assert again == record and again.to_dict()["format"] == cls.FORMAT
    assert again.to_dict()["format_version"] == cls.VERSION


def test_verify_summary_reads_typed_parts(tmp_path):
    summary = read_verify(_write(tmp_path / "verify.json", OLD_VERIFY))
    assert summary.pick.candidate == "a" and summary.cost.candidates == 1 and summary.ended_by is None
    assert summary.config == VerifyConfig(top=1, sample=0) and summary["pick"]["proxy_rank"] == 1
    assert summary.verified[0].role == "shortlist"


def test_corrupt_or_foreign_files_are_refused_clearly(tmp_path):
    with pytest.raises(RecordError, match="not readable JSON"):
        read_report(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(RecordError, match="not readable JSON"):
        read_verify(tmp_path / "broken.json")
    run_json = {"format": "ftd-nas-search-run", "format_version": 2, "study_name": "s", "storage": "study.db"}
    with pytest.raises(RecordError, match="not an ftd-nas-report record .*ftd-nas-search-run"):
        read_report(_write(tmp_path / "run.json", run_json))
    with pytest.raises(RecordError, match="format version 9"):
        read_verify(_write(tmp_path / "future.json", {**OLD_VERIFY, "format": "ftd-nas-verify", "format_version": 9}))
    with pytest.raises(RecordError, match="field 'truth' is missing"):
        read_report(_write(tmp_path / "short.json", {k: v for k, v in OLD_REPORT.items() if k != "truth"}))
    with pytest.raises(RecordError, match="unknown fields"):
        read_record(DemoSummary, _write(tmp_path / "other.json", {**OLD_DEMO, "surprise": 1}))
    with pytest.raises(RecordError, match="pick.val_acc: expected float"):
        read_verify(_write(tmp_path / "bad.json", {**OLD_VERIFY, "pick": {**OLD_VERIFY["pick"], "val_acc": "x"}}))

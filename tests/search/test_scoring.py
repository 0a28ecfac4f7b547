"""`ftd-nas search --proxy zc:NAME`: training-free searches through the same study machinery, ranked by report and
verify like any other run. The searches (a 1-epoch truth and two scored runs of the unit space, about 20 s, nearly
all of it the study's bookkeeping) are `slow`; the refusals and the minibatch are not."""

import json
import math

import pytest
import torch

from ftd_nas.cli import main
from ftd_nas.errors import ConfigError
from ftd_nas.search import SearchConfig, SearchRecipe, load_run, run_search
from ftd_nas.search import scoring
from ftd_nas.search.plan import plan_search
from ftd_nas.search.report import build_report, write_report
from ftd_nas.search.results import COMPLETE, FAIL
from ftd_nas.search.setup import SearchSetup
from ftd_nas.search.verify import proxy_ranking
from ftd_nas.zero_cost import REGISTRY
from tests.conftest import search_config


def zc_config(space, out, name: str, **kw) -> SearchConfig:
    """A training-free search of `space` on digits: the recipe left at its defaults, as zc: requires."""
    return SearchConfig(space=str(space), proxy=f"zc:{name}", out=str(out), dataset="digits", device="cpu",
                        progress=False, **kw)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits):
    from tests.conftest import write_space

    root = tmp_path_factory.mktemp("zc")
    space = write_space(root)
    out = {"space": space, "truth": root / "truth"}
    run_search(search_config(space, out["truth"], proxy="real", epochs=1), dataset=digits)
    for name in ("synflow", "params"):
        out[name] = root / name
        out[f"{name}_summary"] = run_search(zc_config(space, out[name], name), dataset=digits)
    return out


@pytest.mark.slow
def test_every_candidate_is_scored_once_and_recorded_with_its_score(runs):
    for name in ("synflow", "params"):
        summary = runs[f"{name}_summary"]
        assert summary.trained == 8 and summary.complete == 8
        for row in load_run(runs[name]).rows:
            assert row.state == COMPLETE and row.val_acc is None and row.test_acc is None
            assert math.isfinite(row.proxy_score) and row.proxy_score > 0 and row.seconds >= 0
            if name == "params":  # every parameter of these candidates trains
                assert row.proxy_score == row.num_params
    header = (runs["synflow"] / "results.csv").read_text().splitlines()[0].split(",")
    assert "proxy_score" in header


@pytest.mark.slow
def test_the_run_records_the_scorer_and_its_choices(runs):
    record = json.loads((runs["synflow"] / "run.json").read_text())
    assert record["identity"]["source"] == {"kind": "zc", **REGISTRY["synflow"].to_dict()}
    assert record["train_images"] == 0 and record["study_name"] == "unit:zc-synflow"  # all-ones input: no data


def test_the_source_is_identified_by_the_scorers_whole_configuration(space_file, tmp_path, digits):
    source = SearchSetup.prepare(zc_config(space_file, tmp_path, "snip"), digits).source
    assert source.identity == {"kind": "zc", "scorer": "snip", "batch_size": 64, "bn": "train", "input": "real",
                               "dtype": "float32", "weights": "layers"}
    assert source.images == 64 and source.label == "zc-snip" and source.split is digits.train


@pytest.mark.slow
def test_a_second_run_scores_nothing_new(runs, digits):
    rows = load_run(runs["synflow"]).rows
    again = run_search(zc_config(runs["space"], runs["synflow"], "synflow"), dataset=digits)
    assert again.trained == 0 and again.queued == 0 and load_run(runs["synflow"]).rows == rows


@pytest.mark.slow
def test_another_seed_is_another_run(runs, digits):
    with pytest.raises(ConfigError, match="other settings"):
        run_search(zc_config(runs["space"], runs["params"], "params", recipe=SearchRecipe(seed=1)), dataset=digits)


@pytest.mark.slow
def test_report_and_verify_rank_by_the_score(runs, tmp_path):
    report = build_report([str(runs["synflow"]), str(runs["params"])], str(runs["truth"]), ks=(3,), bootstrap=50)
    synflow, params = report["runs"]
    assert synflow["label"] == "synflow (training-free)" and synflow["metric"] == "proxy_score"
    rows = {r.candidate: r for r in load_run(runs["params"]).rows}
    assert params["scores"] == {c: r.proxy_score for c, r in rows.items()} and params["agreement"]["n"] == 8
    written = write_report(report, tmp_path / "report")
    assert "| params (training-free) |" in written["table"]
    assert "zc,params" in (tmp_path / "report" / "candidates.csv").read_text()
    ranking = proxy_ranking(load_run(runs["params"]))
    assert [score for _, _, score in ranking] == sorted((r.proxy_score for r in rows.values()), reverse=True)


@pytest.mark.slow
def test_repeats_are_independent_draws_and_the_row_keeps_their_mean(space_file, tmp_path, digits):
    summary = run_search(zc_config(space_file, tmp_path / "run", "synflow", repeats=2), dataset=digits)
    assert summary.trained == 16
    for row in summary.rows:
        first, second = row.proxy_scores
        assert row.repeats == 2 and first != second and row.proxy_score == pytest.approx((first + second) / 2)
        assert row.proxy_std == pytest.approx(abs(first - second) / 2 ** 0.5)


def test_the_minibatch_is_drawn_from_the_seed(digits):
    first, again, other = (scoring.minibatch(digits.train, 16, seed) for seed in (0, 0, 1))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1]) and not torch.equal(first[0], other[0])
    with pytest.raises(ConfigError, match="larger than the training split"):
        scoring.minibatch(digits.train, len(digits.train) + 1, 0)


@pytest.mark.slow
def test_a_score_that_is_not_finite_fails_the_candidate_with_its_reason(space_file, tmp_path, digits, monkeypatch):
    monkeypatch.setattr(scoring, "score_network", lambda *args, **kwargs: -math.inf)
    summary = run_search(zc_config(space_file, tmp_path / "run", "naswot"), dataset=digits)
    assert summary.failed_total == 8 and all(r.state == FAIL and "naswot scored -inf" in r.fail_reason
                                             for r in summary.rows)


@pytest.mark.parametrize("proxy, changes, message", [
    ("zc:zen", {}, "unknown training-free scorer 'zen'; choose synflow, snip, grad_norm, jacov, naswot, params, flops"),
    ("zc:snip", {"recipe": SearchRecipe(epochs=5, dsa=None)}, "--epochs, --dsa would be ignored; drop them"),
    ("zc:snip", {"pruner": "median"}, "--pruner would be ignored"),
])
def test_nonsense_is_refused(space_file, tmp_path, proxy, changes, message):
    with pytest.raises(ConfigError, match=message):
        SearchConfig(space=space_file, proxy=proxy, out=str(tmp_path), dataset="digits", **changes)


def test_a_plan_of_a_training_free_search_is_refused(space_file, tmp_path, digits):
    with pytest.raises(ConfigError, match="trains nothing"):
        plan_search(zc_config(space_file, tmp_path / "run", "synflow"), dataset=digits)


@pytest.mark.slow
def test_the_command_line_scores_and_prints_the_best(space_file, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["search", "--space", space_file, "--proxy", "zc:params", "--dataset", "digits", "--out", str(out),
                 "--device", "cpu", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "8/8 candidates complete" in printed and "this worker scored 8" in printed and "zc:params" in printed
    assert main(["search", "--space", space_file, "--proxy", "zc:params", "--dataset", "digits", "--out", str(out),
                 "--epochs", "3"]) == 2

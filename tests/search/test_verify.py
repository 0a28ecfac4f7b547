"""verify: a shortlist and a stratified sample trained on real data; the pick, the estimate, the bound on unverified
candidates, reuse, and the pick trained in full."""

import json
import shutil
import sys

import numpy as np
import pytest

from ftd_nas.agreement import perfect_agreement_interval
from ftd_nas.cli import main
from ftd_nas.errors import ConfigError, InputError, UntrustedCodeError
from ftd_nas.search import load_run, run_search
from ftd_nas.search.architecture import ArchitectureRecord, load_weights
from ftd_nas.search.verify import (INTERVAL, UnverifiedBetter, VerifyConfig, estimate, rank_intervals, read_verify,
                                   run_verify, stratified_sample, unverified_better_bound)
from ftd_nas.search.truth import load_truth
from ftd_nas.search.verify_check import coverage_check

from tests.conftest import malicious_factory, name_factory, search_config

from .conftest import complete_trials, rep_space
from .test_results import OLD_VERIFY


def _real(out):
    return search_config("rep", out, proxy="real", epochs=3)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits):
    root = tmp_path_factory.mktemp("verify")
    space = rep_space(root)
    for name, proxy, epochs in (("truth", "real", 3), ("proxy", "random:2", 15)):
        run_search(search_config(space, root / name, proxy=proxy, epochs=epochs), dataset=digits)
    return root


def _complete(run_dir):
    return [t.user_attrs["candidate"] for t in complete_trials(run_dir)]


def test_a_proxy_equal_to_the_truth_picks_the_true_best_and_reuses_every_training(runs, digits, tmp_path):
    before = _complete(runs / "truth")
    summary = run_verify(str(runs / "truth"), VerifyConfig(top=2, sample=3), _real(runs / "truth"), tmp_path / "v",
                         digits)
    assert sorted(_complete(runs / "truth")) == sorted(before)  # the truth's trainings reused, none repeated
    truth = {r["candidate"]: r["val_acc"] for r in load_run(runs / "truth").rows}
    assert summary["pick"]["candidate"] == max(truth, key=truth.get) and summary["pick"]["proxy_rank"] == 1
    assert summary["estimate"]["spearman"] == pytest.approx(1.0)  # the sample agrees perfectly with itself
    # 10 below the shortlist in strata of 3, 4, 3: six unverified better ones are missed with chance 1/3 x 1/4 x 2/3
    # < 0.1, five with 1/3 x 2/4 x 2/3 > 0.1 (see tests/agreement/test_bound.py)
    assert summary.unverified_better == UnverifiedBetter(count=5, level=0.9, unverified=7, sampled=3)
    assert "at most 5 of the 7 unverified candidates" in (tmp_path / "v" / "verify.md").read_text()
    assert read_verify(tmp_path / "v" / "verify.json") == summary
    pick = ArchitectureRecord.read(tmp_path / "v" / "pick.json")
    assert pick.candidate == summary["pick"]["candidate"] and pick.spec().depth == pick.params["depth"]
    assert (tmp_path / "v" / "verify.md").read_text().startswith("# Verified on real data")


def test_the_stratified_sample_is_reproducible_and_spans_the_ranking():
    ranked = [f"c{i:02d}" for i in range(40)]
    a, b = stratified_sample(ranked, 5, seed=3), stratified_sample(ranked, 5, seed=3)
    assert a == b and a != stratified_sample(ranked, 5, seed=4)
    positions = [ranked.index(c) for c in a]
    assert [p // 8 for p in positions] == [0, 1, 2, 3, 4]  # one from each fifth of the ranking
    assert not set(stratified_sample(ranked, 5, seed=3, exclude=set(ranked[:10]))) & set(ranked[:10])
    with pytest.raises(ConfigError, match="only 2 are left"):
        stratified_sample(ranked[:4], 3, seed=0, exclude={"c00", "c01"})


def test_a_second_verify_with_larger_k_and_n_trains_only_the_new_candidates(runs, digits, tmp_path):
    first = run_verify(str(runs / "proxy"), VerifyConfig(top=2, sample=2), _real(tmp_path / "real"), tmp_path / "v",
                       digits)
    second = run_verify(str(runs / "proxy"), VerifyConfig(top=3, sample=4), _real(tmp_path / "real"), tmp_path / "v",
                        digits)
    verified = {v["candidate"] for s in (first, second) for v in s["verified"]}
    trained = _complete(tmp_path / "real")
    assert sorted(trained) == sorted(set(trained)) and set(trained) == verified  # each once, and only these
    assert second["cost"]["candidates"] == 7 and second["cost"]["full_truth_candidate_epochs"] == 12 * 3


@pytest.mark.slow
def test_rounds_until_the_interval_is_narrow_or_the_budget_is_spent(runs, digits, tmp_path):
    summary = run_verify(str(runs / "proxy"), VerifyConfig(top=2, sample=3, until_width=0.01, budget=24),
                         _real(tmp_path / "real"), tmp_path / "v", digits)
    assert summary["ended_by"].startswith("the budget") and summary["cost"]["candidate_epochs"] <= 24
    with pytest.raises(ConfigError, match="does not cover the shortlist"):
        run_verify(str(runs / "proxy"), VerifyConfig(top=2, sample=3, until_width=0.1, budget=6),
                   _real(tmp_path / "r2"), tmp_path / "v2", digits)


def test_the_coverage_check_runs_where_the_answer_is_known(runs):
    result = coverage_check(load_run(runs / "proxy"), load_truth(runs / "truth"), sample=4, draws=10, tops=(2, 3))
    assert set(result["tops"]) == {"2", "3"} and -1 <= result["whole"]["spearman"] <= 1
    for k in result["tops"].values():
        assert all(0 <= share <= 1 for shares in k["coverage"].values() for share in shares.values())
        assert k["regret"]["mean"] >= 0 and k["bound"]["held"] == 1.0  # 10 draws: no room for a miss at 90 %


def test_the_coverage_check_cuts_a_seeded_subset_of_the_candidates_in_the_proxy_s_order(runs):
    proxy, truth = load_run(runs / "proxy"), load_truth(runs / "truth")
    whole = coverage_check(proxy, truth, sample=4, draws=6, tops=(2,))
    n = whole["candidates"]
    assert coverage_check(proxy, truth, sample=4, draws=6, tops=(2,), subset=(n, 5)) == whole  # every cell: as is
    cut = [coverage_check(proxy, truth, sample=4, draws=6, tops=(2,), subset=(8, seed)) for seed in (0, 0, 1, 2)]
    assert all(c["candidates"] == 8 for c in cut) and cut[0] == cut[1]  # the seed decides the cells
    assert len({c["whole"]["spearman"] for c in cut[1:]}) > 1  # other seeds, other cells
    with pytest.raises(ConfigError, match=f"a subset of {n + 1} of the {n} candidates"):
        coverage_check(proxy, truth, sample=4, subset=(n + 1, 0))


def test_the_estimate_reports_the_percentile_interval_corrected_for_the_finite_population():
    rng = np.random.default_rng(0)
    proxy = rng.random(12)
    real = proxy + 0.3 * rng.standard_normal(12)
    endless = rank_intervals(proxy, real, 0.9, 300, seed=1)["spearman"]
    assert endless["finite"] == endless["percentile"]  # no population given: nothing to correct
    found = rank_intervals(proxy, real, 0.9, 300, seed=1, population=48)["spearman"]
    shrink = (36 / 47) ** 0.5  # sqrt((M - n) / (M - 1))
    assert found["finite"] == [pytest.approx(found["value"] - shrink * (found["value"] - found["percentile"][0])),
                               pytest.approx(found["value"] + shrink * (found["percentile"][1] - found["value"]))]
    reported = estimate(proxy, real, 0.9, 300, seed=1, population=48)
    assert INTERVAL == "finite" and reported["interval"] == INTERVAL and reported["spearman_ci"] == found["finite"]
    agreeing = rank_intervals(proxy, proxy, 0.9, 300, seed=1)["spearman"]  # every resample at 1: the observation
    assert agreeing["percentile"] == perfect_agreement_interval(12, "spearman", 0.9)  # itself is inverted
    assert agreeing["percentile"][0] < 0.99 < agreeing["widened"][0]  # Fisher-z's was far narrower
    assert agreeing["percentile"][1] == agreeing["value"] == 1
    reversed_ = rank_intervals(proxy, -proxy, 0.9, 300, seed=1)["kendall"]  # resamples with ties: near -1
    assert reversed_["percentile"] == perfect_agreement_interval(12, "kendall", 0.9, -1)
    over_half = rank_intervals(proxy, real, 0.9, 300, seed=1, population=23)["spearman"]  # more than half: as is
    assert over_half["finite"] == over_half["percentile"]
    whole = estimate(proxy, real, 0.9, 300, seed=1, population=12)  # the sample is the population: no doubt left
    assert whole["spearman_ci"] == [whole["spearman"]] * 2 and whole["kendall_ci"] == [whole["kendall"]] * 2


def _held(ranked: list[str], values: dict[str, float], top: int, per_round: int, rounds: int, draws: int,
          level: float, fail: int | None = None) -> float:
    """The share of verify's draws (seeded) below a shortlist of `top` in which the bound holds: no more unverified
    candidates beat the pick than it says. `ranked`: the proxy's ranking; `values`: real validation accuracies;
    `fail`: the index of a draw in each round whose training never finishes."""
    held = 0
    for seed in range(draws):
        sample = []
        for r in range(rounds):
            sample += stratified_sample(ranked, per_round, 1000 * seed + r, set(ranked[:top]) | set(sample))
        measured = {c for i, c in enumerate(sample) if fail is None or i % per_round != fail}
        bound = unverified_better_bound(len(ranked), top, sample, measured, per_round, level)
        pick = max(values[c] for c in ranked[:top] + sorted(measured))
        held += sum(values[c] > pick for c in ranked[top:] if c not in sample) <= bound.count
    return held / draws


def test_the_bound_on_unverified_candidates_holds_its_confidence_over_verify_s_draws():
    level, draws = 0.9, 2000
    slack = 3 * (level * (1 - level) / draws) ** 0.5  # three standard errors of a share of `draws`
    # 40 below a shortlist of 2, in 5 strata of 8: the bound says 14, as 15 better ones placed 3 a stratum are all
    # missed with chance (5/8)^5 = 0.095; placed so, it holds with chance 0.905 and no more (the bound is tight)
    ranked = ["s0", "s1"] + [f"c{i:02d}" for i in range(40)]
    values = {"s0": 0.5, "s1": 0.5, **{f"c{i:02d}": (0.9 if i % 8 < 3 else 0.1) - i / 1000 for i in range(40)}}
    assert unverified_better_bound(42, 2, ranked[2::8], set(ranked[2::8]), 5, level).count == 14
    assert level - slack <= _held(ranked, values, 2, 5, 1, draws, level) <= 1 - (5 / 8) ** 5 + slack
    # rounds, a failed draw in each, and a proxy that misleads (its ranking shuffled against the real one)
    rng = np.random.default_rng(0)
    ranked = [f"c{i:02d}" for i in range(60)]
    values = dict(zip(ranked, rng.random(60)))
    assert _held(ranked, values, 3, 6, 2, 300, level, fail=1) >= level


def test_the_bound_counts_failed_draws_as_out_of_reach():
    # 20 below a shortlist of 2, two rounds of 2, the second draw of each failed: round 1 samples one stratum of 10
    # (10 out of reach); round 2, over the 18 left, one stratum of 9 (9, and round 1's failed draw, out of reach).
    # 15 better ones are missed with chance 5/10 x 4/9 = 0.22 > 0.2, 16 with 4/10 x 3/9 = 0.13: at most 15
    sample = ["a", "b", "c", "d"]
    bound = unverified_better_bound(22, 2, sample, {"a", "c"}, 2, 0.8)
    assert bound == UnverifiedBetter(count=15, level=0.8, unverified=16, sampled=2)


def test_verify_files_of_format_versions_1_and_2_still_read(tmp_path):
    for version, data in ((1, OLD_VERIFY), (2, {"format": "ftd-nas-verify", "format_version": 2, **OLD_VERIFY})):
        (tmp_path / "verify.json").write_text(json.dumps(data))
        summary = read_verify(tmp_path / "verify.json")
        assert summary.unverified_better is None and summary.estimate["interval"] == "widened"  # as they were
        assert summary.pick.candidate == "a" and summary.to_dict()["format_version"] == 4


def test_bad_inputs_are_refused_and_change_nothing(runs, digits, tmp_path):
    from ftd_nas.data import load_dataset

    with pytest.raises(ConfigError, match="other data.*split_seed"):
        run_verify(str(runs / "proxy"), VerifyConfig(top=2, sample=2), _real(tmp_path / "r"), tmp_path / "v",
                   load_dataset("digits", split_seed=1))
    with pytest.raises(ConfigError, match="--top 13 is more than the 12 finished"):
        run_verify(str(runs / "proxy"), VerifyConfig(top=13, sample=0), _real(tmp_path / "r"), tmp_path / "v", digits)
    with pytest.raises(ConfigError, match="cannot sample 11"):
        run_verify(str(runs / "proxy"), VerifyConfig(top=2, sample=11), _real(tmp_path / "r"), tmp_path / "v", digits)
    with pytest.raises(ConfigError, match="--until-width .* --budget"):
        VerifyConfig(until_width=0.2)
    assert not (tmp_path / "r").exists() and not (tmp_path / "v").exists()
    (tmp_path / "bad.json").write_text(json.dumps({"format": "ftd-nas-architecture", "format_version": 2,
                                                   "model": "transformer", "params": {}, "channels": 1,
                                                   "image_size": [16, 16], "num_classes": 10}))
    with pytest.raises(InputError, match="not a known model family"):
        ArchitectureRecord.read(tmp_path / "bad.json")


def test_verify_and_train_the_pick_from_the_command_line(runs, tmp_path, capsys):
    assert main(["verify", str(runs / "proxy"), "--dataset", "digits", "--top", "2", "--sample", "3", "--epochs", "3",
                 "--dsa", "none", "--out", str(tmp_path / "v"), "--device", "cpu", "--no-progress"]) == 0
    assert "**Pick:**" in capsys.readouterr().out
    weights = tmp_path / "pick.safetensors"
    assert main(["train", "--spec", str(tmp_path / "v" / "pick.json"), "--dataset", "digits", "--epochs", "2",
                 "--save", str(weights), "--no-progress", "--device", "cpu"]) == 0
    net, record = load_weights(weights)
    assert record.architecture.candidate == ArchitectureRecord.read(tmp_path / "v" / "pick.json").candidate
    assert record.data.name == "digits" and 0 <= record.test_acc <= 1 and sum(p.numel() for p in net.parameters())
    factory = {**json.loads((tmp_path / "v" / "pick.json").read_text()), "model": "evil.module:run"}
    (tmp_path / "factory.json").write_text(json.dumps(factory))
    assert main(["train", "--spec", str(tmp_path / "factory.json"), "--dataset", "digits", "--epochs", "1",
                 "--no-progress", "--device", "cpu"]) == 2
    assert "--trust-factory" in capsys.readouterr().err


def test_a_factory_named_by_a_received_run_is_imported_only_with_trust_factory(runs, digits, tmp_path, monkeypatch,
                                                                             capsys):
    monkeypatch.syspath_prepend(str(tmp_path))  # the hostile module is importable: only the refusal stops it
    monkeypatch.chdir(tmp_path)
    name, marker = malicious_factory(tmp_path)
    received = tmp_path / "received"
    shutil.copytree(runs / "proxy", received)
    name_factory(received, name)
    with pytest.raises(UntrustedCodeError, match=r"run\.json' names the model factory .*pass --trust-factory"):
        run_verify(str(received), VerifyConfig(top=1, sample=0), _real(tmp_path / "r"), tmp_path / "v", digits)
    argv = ["verify", str(received), "--dataset", "digits", "--top", "1", "--sample", "0", "--epochs", "1", "--dsa",
            "none", "--out", str(tmp_path / "v"), "--device", "cpu", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"names the model factory {name!r}" in err and "--trust-factory" in err
    assert not marker.exists() and name.split(":")[0] not in sys.modules
    assert not (tmp_path / "r").exists() and not (tmp_path / "v").exists()
    assert main(argv + ["--trust-factory"]) == 0  # the user trusts the folder: its factory builds the candidates
    assert marker.exists() and ArchitectureRecord.read(tmp_path / "v" / "pick.json").model == name


def test_a_pick_of_a_family_with_axes_of_its_own_is_rebuilt_from_them():
    """nb201 is no ModelSpec: its pick.json is built by its family's entry, as a built-in (no --trust-factory)."""
    cell = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    from ftd_nas.models.nb201_cells import parse_cell_string

    params = {**parse_cell_string(cell), "C": 4, "N": 1}
    pick = ArchitectureRecord(model="nb201", params=params, channels=3, image_size=(32, 32), num_classes=10,
                              candidate=cell)
    a, b = pick.build(seed=3), pick.build(seed=3)
    assert a.classifier.out_features == 10 and all(x.equal(y) for x, y in zip(a.parameters(), b.parameters()))
    with pytest.raises(ConfigError, match="axes of its own"):
        pick.spec()
    with pytest.raises(ConfigError, match="edge_2_1 'conv_5x5' must be one of"):
        ArchitectureRecord(model="nb201", params={**params, "edge_2_1": "conv_5x5"}, channels=3, image_size=(32, 32),
                           num_classes=10)
    with pytest.raises(ConfigError, match=r"lacks axes \['N'\]"):
        ArchitectureRecord(model="nb201", params={k: v for k, v in params.items() if k != "N"}, channels=3,
                           image_size=(32, 32), num_classes=10)


def test_an_out_holding_another_search_s_verification_is_replaced_only_when_asked(runs, digits, tmp_path,
                                                                                   monkeypatch):
    import shutil

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(runs / "truth", elsewhere / "proxy")  # another search, under the same relative name
    out, real, config = tmp_path / "v", _real(tmp_path / "real"), VerifyConfig(top=1, sample=1)
    monkeypatch.chdir(runs)
    first = run_verify("proxy", config, real, out, digits)
    assert read_verify(out / "verify.json").search_study["study_name"] == load_run(runs / "proxy").record.study_name
    # the same question, the path spelled another way: refreshed (it was refused)
    assert run_verify("./proxy", config, real, out, digits)["pick"] == first["pick"]
    assert run_verify(str(runs / "proxy"), config, real, out, digits)["pick"] == first["pick"]
    before = (out / "verify.json").read_bytes()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ConfigError, match=r"holds the verification of another search \('.*proxy'\); pass "
                                          "--overwrite to replace it"):  # it was replaced: the same path string
        run_verify("proxy", config, real, out, digits)
    with pytest.raises(ConfigError, match=r"another --sample-seed \(0\)"):
        run_verify(str(runs / "proxy"), VerifyConfig(top=1, sample=1, seed=5), real, out, digits)
    assert (out / "verify.json").read_bytes() == before
    (out / "verify.json").write_text('{"format": "ftd-nas-verify", "pick": ')  # cut short by a crash or a full disk
    with pytest.raises(InputError, match="is not readable JSON: .*pass --overwrite to replace it"):
        run_verify(str(runs / "proxy"), config, real, out, digits)


def test_a_pick_naming_an_axis_its_family_lacks_is_refused_clearly(tmp_path):
    pick = {"format": "ftd-nas-architecture", "format_version": 2, "model": "convnet", "channels": 1,
            "image_size": [16, 16], "num_classes": 10,
            "params": {"depth": 1, "width": 8, "act": "relu", "norm": "none", "pool": "avgpool", "extra": 1}}
    (tmp_path / "pick.json").write_text(json.dumps(pick))
    with pytest.raises(InputError, match=r"the convnet architecture has no axes \['extra'\] \(its axes: depth, "):
        ArchitectureRecord.read(tmp_path / "pick.json")

import math

import pytest

from ftd_nas.agreement import FAILED, perfect_agreement_interval, rank_agreement

TRUTH = {f"a{i}": 0.5 + 0.01 * i for i in range(20)}  # a19 is best


def test_identical_ranking_is_perfect():
    r = rank_agreement({k: 2 * v for k, v in TRUTH.items()}, TRUTH, bootstrap=50)
    assert r["spearman"] == pytest.approx(1) and r["kendall"] == pytest.approx(1)
    assert r["topk"]["5"]["precision"] == 1 and r["regret"] == 0 and r["picked"] == "a19"
    # every resample agrees perfectly too: the interval is the one 5 (or 20) candidates in perfect agreement allow,
    # never the bootstrap's [1, 1]
    assert r["topk"]["5"]["by_real"]["spearman_ci95"] == perfect_agreement_interval(5, "spearman", 0.95)
    assert r["topk"]["5"]["by_real"]["spearman_ci95"][0] < 0.5
    assert r["spearman_ci95"] == perfect_agreement_interval(20, "spearman", 0.95)
    assert r["kendall_ci95"][0] < 1 == r["kendall_ci95"][1]


def test_reversed_ranking_is_minus_one_and_picks_the_worst():
    r = rank_agreement({k: -v for k, v in TRUTH.items()}, TRUTH, bootstrap=50)
    assert r["spearman"] == pytest.approx(-1) and r["kendall"] == pytest.approx(-1)
    assert r["picked"] == "a0" and r["regret"] == pytest.approx(0.19)
    assert r["topk"]["10"]["precision"] == 0


def test_topk_both_ways_differ_when_the_proxy_misorders_the_tail():
    # The proxy gets the best 5 exactly right but ranks three weak architectures above them.
    proxy = dict(TRUTH)
    proxy.update({"a0": 1.0, "a1": 0.99, "a2": 0.98})
    r = rank_agreement(proxy, TRUTH, ks=(5,), bootstrap=50)
    assert r["topk"]["5"]["by_real"]["spearman"] == pytest.approx(1.0)
    assert r["topk"]["5"]["by_proxy"]["spearman"] < 0  # its own top 5 holds the three impostors
    assert r["topk"]["5"]["precision"] == pytest.approx(2 / 5)
    assert r["picked"] == "a0" and r["regret"] == pytest.approx(0.19)


def test_hand_computed_small_example():
    truth = {"a": 4, "b": 3, "c": 2, "d": 1}
    proxy = {"a": 3, "b": 4, "c": 2, "d": 1, "only_in_proxy": 9}  # a and b swapped; extra name ignored
    r = rank_agreement(proxy, truth, ks=(2,), bootstrap=200)
    assert r["n"] == 4
    assert r["spearman"] == pytest.approx(1 - 6 * 2 / (4 * 15))  # 1 - 6 sum d^2 / (n (n^2 - 1)) = 0.8
    assert r["kendall"] == pytest.approx((5 - 1) / 6)
    lo, hi = r["spearman_ci95"]
    assert -1 <= lo <= r["spearman"] <= hi <= 1


def test_constant_scores_give_nan_not_an_error():
    r = rank_agreement({k: 0.5 for k in TRUTH}, TRUTH, bootstrap=20)
    assert math.isnan(r["spearman"])


def test_renaming_tied_candidates_changes_nothing_and_gives_the_expected_values():
    # b and c tie on the proxy at the top 2 boundary (top 2 {a, b}: rho -1; {a, c}: rho +1), and a and b tie at
    # its best (worth 0.9 and 0.5 on the truth); the old readings took whichever came first by name
    proxy = {"a": 3, "b": 2, "c": 2, "d": 0}
    truth = {"a": 0.8, "b": 0.9, "c": 0.1, "d": 0.0}
    best_tied = {"a": 3, "b": 3, "c": 1, "d": 0}
    truth_2 = {"a": 0.9, "b": 0.5, "c": 0.7, "d": 0.1}
    reverse = {"a": "d", "b": "c", "c": "b", "d": "a"}
    for rename in ({n: n for n in reverse}, reverse):
        r = rank_agreement({rename[n]: v for n, v in proxy.items()}, {rename[n]: v for n, v in truth.items()},
                           ks=(2,), bootstrap=20)
        assert r["topk"]["2"]["by_proxy"]["spearman"] == pytest.approx(0)
        assert r["topk"]["2"]["by_proxy"]["kendall"] == pytest.approx(0)
        assert r["topk"]["2"]["precision"] == pytest.approx((1 + 0.5) / 2)
        lo, hi = r["topk"]["2"]["by_proxy"]["spearman_ci95"]
        assert lo == pytest.approx(-1) and hi == pytest.approx(1)  # the interval spans both orders
        r = rank_agreement({rename[n]: v for n, v in best_tied.items()}, {rename[n]: v for n, v in truth_2.items()},
                           ks=(2,), bootstrap=20)
        assert r["picked_ties"] == 2 and r["picked"] == min(rename["a"], rename["b"])
        assert r["picked_real_acc"] == pytest.approx(0.7) and r["regret"] == pytest.approx(0.2)


def test_regret_is_against_the_truths_best_even_when_the_proxy_lacks_it():
    proxy = {k: v for k, v in TRUTH.items() if k != "a19"}  # a perfect ranking of all but the best
    r = rank_agreement(proxy, TRUTH, ks=(5,), bootstrap=20)
    assert r["n"] == 19 and r["spearman"] == pytest.approx(1)
    assert r["picked"] == "a18" and r["best"] == "a19" and r["best_real_acc"] == pytest.approx(0.69)
    assert r["regret"] == pytest.approx(0.01)


def test_a_failed_candidate_counts_ranked_last_and_dropping_it_would_score_higher():
    failed = {**TRUTH, "a19": FAILED}  # the truth's best failed on the proxy
    r = rank_agreement(failed, TRUTH, ks=(5,), bootstrap=20)
    dropped = rank_agreement({k: v for k, v in failed.items() if v != FAILED}, TRUTH, ks=(5,), bootstrap=20)
    assert r["n"] == 20 and r["failed"] == 1 and dropped["failed"] == 0
    # ranks 19 -> 20 for a19 and every other one up by 1: sum d^2 = 19^2 + 19
    assert r["spearman"] == pytest.approx(1 - 6 * (19 ** 2 + 19) / (20 * (20 ** 2 - 1)))
    assert r["spearman"] < dropped["spearman"] == pytest.approx(1)
    assert r["topk"]["5"]["by_real"]["spearman"] < dropped["topk"]["5"]["by_real"]["spearman"]
    assert r["topk"]["5"]["precision"] == pytest.approx(4 / 5)
    assert r["picked"] == "a18" and r["regret"] == pytest.approx(0.01)
    everyone = rank_agreement({k: FAILED for k in TRUTH}, TRUTH, ks=(5,), bootstrap=20)
    assert math.isnan(everyone["spearman"]) and everyone["spearman_ci95"] == [None, None]
    assert everyone["failed"] == everyone["picked_ties"] == 20
    assert everyone["regret"] == pytest.approx(0.69 - sum(TRUTH.values()) / 20)  # a random pick's


def test_nan_is_refused_naming_the_count_and_the_fix():
    with pytest.raises(ValueError, match=r"0 NaN proxy score\(s\) and 1 NaN truth score\(s\).*drop candidates"):
        rank_agreement({"a": 0.1}, {"a": 0.2, "unknown": math.nan}, bootstrap=10)
    with pytest.raises(ValueError, match=r"1 NaN proxy score\(s\).*FAILED"):
        rank_agreement({"a": math.nan, "b": 0.3}, {"a": 0.2, "b": 0.1}, bootstrap=10)

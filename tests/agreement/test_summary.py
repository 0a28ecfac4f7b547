import math

import pytest

from ftd_nas.agreement import rank_agreement

TRUTH = {f"a{i}": 0.5 + 0.01 * i for i in range(20)}  # a19 is best


def test_identical_ranking_is_perfect():
    r = rank_agreement({k: 2 * v for k, v in TRUTH.items()}, TRUTH, bootstrap=50)
    assert r["spearman"] == pytest.approx(1) and r["kendall"] == pytest.approx(1)
    assert r["topk"]["5"]["precision"] == 1 and r["regret"] == 0 and r["picked"] == "a19"


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

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from ftd_nas.agreement import (FAILED, agreement_metrics, aligned, best_first, expected_top_k, kendall,
                               kendall_half, picked_accuracy, precision_at_k, rank_positions, regret, spearman,
                               top_k_chances, top_k_sets)
from ftd_nas.agreement import statistics


def _tied(rng, n):
    return rng.integers(0, 5, n) / 10  # few distinct values: many ties


@pytest.mark.parametrize("n", [3, 7, 48])
def test_spearman_and_kendall_are_scipys_on_random_data_with_ties(n):
    rng = np.random.default_rng(n)
    for _ in range(50):
        a, b = _tied(rng, n), rng.random(n) if rng.random() < 0.5 else _tied(rng, n)
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            continue
        assert spearman(a, b) == float(spearmanr(a, b).statistic)  # to the last bit
        assert kendall(a, b) == pytest.approx(float(kendalltau(a, b, variant="b").statistic), abs=1e-15)


def test_undefined_correlations_are_nan_not_errors():
    for a, b in (([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]), ([0.1], [0.2]), ([], []), ([0.1, np.nan, 0.3], [1, 2, 3])):
        a, b = np.array(a, dtype=float), np.array(b, dtype=float)
        assert math.isnan(spearman(a, b)) and math.isnan(kendall(a, b))


def test_top_k_both_readings_precision_and_regret_by_hand():
    truth = np.array([0.9, 0.8, 0.7, 0.1])
    proxy = np.array([0.5, 0.6, 0.1, 0.9])  # puts the worst candidate first
    assert [sorted(s) for s in top_k_sets(truth, 2)] == [[0, 1]]
    assert [sorted(s) for s in top_k_sets(proxy, 2)] == [[1, 3]]
    assert precision_at_k(proxy, truth, 2) == 0.5
    assert regret(proxy, truth) == pytest.approx(0.8)
    assert list(best_first(np.array([0.2, 0.5, 0.5]))) == [1, 2, 0]  # ties keep their order


def test_kendall_over_the_better_half_ignores_how_the_bad_half_is_ordered():
    truth = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1, 0.1, 0.1])  # 9 candidates: the better half is the best 4
    proxy = np.array([1.0, 2.0, 3.0, 4.0, 9.0, 8.0, 7.0, 6.0, 5.0])  # the good four reversed, the bad five on top
    assert kendall_half(proxy, truth) == pytest.approx(-1.0)
    assert kendall(proxy, truth) > -1 and kendall_half(-proxy, truth) == pytest.approx(1.0)
    assert agreement_metrics(proxy, truth, (2,))["kendall_half"] == pytest.approx(-1.0)
    # a tie at the boundary of the half: expected over which of the tied candidates belongs to it
    truth, proxy = np.array([0.9, 0.8, 0.5, 0.5, 0.1, 0.0]), np.array([4.0, 3.0, 1.0, 5.0, 0.0, -1.0])
    assert kendall_half(proxy, truth) == pytest.approx((1.0 - 1 / 3) / 2)  # {0, 1, 2} in order; {0, 1, 3}: -1/3
    assert math.isnan(kendall_half(np.array([1.0, 2.0, 3.0]), np.array([0.3, 0.2, 0.1])))  # a half of one


def test_ties_are_averaged_over_their_orders_so_the_candidates_order_does_not_matter():
    # 1 and 2 tie on the proxy at the top 2 boundary: in one order the top 2 by proxy is {0, 1} (rho -1), in the
    # other {0, 2} (rho +1); 0 and 1 tie at the proxy's best, worth 0.9 and 0.5 on the truth
    proxy, truth = np.array([3, 2, 2, 0.0]), np.array([2, 3, 1, 0.0])
    best_tied, truth_2 = np.array([3, 3, 1, 0.0]), np.array([0.9, 0.5, 0.7, 0.1])
    for order in ([0, 1, 2, 3], [0, 2, 1, 3], [3, 2, 1, 0]):
        p, t, p2, t2 = proxy[order], truth[order], best_tied[order], truth_2[order]
        assert expected_top_k(spearman, p, t, 2, "by_proxy") == pytest.approx(0)
        assert expected_top_k(kendall, p, t, 2, "by_proxy") == pytest.approx(0)
        assert precision_at_k(p, t, 2) == pytest.approx((1 + 0.5) / 2)  # the truth's best 2 are 0 and 1
        assert picked_accuracy(p2, t2) == pytest.approx((0.9 + 0.5) / 2)
        assert regret(p2, t2) == pytest.approx(0.9 - 0.7)
        assert agreement_metrics(p, t, (2,))["top2_by_proxy"] == pytest.approx(0)


def test_regret_is_against_the_best_of_the_space_when_the_proxy_lacks_it():
    proxy, truth = np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.6, 0.7])
    assert regret(proxy, truth) == 0
    assert regret(proxy, truth, space_best=0.9) == pytest.approx(0.2)
    assert agreement_metrics(proxy, truth, (2,), space_best=0.9)["regret"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="space_best"):
        regret(proxy, truth, space_best=0.6)


def test_a_failed_candidate_ranks_last_and_all_failed_is_a_random_pick():
    truth = np.array([0.9, 0.6, 0.5, 0.4])
    proxy = np.array([FAILED, 0.6, 0.5, FAILED])  # the truth's best failed
    assert list(best_first(proxy)) == [1, 2, 0, 3]
    assert list(rank_positions(proxy)) == [3.5, 1, 2, 3.5]  # failures tied at the bottom
    # ascending ranks (1.5, 4, 3, 1.5) against (4, 3, 2, 1): covariance 0.5, variances 4.5 and 5
    assert spearman(proxy, truth) == pytest.approx(0.5 / math.sqrt(4.5 * 5))
    assert regret(proxy, truth) == pytest.approx(0.3)
    dropped = proxy != FAILED
    assert spearman(proxy[dropped], truth[dropped]) == pytest.approx(1)  # dropping the failures would flatter it
    # the top 3 by proxy takes one of the two failures
    assert precision_at_k(proxy, truth, 3) == pytest.approx((0.5 + 1 + 1) / 3)
    everyone_failed = np.full(4, FAILED)
    metrics = agreement_metrics(everyone_failed, truth, (2,))
    assert math.isnan(metrics["spearman"]) and math.isnan(metrics["kendall"]) and math.isnan(metrics["top2_by_proxy"])
    assert metrics["regret"] == pytest.approx(0.9 - truth.mean())


def test_nan_scores_are_refused_at_every_entry_point_saying_what_to_do():
    message = r"2 NaN proxy score\(s\) and 1 NaN truth score\(s\): map each failed candidate's proxy score to FAILED"
    proxy, truth = np.array([0.1, np.nan, np.nan]), np.array([0.2, 0.3, np.nan])
    with pytest.raises(ValueError, match=message):
        agreement_metrics(proxy, truth, (2,))
    with pytest.raises(ValueError, match=message):
        aligned(dict(zip("abc", proxy)), dict(zip("abc", truth)))


def test_a_large_tie_group_is_sampled_with_a_fixed_seed_close_to_its_enumeration(monkeypatch):
    rng = np.random.default_rng(3)
    truth = rng.random(30)
    proxy = np.concatenate([[0.9, 0.8, 0.7], np.full(16, 0.5), rng.random(11) * 0.4])  # 16 tied, top 7 takes 4
    assert math.comb(16, 4) > statistics.TIE_SETS
    sampled = [expected_top_k(spearman, proxy, truth, 7, "by_proxy") for _ in range(2)]
    assert sampled[0] == sampled[1]  # deterministic
    monkeypatch.setattr(statistics, "TIE_SETS", math.comb(16, 4))
    sets = top_k_sets(proxy, 7)
    assert len(sets) == math.comb(16, 4) and all(set(range(3)) <= set(s) and len(s) == 7 for s in sets)
    exact = expected_top_k(spearman, proxy, truth, 7, "by_proxy")
    assert sampled[0] == pytest.approx(exact, abs=0.03) and sampled[0] != exact
    # the chances of being in the top k are the enumerated sets' shares
    shares = np.bincount(np.concatenate(sets), minlength=30) / len(sets)
    assert np.allclose(shares, top_k_chances(proxy, 7))


def test_aligned_keeps_the_common_candidates_in_name_order_and_ranks_put_the_best_first():
    names, p, t = aligned({"b": 2, "a": 1, "x": 9}, {"a": 0.1, "b": 0.2, "y": 0.3})
    assert names == ["a", "b"] and list(p) == [1.0, 2.0] and list(t) == [0.1, 0.2]
    assert list(rank_positions(np.array([0.3, 0.9, 0.3]))) == [2.5, 1.0, 2.5]


def test_importing_it_needs_neither_torch_nor_optuna():
    code = "import sys, ftd_nas.agreement; print(any(m in sys.modules for m in ('torch', 'optuna')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"

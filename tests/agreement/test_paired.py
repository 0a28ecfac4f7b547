import numpy as np
import pytest

from ftd_nas.agreement import agreement_metrics, paired_bootstrap, verdict
from tests.agreement import noisy_truth as _truth


def test_metrics_match_hand_computations():
    truth = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    perfect = agreement_metrics(truth * 2, truth, ks=(3,))
    assert perfect["spearman"] == pytest.approx(1) and perfect["kendall"] == pytest.approx(1)
    assert perfect["regret"] == 0 and perfect["top3_by_real"] == pytest.approx(1)
    swapped = agreement_metrics(np.array([0.1, 0.2, 0.3, 0.5, 0.4]), truth, ks=(3,))
    assert swapped["spearman"] == pytest.approx(0.9) and swapped["regret"] == pytest.approx(0.1)


def test_a_proxy_equal_to_the_truth_beats_a_random_one_and_copies_are_not_distinguishable():
    signal, repeats = _truth()
    truth_mean = np.array([r.mean() for r in repeats])
    rng = np.random.default_rng(2)
    groups = {"exact": truth_mean[None, :], "random": rng.random((3, len(signal))),
              "exact copy": truth_mean[None, :]}
    result = paired_bootstrap(repeats, groups, ks=(5,), samples=300)
    rows = {(c["a"], c["b"], c["metric"]): c for c in result["comparisons"]}
    better = rows[("exact", "random", "spearman")]
    assert better["delta"] > 0.5 and better["ci"][0] > 0  # the interval excludes 0
    assert better["verdict"].startswith("exact above random on spearman")
    assert rows[("random", "exact copy", "regret")]["ci"][0] >= 0  # random picks worse or equal
    same = rows[("exact", "exact copy", "spearman")]
    assert same["delta"] == 0 and same["ci"][0] <= 0 <= same["ci"][1] and "not distinguishable" in same["verdict"]
    assert result["groups"]["exact"]["spearman"]["ci"][0] > 0.9


def test_a_regret_verdict_is_in_points_of_accuracy_like_the_tables():
    assert verdict("a", "b", "regret", -0.05, [-0.08, -0.02]) == \
        "a lower than b on regret: -5.0 pts [-8.0, -2.0] (a minus b)"
    assert verdict("a", "b", "spearman", 0.12, [0.03, 0.21]) == \
        "a above b on spearman: +0.120 [+0.030, +0.210] (a minus b)"

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from ftd_nas.agreement import (aligned, best_first, kendall, precision_at_k, rank_positions, regret, spearman,
                               top_k)


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
    assert list(top_k(proxy, truth, 2, "by_real")) == [0, 1]
    assert list(top_k(proxy, truth, 2, "by_proxy")) == [3, 1]
    assert precision_at_k(proxy, truth, 2) == 0.5
    assert regret(proxy, truth) == pytest.approx(0.8)
    assert list(best_first(np.array([0.2, 0.5, 0.5]))) == [1, 2, 0]  # ties keep their order


def test_aligned_keeps_the_common_candidates_in_name_order_and_ranks_put_the_best_first():
    names, p, t = aligned({"b": 2, "a": 1, "x": 9}, {"a": 0.1, "b": 0.2, "y": 0.3})
    assert names == ["a", "b"] and list(p) == [1.0, 2.0] and list(t) == [0.1, 0.2]
    assert list(rank_positions(np.array([0.3, 0.9, 0.3]))) == [2.5, 1.0, 2.5]


def test_importing_it_needs_neither_torch_nor_optuna():
    code = "import sys, ftd_nas.agreement; print(any(m in sys.modules for m in ('torch', 'optuna')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"

import math

import numpy as np
import pytest

from ftd_nas.agreement import bootstrap, fisher_interval, percentile_interval, spearman


def test_a_symmetric_spread_gives_an_interval_around_its_centre():
    values = np.concatenate([0.5 + np.linspace(-0.3, 0.3, 401), [np.nan, np.inf]])  # non-finite values are dropped
    lo, hi = percentile_interval(values)
    assert lo < 0.5 < hi and lo == pytest.approx(1 - hi)
    assert [lo, hi] == [float(np.percentile(values[:401], 2.5)), float(np.percentile(values[:401], 97.5))]
    narrow = percentile_interval(values, level=0.5)
    assert lo < narrow[0] < 0.5 < narrow[1] < hi
    assert percentile_interval(np.array([np.nan])) == [None, None]


def test_the_bootstrap_interval_contains_the_point_estimate_and_is_reproducible():
    rng = np.random.default_rng(0)
    truth = rng.random(30)
    proxy = truth + 0.2 * rng.standard_normal(30)
    boot = bootstrap(spearman, proxy, truth, 300, np.random.default_rng(1))
    lo, hi = percentile_interval(boot)
    assert lo < spearman(proxy, truth) < hi
    assert np.array_equal(boot, bootstrap(spearman, proxy, truth, 300, np.random.default_rng(1)))
    assert percentile_interval(bootstrap(spearman, truth, truth, 50, rng)) == [pytest.approx(1.0), pytest.approx(1.0)]


def test_the_fisher_interval_needs_five_pairs_contains_r_and_narrows_with_more():
    assert fisher_interval(0.5, 4, "spearman", 0.9) is None
    assert fisher_interval(float("nan"), 20, "kendall", 0.9) is None
    small, large = fisher_interval(0.5, 10, "spearman", 0.9), fisher_interval(0.5, 100, "spearman", 0.9)
    assert small[0] < large[0] < 0.5 < large[1] < small[1]
    assert fisher_interval(0.5, 10, "kendall", 0.9) != small


def test_perfect_agreement_leaves_the_interval_its_observation_allows():
    from ftd_nas.agreement import perfect_agreement_interval

    # two candidates: P(same order) = 1/2 + asin(rho)/pi under a binormal population, so the bound has a closed form
    tail = 0.05 / 2
    rho = math.sin(math.pi * (tail - 0.5))
    lower, upper = perfect_agreement_interval(2, "kendall", 0.95)
    assert upper == 1 and lower == pytest.approx(2 / math.pi * math.asin(rho), abs=0.02)
    assert perfect_agreement_interval(2, "kendall", 0.95, sign=-1) == [-1.0, -lower]
    bounds = [perfect_agreement_interval(n, "spearman", 0.95)[0] for n in (5, 10, 20)]
    assert bounds == sorted(bounds) and 0.9 < bounds[1] < 0.99  # Fisher-z's clamped interval began at 0.994
    # at the bound, 10 candidates of a binormal population rank identically with the tail's probability
    pearson = 2 * math.sin(math.pi * bounds[1] / 6)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100_000, 10))
    y = pearson * x + math.sqrt(1 - pearson ** 2) * rng.standard_normal((100_000, 10))
    same = (np.argsort(x, axis=1) == np.argsort(y, axis=1)).all(axis=1).mean()
    assert same == pytest.approx(tail, abs=0.004)

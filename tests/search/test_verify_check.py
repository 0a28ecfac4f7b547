"""verify's coverage check: each estimate scored against what it describes, from the design verify runs."""

import numpy as np
import pytest

from ftd_nas.agreement import spearman
from ftd_nas.errors import ConfigError
from ftd_nas.search.verify_check import pool_checks, population_check, simulated_population


def test_the_interval_is_scored_against_the_agreement_below_the_shortlist():
    # the proxy's top 5 are the truth's worst, and below them the two rankings agree perfectly: the whole space's
    # Spearman is far from the agreement the sample is drawn from, and only that one is the interval's target
    proxy = np.arange(30, 0, -1.0)
    val = np.concatenate([0.1 + 0.01 * np.arange(5), 0.9 - 0.01 * np.arange(25)])
    result = population_check(proxy, val, val, sample=5, draws=20, tops=(5,))
    below = result["tops"]["5"]
    assert below["target"] == {"spearman": pytest.approx(1.0), "kendall": pytest.approx(1.0)}
    assert result["whole"]["spearman"] == pytest.approx(spearman(proxy, val)) and result["whole"]["spearman"] < 0.5
    assert below["coverage"]["spearman"]["percentile"] == 1.0 and below["coverage"]["kendall"]["percentile"] == 1.0
    assert below["bound"]["held"] == 1.0


def test_the_regret_for_each_shortlist_comes_from_a_sample_below_that_shortlist():
    # the proxy's ranks 3 to 10 are the truth's best; a sample below a shortlist of 2 always reaches them (its first
    # stratum is ranks 3 to 5), a sample below a shortlist of 10 never does
    proxy = np.arange(14, 0, -1.0)
    val = np.array([0.5] * 2 + [0.9] * 8 + [0.1] * 4)
    result = population_check(proxy, val, val, sample=4, draws=10, tops=(2, 10))
    assert result["tops"]["2"]["regret"] == {"mean": 0.0, "max": 0.0}
    assert result["tops"]["2"]["below"] == 12 and result["tops"]["10"]["below"] == 4
    with pytest.raises(ConfigError, match="too few for a shortlist of 10 and a sample of 5"):
        population_check(proxy, val, val, sample=5, tops=(10,))


def test_checks_of_several_proxies_of_one_truth_pool_by_their_draws():
    val, test, proxies = simulated_population(60, 0.6, proxies=2, seed=1)
    checks = [population_check(p, val, test, sample=6, draws=d, tops=(3,), bootstrap=100, seed=i)
              for i, (p, d) in enumerate(zip(proxies, (10, 30)))]
    pooled = pool_checks(checks)["tops"]["3"]
    shares = [c["tops"]["3"]["coverage"]["spearman"]["percentile"] for c in checks]
    assert pooled["draws"] == 40 and pooled["coverage"]["spearman"]["percentile"] == pytest.approx(
        (10 * shares[0] + 30 * shares[1]) / 40)
    assert pooled["regret"]["max"] == max(c["tops"]["3"]["regret"]["max"] for c in checks)


def test_a_simulated_population_is_seeded_and_has_its_correlation():
    val, test, proxies = simulated_population(4000, 0.6, proxies=2, seed=3)
    again = simulated_population(4000, 0.6, proxies=2, seed=3)
    assert np.array_equal(val, again[0]) and np.array_equal(proxies[1], again[2][1])
    assert [np.corrcoef(p, val)[0, 1] for p in proxies] == [pytest.approx(0.6, abs=0.03)] * 2
    assert np.corrcoef(val, test)[0, 1] == pytest.approx(1 / 1.04, abs=0.01)  # one quality, measured twice
    with pytest.raises(ConfigError, match="lies in"):
        simulated_population(10, 0.99)

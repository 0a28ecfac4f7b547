import numpy as np
import pytest

from ftd_nas.agreement import bootstrap, bootstrap_rows, kendall, kendall_rows, spearman, spearman_rows


@pytest.mark.parametrize("stat, rows", [(spearman, spearman_rows), (kendall, kendall_rows)])
def test_rows_give_the_statistic_of_each_row_and_the_bootstrap_s_resamples(stat, rows):
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 4, 9).astype(float), rng.integers(0, 4, 9).astype(float)  # ties, and constant resamples
    one = bootstrap(stat, a, b, 600, np.random.default_rng(1))
    batched = bootstrap_rows(rows, a, b, 600, np.random.default_rng(1))
    assert np.array_equal(np.isnan(one), np.isnan(batched)) and np.isnan(one).any()
    assert batched[~np.isnan(batched)] == pytest.approx(one[~np.isnan(one)], abs=1e-12)
    assert np.isnan(rows(np.ones((1, 5)), np.arange(5.0)[None])).all()  # a constant side: undefined

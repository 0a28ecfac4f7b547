import pytest
from scipy import stats

from ftd_nas.agreement import holm, minimum_detectable


def test_holm_by_hand_in_the_order_given():
    # sorted: 0.01 * 4 = 0.04, 0.02 * 3 = 0.06, 0.03 * 2 = 0.06 (running max), 0.5 * 1 = 0.5
    assert holm([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])


def test_holm_caps_at_one_and_an_undefined_p_counts_in_the_family_but_stays_undefined():
    assert holm([0.4, None, 0.02]) == [pytest.approx(0.8), None, pytest.approx(0.06)]
    assert holm([0.9, 0.8]) == [pytest.approx(1.0), pytest.approx(1.0)]
    assert holm([]) == []


def test_minimum_detectable_difference_has_the_power_it_claims():
    se, alpha = 0.05, 0.05
    mdd = minimum_detectable(se, None, alpha, 0.8)
    assert mdd == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * se)
    # a true difference of exactly that size is found 80% of the time (the far tail ignored)
    assert stats.norm.sf(stats.norm.ppf(0.975) - mdd / se) == pytest.approx(0.8)
    assert minimum_detectable(se, 4, alpha) > mdd  # few degrees of freedom detect less
    assert minimum_detectable(0.0, None, alpha) is None and minimum_detectable(None, None, alpha) is None

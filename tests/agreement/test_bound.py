import itertools

import numpy as np
import pytest

from ftd_nas.agreement import beat_sample_bound, miss_chances


def _worst_miss(j: int, strata: list[int], hidden: int) -> float:
    """By enumeration: the largest chance, over every set of j members, that one draw per stratum misses them all
    (`hidden` members sit where no draw reaches)."""
    edges = np.cumsum([0] + strata)
    worst = 0.0
    for chosen in itertools.combinations(range(edges[-1] + hidden), j):
        chance = 1.0
        for lo, hi in zip(edges[:-1], edges[1:]):
            chance *= 1 - sum(lo <= c < hi for c in chosen) / (hi - lo)
        worst = max(worst, chance)
    return worst


@pytest.mark.parametrize("strata, hidden", [([2, 3], 0), ([3, 4, 3], 0), ([1, 3, 2, 4], 0), ([2, 2], 2)])
def test_the_greedy_worst_case_is_the_enumerated_one(strata, hidden):
    most = sum(strata) + hidden
    chances = miss_chances(strata, hidden, most)
    assert chances == pytest.approx([_worst_miss(j, strata, hidden) for j in range(most + 1)], abs=1e-12)


def test_the_bound_on_hand_computed_cases():
    # two strata of 2: one member in a stratum is missed with chance 1/2; two, one per stratum, with 1/4; three
    # fill a stratum and are always hit
    assert miss_chances([2, 2], 0, 4).tolist() == [1, 0.5, 0.25, 0, 0]
    assert beat_sample_bound(4, [([2, 2], 0)], 0.75) == 1  # the smallest j with chance <= 1/4 is 2
    assert beat_sample_bound(4, [([2, 2], 0)], 0.9) == 2
    # strata of 2 and 3 (stratified_sample's rounding of 5 into 2): one member in the stratum of 3 is missed with
    # chance 2/3, more than (1 - 1/5)^2 = 0.64, the equal-strata formula; the bound takes the larger
    assert miss_chances([2, 3], 0, 5)[1] == pytest.approx(2 / 3) and 2 / 3 > (1 - 1 / 5) ** 2
    assert beat_sample_bound(5, [([2, 3], 0)], 0.34) == 1 and beat_sample_bound(5, [([2, 3], 0)], 0.33) == 0
    # a second round, stratified over the 4 the first left, multiplies: one member is missed with 2/3 x 1/2
    assert beat_sample_bound(6, [([3, 3], 0)], 0.6) == 2  # 2/3, 4/9 > 0.4; three members: 1/3 x 2/3 <= 0.4
    assert beat_sample_bound(6, [([3, 3], 0), ([2, 2], 0)], 0.6) == 0
    assert beat_sample_bound(6, [], 0.9) == 6  # no sampled stratum: nothing is known

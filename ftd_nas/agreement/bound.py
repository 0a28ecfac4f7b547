"""How many members of a population can beat every member of a stratified random sample: an upper bound with a
stated confidence, over the sample's draw alone (no model of the scores).

The population (M members, each with a fixed score) is cut into strata and one member is drawn uniformly from
each. Let T_j be the population's j best. Some j members beat every sampled one exactly when the sample misses
T_j (with ties: "beat" is strictly better, and any j members strictly above the sample's best are its j best), so

    P(at least j beat the sample) = P(the sample misses T_j) = prod over strata h of (1 - j_h / s_h),

where j_h of T_j lie in stratum h of size s_h. Nothing is known of where T_j lies, so the bound takes the worst
case over every allocation of j members to the strata. Each factor's logarithm is concave in j_h, so the worst
case is found greedily, one member at a time into the stratum with the most members not yet allocated: the
remaining counts are levelled. For N equal strata (M = N s) and j a multiple of N this is (1 - j/M)^N; in
general it is at most (1 - j/(N s_max))^N (each factor is at most 1 - j_h/s_max, and the product of N factors
with a fixed sum is largest when they are equal), but not at most (1 - j/M)^N: strata of 2 and 3 (M = 5, N = 2)
miss one member placed in the stratum of 3 with chance 2/3 > (1 - 1/5)^2. A simple random sample of N without
replacement misses T_j with chance C(M - j, N) / C(M, N) <= (1 - j/M)^N.

Members the draw cannot reach (`hidden`: in a stratum whose draw gave no score, or drawn earlier without a score
and so out of the pool) are allocated first, at no cost. Rounds of draws over what earlier rounds left (each
round stratified afresh) multiply their chances: given that round r - 1 missed T_j, all of it is still in round
r's pool, and round r misses it with at most its own worst case.

With confidence `level`, fewer than the smallest j whose worst-case chance is at most 1 - level beat the sample:
if j or more did, a draw that happens with chance at most 1 - level would have happened.
"""

from __future__ import annotations

import heapq

import numpy as np


def miss_chances(strata: list[int], hidden: int, most: int) -> np.ndarray:
    """For j = 0 .. `most`: the largest chance, over every way j members of the population can lie, that one
    uniform draw from each stratum (of the sizes in `strata`) misses all of them, `hidden` further members being
    out of the draws' reach. One greedy pass serves every j: the worst allocation of j + 1 adds one member to the
    worst of j."""
    chances = np.ones(most + 1)
    heap = [-s for s in strata if s > 0]
    heapq.heapify(heap)
    chance = 1.0
    for j in range(hidden + 1, most + 1):
        if not heap:  # every stratum holds only members of T_j: a draw cannot miss them
            chance = 0.0
        else:
            left = -heapq.heappop(heap)  # the stratum with the most members not yet allocated
            chance *= (left - 1) / left
            if left > 1:
                heapq.heappush(heap, -(left - 1))
        chances[j] = chance
    return chances


def beat_sample_bound(population: int, rounds: list[tuple[list[int], int]], level: float) -> int:
    """With confidence `level` over the draws, at most this many of the `population` beat every sampled member.

    `rounds`: per round of draws, the sizes of the strata whose draw gave a score and the number of the population
    that round could not reach (`miss_chances`'s `hidden`). No round: nothing is known, so the whole population.
    """
    chance = np.ones(population + 1)
    for strata, hidden in rounds:
        chance *= miss_chances(strata, hidden, population)
    below = np.flatnonzero(chance[1:] <= 1 - level)
    return int(below[0]) if len(below) else population  # the smallest such j, less one

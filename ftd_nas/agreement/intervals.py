"""Intervals of the agreement statistics: the bootstrap over candidates, its percentile interval, the Fisher-z
interval for samples too small for a percentile bootstrap alone, and the interval a sample in perfect agreement
leaves (where both fail)."""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

Statistic = Callable[[np.ndarray, np.ndarray], float]


def bootstrap(stat: Statistic, a: np.ndarray, b: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """`stat` over `samples` resamples of the candidates, drawn with replacement (a candidate's two scores stay
    together). The caller owns `rng`, so that statistics can share one stream of draws or each start afresh."""
    n = len(a)
    return np.array([stat(a[i], b[i]) for i in (rng.integers(0, n, n) for _ in range(samples))], dtype=float)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> list[float | None]:
    """The central `level` percentile interval of the finite values; [None, None] without any (a list, as the
    JSON records keep it)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return [None, None]
    # 50 - 50 level, not 100 (1 - level) / 2: exactly 2.5 for 95%, where the latter is off in the last bit
    tail = 50 - 50 * level
    return [float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))]


# Bonett & Wright (2000): standard errors of Fisher's z of Spearman's rho and Kendall's tau for n pairs
FISHER_SE = {"spearman": lambda r, n: math.sqrt((1 + r * r / 2) / (n - 3)),
             "kendall": lambda r, n: math.sqrt(0.437 / (n - 4))}


def fisher_interval(r: float, n: int, statistic: str, level: float) -> list[float] | None:
    """The Fisher-z interval of a `statistic` ("spearman" or "kendall") of `r` from n pairs; None for n <= 4 or an
    undefined r."""
    if n <= 4 or not math.isfinite(r):
        return None
    from scipy.stats import norm

    z, half = math.atanh(max(-0.999, min(0.999, r))), norm.ppf(0.5 + level / 2) * FISHER_SE[statistic](r, n)
    return [math.tanh(z - half), math.tanh(z + half)]


# a binormal population's Pearson correlation as the population value of each rank statistic
FROM_PEARSON = {"spearman": lambda rho: 6 / math.pi * math.asin(rho / 2), "kendall": lambda rho: 2 / math.pi * math.asin(rho)}
PERFECT_DRAWS = 200_000  # simulated candidates in all (draws x n): the bound to about 0.01, in a fraction of a second


@functools.lru_cache(maxsize=64)
def perfect_agreement_interval(n: int, statistic: str, level: float, sign: int = 1) -> list[float]:
    """The interval of a `statistic` ("spearman" or "kendall") that a sample of n candidates in perfect agreement
    (sign 1; -1: perfectly reversed) leaves: [lower, 1] (or [-1, -lower]).

    Every bootstrap resample of such a sample agrees perfectly too, and Fisher's z is infinite at 1, so neither
    sees the spread (Fisher's interval, clamped, was about [0.994, 0.9998] for 10 candidates). This inverts the
    observation itself: `lower` is the population value at which n candidates drawn from a binormal population rank
    identically with probability (1 - level) / 2, the two-sided test's tail. Measured by a seeded simulation (with
    the same draws for every correlation tried, so the probability rises with it). For 10 candidates at 95% it is
    about 0.96; for 5, about 0.34; for 2 candidates nothing is excluded beyond the sign's chance."""
    tail = (1 - level) / 2
    rng = np.random.default_rng(0)
    draws = max(2000, PERFECT_DRAWS // max(n, 1))
    x, noise = rng.standard_normal((draws, n)), rng.standard_normal((draws, n))
    x_order = np.argsort(x, axis=1)

    def identical(rho: float) -> float:
        y = rho * x + math.sqrt(max(0.0, 1 - rho * rho)) * noise
        return float(np.all(np.diff(np.take_along_axis(y, x_order, axis=1), axis=1) > 0, axis=1).mean())

    lo, hi = -1.0, 1.0
    for _ in range(20):  # bisection on the Pearson correlation: P(identical ranks) rises with it
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if identical(mid) < tail else (lo, mid)
    lower = FROM_PEARSON[statistic](lo)
    return [lower, 1.0] if sign > 0 else [-1.0, -lower]


def joined_with_perfect(ci: list, n: int, statistic: str, level: float, sign: int) -> list[float]:
    """A bootstrap interval of a sample in perfect agreement (sign 1, or -1 reversed) joined with the interval its
    observation allows: its resamples agree (nearly) perfectly too, so the bootstrap alone would claim certainty."""
    perfect = perfect_agreement_interval(n, statistic, level, sign)
    return [min(ci[0], perfect[0]), max(ci[1], perfect[1])]

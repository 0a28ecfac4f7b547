"""Intervals of the agreement statistics: the bootstrap over candidates, its percentile interval, and the
Fisher-z interval for samples too small for a percentile bootstrap alone."""

from __future__ import annotations

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

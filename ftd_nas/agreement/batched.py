"""Spearman and Kendall of many pairs of score vectors at once, one pair per row, and the bootstrap built on them.

`intervals.bootstrap` calls a statistic once per resample: about 0.5 ms each for Spearman and Kendall, so the
thousands of estimates a coverage check needs (draws x sample sizes x shortlists x populations) would take hours.
Here a bootstrap is one call over a [samples, n] array, about a hundred times faster. Each row's value is
`statistics.spearman` / `statistics.kendall` of that row (ties at their mean rank; tau-b; NaN where either side
is constant or has fewer than two values), and `bootstrap_rows` draws the same resamples as `intervals.bootstrap`
from the same generator state (tests/agreement/test_batched.py holds both to it).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.stats import rankdata

RowStatistic = Callable[[np.ndarray, np.ndarray], np.ndarray]
CHUNK = 256  # rows per step of Kendall's pairwise comparisons: bounds their memory (CHUNK x n x n signs)


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of `a` with the same row of `b`: Pearson's r of their mean ranks. Rows are the
    last axis; any leading axes (bootstrap samples, proxies) are kept."""
    ra = rankdata(a, axis=-1)
    rb = rankdata(b, axis=-1)
    ra -= ra.mean(axis=-1, keepdims=True)
    rb -= rb.mean(axis=-1, keepdims=True)
    scale = np.sqrt((ra * ra).sum(axis=-1) * (rb * rb).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (ra * rb).sum(axis=-1) / scale
    return np.where(scale > 0, np.clip(rho, -1.0, 1.0), np.nan)


def kendall_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row of `a` with the same row of `b`: the sum over pairs of sign products over the
    square root of (pairs untied in a) x (pairs untied in b)."""
    out = np.empty(len(a))
    for start in range(0, len(a), CHUNK):
        x, y = a[start:start + CHUNK], b[start:start + CHUNK]
        sx = np.sign(x[:, :, None] - x[:, None, :]).astype(np.int8)
        sy = np.sign(y[:, :, None] - y[:, None, :]).astype(np.int8)
        untied = np.abs(sx).sum(axis=(1, 2), dtype=np.int64) * np.abs(sy).sum(axis=(1, 2), dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            tau = (sx * sy).sum(axis=(1, 2), dtype=np.int64) / np.sqrt(untied)
        out[start:start + CHUNK] = np.where(untied > 0, np.clip(tau, -1.0, 1.0), np.nan)
    return out


def bootstrap_rows(stat: RowStatistic, a: np.ndarray, b: np.ndarray, samples: int,
                   rng: np.random.Generator) -> np.ndarray:
    """`stat` over `samples` resamples of the candidates drawn with replacement, as `intervals.bootstrap` draws
    them (the same indices from the same `rng` state), in one call."""
    n = len(a)
    idx = rng.integers(0, n, (samples, n))
    return stat(np.asarray(a, dtype=float)[idx], np.asarray(b, dtype=float)[idx])

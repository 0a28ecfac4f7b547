"""Holm's step-down correction over a declared family of comparisons (Holm 1979).

Every comparison in the family is tested at once; the family-wise error rate (the chance of any false claim in
the family) stays at most alpha whatever the dependence between them. The adjusted p-value of the i-th smallest
of m p-values is the running maximum of (m - i + 1) p_(i), capped at 1; a comparison is supported where it is
below alpha. A comparison without a p-value (undefined, or no spread) counts in m but is never supported.
"""

from __future__ import annotations

import numpy as np


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the order given (None stays None, and still counts in the family's size)."""
    m = len(p_values)
    order = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * m
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def minimum_detectable(se: float | None, df: float | None, alpha: float, power: float = 0.8) -> float | None:
    """The smallest true difference a two-sided test at `alpha` finds with probability `power`, for an estimate with
    standard error `se` (t with `df` degrees of freedom, or normal): (q(1 - alpha/2) + q(power)) * se."""
    if not se or not np.isfinite(se):
        return None
    from scipy import stats

    dist = stats.t(df) if df is not None else stats.norm()
    return float((dist.ppf(1 - alpha / 2) + dist.ppf(power)) * se)

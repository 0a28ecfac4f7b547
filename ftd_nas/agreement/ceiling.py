"""How noisy the truth is: its reliability, and the agreement a noiseless proxy could reach against it.

Each candidate's truth is the mean of k trainings. Its *reliability* r is the expected Spearman between this
truth and an independent one of the same size (another k trainings per candidate). It is estimated from the
repeats themselves: the Spearman between every pair of repeat columns (each an independent one-training truth)
averaged over all pairs, r1, then stepped up to k trainings with Spearman-Brown, r = k r1 / (1 + (k - 1) r1).
Using every pair, not one random split per estimate, leaves no split noise in the estimate or its interval (with
3 repeats a split is 1 vs 2 and the two-halves formula is biased); the simulation test in
tests/agreement/test_ceiling.py checks the estimate is unbiased and its interval holds its level.

r is not the most a proxy can reach. A proxy is judged against the noisy truth, and one that ranks exactly as the
noise-free truth would reaches about sqrt(r) (the truth's own agreement with its noise-free version), so
`bound` = sqrt(r) is the ceiling, and rho / sqrt(r) estimates a proxy's agreement with the noise-free ranking.
Only whole-space values are given: a top-k ceiling picks the top k on the same repeats it then splits, which
biases it low (a proxy routinely exceeds it), and there are too few repeats to pick on independent ones.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ftd_nas.agreement.intervals import percentile_interval
from ftd_nas.agreement.batched import spearman_rows


def _reliability(columns: np.ndarray, k: float) -> np.ndarray:
    """Spearman-Brown stepped mean pairwise Spearman of the repeat columns [..., candidates, repeats] (leading axes:
    bootstrap samples); NaN where a column is constant (undefined, never a number standing for it). At or below 0
    the truth does not agree with itself and stepping up has no meaning: the single-training value is kept."""
    pairs = [spearman_rows(columns[..., i], columns[..., j]) for i, j in combinations(range(columns.shape[-1]), 2)]
    r1 = np.mean(pairs, axis=0)  # NaN if any pair is undefined
    with np.errstate(invalid="ignore"):
        return np.where(r1 > 0, k * r1 / (1 + (k - 1) * r1), r1)


def noise_ceiling(truth_repeats: dict[str, list[float]], samples: int = 1000, seed: int = 0,
                  level: float = 0.95) -> dict | None:
    """The truth's reliability (value and bootstrap interval over candidates), the bound sqrt(r) a noiseless proxy
    reaches, and the repeats used; None without at least two repeats for at least three candidates.

    Candidates with more repeats than the fewest use their first ones for the pairs; the step-up goes to the
    harmonic mean of the repeat counts (what the truth's means were made of)."""
    usable = {c: np.asarray(v, dtype=float) for c, v in truth_repeats.items() if len(v) >= 2}
    if len(usable) < 3:
        return None
    counts = np.array([len(v) for v in usable.values()])
    columns = np.array([v[:counts.min()] for v in usable.values()])
    k = float(len(counts) / np.sum(1.0 / counts))
    rho = float(_reliability(columns, k))
    rng = np.random.default_rng(seed)
    n = len(columns)
    boot = _reliability(columns[rng.integers(0, n, (samples, n))], k)
    defined = bool(np.isfinite(rho))
    return {"rho": rho if defined else None, "ci": percentile_interval(boot, level) if defined else [None, None],
            "level": level, "bound": float(np.sqrt(rho)) if defined and rho > 0 else None,
            "single_training": float(_reliability(columns, 1)) if defined else None, "candidates": n,
            "repeats": {"min": int(counts.min()), "max": int(counts.max()), "effective": k}}


def of_noise_free(value: float | None, ceiling: dict | None) -> float | None:
    """A proxy's Spearman divided by the bound: its estimated agreement with the noise-free ranking."""
    if value is None or value != value or ceiling is None or not ceiling.get("bound"):
        return None
    return value / ceiling["bound"]

"""The truth's noise ceiling: how well the real-data ranking agrees with an independent repeat of itself.

Each candidate's truth repeats are split into two disjoint halves, the half means rank-correlated and the result
corrected with Spearman-Brown, 2r / (1 + r), from half to full length. A proxy as good as another real-data run
of the same size reaches it; even a noiseless proxy can reach only about its square root, since the truth it is
judged against is noisy.
"""

from __future__ import annotations

import numpy as np

from ftd_nas.agreement.intervals import percentile_interval
from ftd_nas.agreement.statistics import best_first, spearman


def _split_half(repeats: list[np.ndarray], rng: np.random.Generator) -> float:
    halves = []
    for r in repeats:
        order = rng.permutation(len(r))
        cut = len(r) // 2
        halves.append((r[order[:cut]].mean(), r[order[cut:]].mean()))
    a, b = np.array(halves).T
    rho = spearman(a, b)
    # Spearman-Brown from half to full length; below -1/3 it leaves [-1, 1], where no correlation lies
    return float(np.clip(2 * rho / (1 + rho), -1, 1)) if np.isfinite(rho) and rho > -1 else -1.0


def noise_ceiling(truth_repeats: dict[str, list[float]], ks=(), samples: int = 1000, splits: int = 100,
                  seed: int = 0) -> dict | None:
    """Split-half, Spearman-Brown corrected agreement of the truth with itself, over the whole space and over
    its top k (by the truth's mean), each the mean over `splits` random splits with a bootstrap interval over
    candidates; None without at least two repeats for at least three candidates."""
    usable = {c: np.asarray(v, dtype=float) for c, v in truth_repeats.items() if len(v) >= 2}
    if len(usable) < 3:
        return None
    names = sorted(usable)
    repeats = [usable[c] for c in names]
    means = np.array([r.mean() for r in repeats])
    rng = np.random.default_rng(seed)

    def estimate(subset: list[np.ndarray]) -> dict:
        value = float(np.nanmean([_split_half(subset, rng) for _ in range(splits)]))
        boot = np.array([_split_half([subset[i] for i in rng.integers(0, len(subset), len(subset))], rng)
                         for _ in range(samples)])
        return {"rho": value, "ci": percentile_interval(boot), "candidates": len(subset)}

    whole = estimate(repeats)
    top = best_first(means)
    counts = [len(r) for r in repeats]
    return {**whole, "repeats": {"min": min(counts), "max": max(counts)},
            "upper_bound": float(np.sqrt(whole["rho"])) if whole["rho"] > 0 else None,
            "topk": {str(k): estimate([repeats[i] for i in top[:k]]) for k in ks if 3 <= k <= len(repeats)}}

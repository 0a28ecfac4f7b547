"""The seeded simulations that check the report's intervals hold their level: used by the tests in this package
(with assertions) and by scripts/calibration.py (printed, and written as JSON for docs/statistics.md)."""

from __future__ import annotations

import numpy as np

from ftd_nas.agreement import compare_groups, noise_ceiling, spearman, spearman_rows
from tests.agreement import candidates, proxies


def _spearman(result) -> object:
    return next(c for c in result["comparisons"] if c.metric == "spearman")


def method_design(datasets: int, noise_b: float, seed: int = 5) -> dict:
    """3 vs 3 proxies per dataset on a fixed space and truth; target: the methods' expected Spearman gap there."""
    rng = np.random.default_rng(seed)
    covered, ses, errors = 0, [], []
    for _ in range(datasets):
        quality, trait, truth = candidates(30, rng)
        many = [proxies(quality, trait, 400, rng), proxies(quality, trait, 400, rng, noise=noise_b)]
        target = np.subtract(*[spearman_rows(m, np.broadcast_to(truth, m.shape)).mean() for m in many])
        groups = {"a": proxies(quality, trait, 3, rng), "b": proxies(quality, trait, 3, rng, noise=noise_b)}
        c = _spearman(compare_groups(truth, groups, ks=(), metrics=["spearman"]))
        covered += c.delta.ci[0] <= target <= c.delta.ci[1]
        ses.append(c.delta.se)
        errors.append(c.delta.value - target)
    return {"design": "proxies", "noise_b": noise_b, "datasets": datasets, "coverage": covered / datasets,
            "se_over_spread": float(np.mean(ses) / np.std(errors))}


def _two_proxies(rng, n=30):
    quality, trait, truth = candidates(n, rng)
    a = quality + 0.3 * trait + 0.8 * rng.standard_normal(n)
    return truth, a, quality - 0.2 * trait + 1.1 * rng.standard_normal(n)


def proxy_design(datasets: int, samples: int = 300, seed: int = 6) -> dict:
    """One fixed proxy per group over spaces drawn afresh; target: their expected Spearman gap (4,000 draws)."""
    rng = np.random.default_rng(seed)
    many = [_two_proxies(rng) for _ in range(4000)]
    target = float(np.mean([spearman(a, t) - spearman(b, t) for t, a, b in many]))
    covered, ses, estimates = 0, [], []
    for d in range(datasets):
        truth, a, b = _two_proxies(rng)
        c = _spearman(compare_groups(truth, {"a": a[None], "b": b[None]}, ks=(), samples=samples, seed=d,
                                     metrics=["spearman"]))
        covered += c.delta.ci[0] <= target <= c.delta.ci[1]
        ses.append(c.delta.se)
        estimates.append(c.delta.value)
    return {"design": "candidates", "target": target, "datasets": datasets, "coverage": covered / datasets,
            "se_over_spread": float(np.mean(ses) / np.std(estimates))}


def reliability(datasets: int, noise: float, seed: int = 11) -> dict:
    """A 3-repeat truth of 40 candidates; target: the expected Spearman of two independent such truths."""
    rng = np.random.default_rng(seed)
    targets, estimates, intervals = [], [], []
    for d in range(datasets):
        quality = rng.standard_normal(40)
        pairs = quality + noise * rng.standard_normal((2, 200, 3, 40)).mean(2)
        targets.append(float(spearman_rows(pairs[0], pairs[1]).mean()))
        repeats = quality[:, None] + noise * rng.standard_normal((40, 3))
        ceiling = noise_ceiling(dict(enumerate(repeats.tolist())), samples=300, seed=d)
        estimates.append(ceiling["rho"])
        intervals.append(ceiling["ci"])
    expected = float(np.mean(targets))
    return {"noise": noise, "datasets": datasets, "target": expected, "mean_estimate": float(np.mean(estimates)),
            "coverage": float(np.mean([lo <= expected <= hi for lo, hi in intervals]))}

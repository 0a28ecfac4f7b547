"""Checks of `ftd-nas verify`'s estimates where the answer is known: a proxy's scores and a full ground truth of the
same candidates, from real runs (`coverage_check`) or simulated (`simulated_population`).

For each shortlist K and many seeds, a sample is drawn as verify draws it (N candidates, one per stratum of the
proxy's ranking below THAT shortlist), and each estimate is scored against the quantity it describes:

- the Spearman and Kendall intervals against the agreement below the shortlist (the population the sample is
  drawn from), every interval of verify's `INTERVALS`, so the one it reports can be rechecked on any data; the
  whole space's agreement is given beside it, for comparison only;
- the bound on unverified candidates that beat the pick, against the true count (how often it holds);
- the regret of verify's pick (the best truth validation accuracy among the shortlist and the sample): the
  space's best truth test accuracy minus the pick's.

Each candidate's truth validation accuracy stands in for what verify would measure by training it, so the check
scores the sampling, not the real-data training's noise.
"""

from __future__ import annotations

import math

import numpy as np

from ftd_nas.agreement import best_first
from ftd_nas.errors import ConfigError
from ftd_nas.search.runner import SearchRun
from ftd_nas.search.truth import Truth
from ftd_nas.search.verify import (INTERVAL, INTERVALS, STATISTICS, proxy_ranking, rank_intervals, stratified_sample,
                                   unverified_better_bound)

# a correlation's last bits differ between ways of computing it (scipy's tau-b of 25 equal rankings is 1 - 2e-16):
# an interval [1, 1] covers it
ROUNDING = 1e-9
ACCURACY = (0.6, 0.05)  # simulated accuracies: the mean, and the points per standard deviation of quality


def coverage_check(proxy: SearchRun, truth: Truth, sample: int, draws: int = 200, tops=(3, 5, 10),
                   level: float = 0.9, bootstrap: int = 500, seed: int = 0, subset: tuple[int, int] | None = None
                   ) -> dict:
    """`population_check` of a proxy search against a full ground truth it may be judged by (`Truth.judge`: a
    trained truth of the same space, or a published table of a space holding the run's), on the candidates both
    have, in the proxy's ranking. A table has one accuracy per candidate: it stands for both the validation
    accuracy verify would measure and the test accuracy the regret is counted in, as verify looks it up.

    `subset` (size, seed): only a seeded random subset of that many of those candidates, the same cells for every
    proxy that has them all (drawn from the candidates in id order): a small real population cut from a large
    one, where the sample is a large share of what lies below the shortlist."""
    truth.judge(proxy.record.identity, proxy.dir)
    val = truth.scores("val_acc" if "val_acc" in truth.metrics else truth.metrics[0])
    test = truth.scores("test_acc" if "test_acc" in truth.metrics else truth.metrics[0])
    ranking = proxy_ranking(proxy)
    ranked = [cid for cid, _, _ in ranking if cid in val and cid in test]
    if subset is not None:
        size, subset_seed = subset
        if not 0 < size <= len(ranked):
            raise ConfigError(f"a subset of {size} of the {len(ranked)} candidates with scores and truth: give "
                              f"between 1 and {len(ranked)}")
        common = sorted(ranked)
        kept = {common[i] for i in np.random.default_rng(subset_seed).choice(len(common), size, replace=False)}
        ranked = [cid for cid in ranked if cid in kept]
    scores = {cid: score for cid, _, score in ranking}
    return population_check(np.array([scores[c] for c in ranked]), np.array([val[c] for c in ranked]),
                            np.array([test[c] for c in ranked]), sample, draws, tops, level, bootstrap, seed)


def population_check(scores: np.ndarray, val: np.ndarray, test: np.ndarray, sample: int, draws: int = 200,
                     tops=(3, 5, 10), level: float = 0.9, bootstrap: int = 500, seed: int = 0) -> dict:
    """Verify's estimates over `draws` seeded samples of `sample` candidates, for each shortlist of `tops`, scored
    against the truth (`val`, `test`: every candidate's truth accuracies; `scores`: the proxy's; ties in the proxy's
    ranking keep the given order)."""
    if len(scores) < max(tops) + sample:
        raise ConfigError(f"{len(scores)} candidates with both scores: too few for a shortlist of {max(tops)} and a "
                          f"sample of {sample}")
    order = best_first(np.asarray(scores, dtype=float))
    scores, val, test = (np.asarray(x, dtype=float)[order] for x in (scores, val, test))
    result = {"candidates": len(scores), "sample": sample, "draws": draws, "level": level, "intervals": INTERVALS,
              "reported": INTERVAL, "whole": {name: stat(scores, val) for name, (stat, _) in STATISTICS.items()}}
    result["tops"] = {str(k): _shortlist_check(scores, val, test, k, sample, draws, level, bootstrap, seed)
                      for k in tops}
    return result


def _shortlist_check(scores: np.ndarray, val: np.ndarray, test: np.ndarray, k: int, sample: int, draws: int,
                     level: float, bootstrap: int, seed: int) -> dict:
    positions = list(range(len(scores)))
    below = slice(k, None)
    target = {name: stat(scores[below], val[below]) for name, (stat, _) in STATISTICS.items()}
    covered = {name: {kind: 0 for kind in INTERVALS} for name in STATISTICS}
    widths = {name: {kind: [] for kind in INTERVALS} for name in STATISTICS}
    estimates = {name: [] for name in STATISTICS}
    regrets, bounds, true_counts, held = [], [], [], 0
    for d in range(draws):
        chosen = stratified_sample(positions, sample, seed + d, set(positions[:k]))
        found = rank_intervals(scores[chosen], val[chosen], level, bootstrap, seed + d, population=len(scores) - k)
        for name, entry in found.items():
            estimates[name].append(entry["value"])
            for kind in INTERVALS:
                lo, hi = entry[kind]
                covered[name][kind] += lo is not None and lo - ROUNDING <= target[name] <= hi + ROUNDING
                widths[name][kind].append(hi - lo if lo is not None else math.nan)
        verified = positions[:k] + chosen
        pick = max(verified, key=lambda i: (val[i], -i))  # as verify picks: real validation, then proxy rank
        regrets.append(float(test.max() - test[pick]))
        bound = unverified_better_bound(len(positions), k, chosen, set(chosen), sample, level).count
        true = int(np.sum(val[k:] > val[pick]))  # a verified candidate never beats the pick
        bounds.append(bound)
        true_counts.append(true)
        held += true <= bound
    return {"below": len(scores) - k, "draws": draws, "target": target,
            "coverage": {name: {kind: covered[name][kind] / draws for kind in INTERVALS} for name in STATISTICS},
            "mean_estimate": {name: _mean(v) for name, v in estimates.items()},
            "mean_width": {name: {kind: _mean(v) for kind, v in w.items()} for name, w in widths.items()},
            "bound": {"held": held / draws, "mean": float(np.mean(bounds)), "mean_true": float(np.mean(true_counts)),
                      "max_true": max(true_counts)},
            "regret": {"mean": float(np.mean(regrets)), "max": max(regrets)}}


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def pool_checks(checks: list[dict]) -> dict:
    """Several `population_check` results of the same sample size and shortlists (e.g. several proxies of one
    truth) as one: each mean or share weighted by its draws, each max the largest; `target` and `whole` become the
    mean over the checks (each check has its own)."""
    return {"candidates": [c["candidates"] for c in checks], "sample": checks[0]["sample"],
            "draws": sum(c["draws"] for c in checks), "level": checks[0]["level"], "intervals": checks[0]["intervals"],
            "reported": checks[0]["reported"],
            "whole": _pool([c["whole"] for c in checks], [1] * len(checks)),
            "tops": {k: _pool([c["tops"][k] for c in checks], [c["draws"] for c in checks])
                     for k in checks[0]["tops"]}}


def _pool(values: list, weights: list[int], key: str = "") -> object:
    if isinstance(values[0], dict):
        return {k: _pool([v[k] for v in values], weights, k) for k in values[0]}
    if key.startswith("max") or key == "draws":
        return max(values) if key != "draws" else sum(values)
    pairs = [(v, w) for v, w in zip(values, weights) if math.isfinite(v)]
    return float(np.average([v for v, _ in pairs], weights=[w for _, w in pairs])) if pairs else math.nan


def simulated_population(size: int, correlation: float, proxies: int = 1, noise: float = 0.2,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A seeded population with known structure: each candidate's latent quality q ~ N(0, 1); the truth measures it
    twice (validation, test), each with noise of `noise` standard deviations; each of `proxies` proxies scores
    q plus its own noise, sized so that its correlation with the truth's validation accuracy is `correlation` in
    the model: 1 / sqrt((1 + noise^2)(1 + proxy noise^2)). Returns (truth val, truth test, [proxy scores]) as
    accuracies (`ACCURACY`)."""
    ceiling = 1 / math.sqrt(1 + noise ** 2)
    if not 0 < correlation <= ceiling:
        raise ConfigError(f"a proxy's correlation with a truth of noise {noise} lies in (0, {ceiling:.3f}], "
                          f"not {correlation}")
    rng = np.random.default_rng(seed)
    mean, scale = ACCURACY
    quality = rng.standard_normal(size)
    val, test = (mean + scale * (quality + noise * rng.standard_normal(size)) for _ in range(2))
    proxy_noise = math.sqrt(1 / (correlation ** 2 * (1 + noise ** 2)) - 1)
    return val, test, [mean + scale * (quality + proxy_noise * rng.standard_normal(size)) for _ in range(proxies)]

"""Paired comparisons of groups of proxies (e.g. FTD's and MTT's proxies, each distilled with several seeds).

Inputs are arrays over the same candidates: the truth's repeats (one array of accuracies per candidate) and, per
group, one score vector per proxy of the group. Every bootstrap sample draws candidates (the same ones for every
group), each group's proxies, and each candidate's truth repeats, all with replacement, and recomputes every
metric; the difference between two groups in the same sample gives the interval. A difference is "supported"
only when its 95% interval excludes 0.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ftd_nas.agreement.formatting import format_interval
from ftd_nas.agreement.intervals import percentile_interval
from ftd_nas.agreement.statistics import HIGHER_IS_BETTER, agreement_metrics, metric_names


def _group_mean(runs: np.ndarray, truth: np.ndarray, ks) -> dict[str, float]:
    per_run = [agreement_metrics(scores, truth, ks) for scores in runs]
    return {m: float(np.nanmean([r[m] for r in per_run])) if any(np.isfinite(r[m]) for r in per_run) else float("nan")
            for m in per_run[0]}


def _truth_means(repeats: list[np.ndarray], rng: np.random.Generator | None) -> np.ndarray:
    """Each candidate's mean over its repeats; with `rng`, over repeats drawn with replacement."""
    if rng is None:
        return np.array([r.mean() for r in repeats])
    return np.array([r[rng.integers(0, len(r), len(r))].mean() for r in repeats])


def paired_bootstrap(truth_repeats: list[np.ndarray], groups: dict[str, np.ndarray], ks, samples: int = 1000,
                     seed: int = 0) -> dict:
    """Per group: each metric (the mean over its proxies) and its bootstrap interval; per pair of groups: the
    difference of each metric and its paired interval, with a verdict the interval supports.

    `groups[label]` is an array [proxies, candidates] aligned with `truth_repeats`.
    """
    names = metric_names(ks)
    truth = _truth_means(truth_repeats, None)
    point = {label: _group_mean(runs, truth, ks) for label, runs in groups.items()}
    boot = {label: {m: np.empty(samples) for m in names} for label in groups}
    rng = np.random.default_rng(seed)
    n = len(truth)
    for b in range(samples):
        idx = rng.integers(0, n, n)
        truth_b = _truth_means([truth_repeats[i] for i in idx], rng)
        for label, runs in groups.items():
            chosen = runs[rng.integers(0, len(runs), len(runs))][:, idx]
            for m, value in _group_mean(chosen, truth_b, ks).items():
                boot[label][m][b] = value
    per_group = {label: {m: {"value": point[label][m], "ci": percentile_interval(boot[label][m])} for m in names}
                 for label in groups}
    comparisons = []
    for a, b in combinations(groups, 2):
        for m in names:
            delta = point[a][m] - point[b][m]
            ci = percentile_interval(boot[a][m] - boot[b][m])
            comparisons.append({"a": a, "b": b, "metric": m, "delta": delta, "ci": ci,
                                "verdict": verdict(a, b, m, delta, ci)})
    return {"groups": per_group, "comparisons": comparisons, "candidates": n, "samples": samples}


def verdict(a: str, b: str, metric: str, delta: float, ci: list[float | None]) -> str:
    """The comparison in words; a winner only where the interval excludes 0."""
    if ci[0] is None or not np.isfinite(delta):
        return f"{a} vs {b} on {metric}: not distinguishable (n/a)"
    # regret in points of accuracy, as the tables show it (report.json keeps the fraction)
    style = dict(digits=1, scale=100, unit=" pts") if metric == "regret" else dict(digits=3)
    shown = format_interval(delta, ci, sign=True, **style)
    if ci[0] <= 0 <= ci[1]:
        return f"{a} vs {b} on {metric}: not distinguishable ({shown})"
    a_better = (ci[0] > 0) == HIGHER_IS_BETTER.get(metric, True)
    better, worse = (a, b) if a_better else (b, a)
    word = "lower than" if metric == "regret" else "above"
    return f"{better} {word} {worse} on {metric}: {shown} ({a} minus {b})"

"""How far to trust a ranking: the truth's noise ceiling, and paired comparisons of proxy groups.

Inputs are arrays over the same candidates: the truth's repeats (one list of accuracies per candidate) and,
per group, one score vector per proxy of the group (runs over proxies distilled with different seeds).

Noise ceiling: split each candidate's truth repeats into two disjoint halves, rank-correlate the half means and
correct with Spearman-Brown, 2r / (1 + r): an estimate of how well the whole truth would agree with an
independent repeat of itself. A proxy as good as another real-data run of the same size reaches it; even a
noiseless proxy can reach only about its square root, since the truth it is judged against is noisy.

Paired comparison: every bootstrap sample draws candidates (the same ones for every group), each group's
proxies, and each candidate's truth repeats, all with replacement, and recomputes every metric; the difference
between two groups in the same sample gives the interval. A difference is "supported" only when its 95%
interval excludes 0.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.stats import kendalltau, rankdata

HIGHER_IS_BETTER = {"regret": False}  # every other metric is a correlation


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    ra, rb = rankdata(a), rankdata(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def _kendall(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(kendalltau(a, b).statistic)


def metric_names(ks) -> list[str]:
    return ["spearman", "kendall", *(f"top{k}_{way}" for k in ks for way in ("by_real", "by_proxy")), "regret"]


def agreement_metrics(proxy: np.ndarray, truth: np.ndarray, ks) -> dict[str, float]:
    """Every metric the comparisons use, for one proxy's scores against the truth (same candidates, same order)."""
    by_truth, by_proxy = np.argsort(-truth, kind="stable"), np.argsort(-proxy, kind="stable")
    out = {"spearman": _spearman(proxy, truth), "kendall": _kendall(proxy, truth)}
    for k in ks:
        for way, order in (("by_real", by_truth), ("by_proxy", by_proxy)):
            top = order[:k]
            out[f"top{k}_{way}"] = _spearman(proxy[top], truth[top]) if k <= len(truth) else float("nan")
    out["regret"] = float(truth[by_truth[0]] - truth[by_proxy[0]])
    return out


def _group_mean(runs: np.ndarray, truth: np.ndarray, ks) -> dict[str, float]:
    per_run = [agreement_metrics(scores, truth, ks) for scores in runs]
    return {m: float(np.nanmean([r[m] for r in per_run])) if any(np.isfinite(r[m]) for r in per_run) else float("nan")
            for m in per_run[0]}


def _truth_means(repeats: list[np.ndarray], rng: np.random.Generator | None) -> np.ndarray:
    """Each candidate's mean over its repeats; with `rng`, over repeats drawn with replacement."""
    if rng is None:
        return np.array([r.mean() for r in repeats])
    return np.array([r[rng.integers(0, len(r), len(r))].mean() for r in repeats])


def _interval(values: np.ndarray) -> list[float | None]:
    values = values[np.isfinite(values)]
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))] if len(values) else [None, None]


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
    per_group = {label: {m: {"value": point[label][m], "ci": _interval(boot[label][m])} for m in names}
                 for label in groups}
    comparisons = []
    for a, b in combinations(groups, 2):
        for m in names:
            delta = point[a][m] - point[b][m]
            ci = _interval(boot[a][m] - boot[b][m])
            comparisons.append({"a": a, "b": b, "metric": m, "delta": delta, "ci": ci,
                                "verdict": verdict(a, b, m, delta, ci)})
    return {"groups": per_group, "comparisons": comparisons, "candidates": n, "samples": samples}


def verdict(a: str, b: str, metric: str, delta: float, ci: list[float | None]) -> str:
    """The comparison in words; a winner only where the interval excludes 0."""
    if ci[0] is not None and np.isfinite(delta):
        # regret in points of accuracy, as the tables show it (report.json keeps the fraction)
        scale, digits, unit = (100, 1, " pts") if metric == "regret" else (1, 3, "")
        shown = f"{scale * delta:+.{digits}f}{unit} [{scale * ci[0]:+.{digits}f}, {scale * ci[1]:+.{digits}f}]"
    else:
        shown = "n/a"
    if ci[0] is None or not np.isfinite(delta) or ci[0] <= 0 <= ci[1]:
        return f"{a} vs {b} on {metric}: not distinguishable ({shown})"
    a_better = (ci[0] > 0) == HIGHER_IS_BETTER.get(metric, True)
    better, worse = (a, b) if a_better else (b, a)
    word = "lower than" if metric == "regret" else "above"
    return f"{better} {word} {worse} on {metric}: {shown} ({a} minus {b})"


def _split_half(repeats: list[np.ndarray], rng: np.random.Generator) -> float:
    halves = []
    for r in repeats:
        order = rng.permutation(len(r))
        cut = len(r) // 2
        halves.append((r[order[:cut]].mean(), r[order[cut:]].mean()))
    a, b = np.array(halves).T
    rho = _spearman(a, b)
    # Spearman-Brown from half to full length; below -1/3 it leaves [-1, 1], where no correlation lies
    return float(np.clip(2 * rho / (1 + rho), -1, 1)) if np.isfinite(rho) and rho > -1 else -1.0


def noise_ceiling(truth_repeats: dict[str, list[float]], ks=(), samples: int = 1000, splits: int = 100,
                  seed: int = 0) -> dict | None:
    """Split-half, Spearman-Brown corrected agreement of the truth with itself, over the whole space and over
    its top k (by the truth's mean); None without at least two repeats for at least three candidates."""
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
        return {"rho": value, "ci": _interval(boot), "candidates": len(subset)}

    whole = estimate(repeats)
    top = np.argsort(-means, kind="stable")
    counts = [len(r) for r in repeats]
    return {**whole, "repeats": {"min": min(counts), "max": max(counts)},
            "upper_bound": float(np.sqrt(whole["rho"])) if whole["rho"] > 0 else None,
            "topk": {str(k): estimate([repeats[i] for i in top[:k]]) for k in ks if 3 <= k <= len(repeats)}}

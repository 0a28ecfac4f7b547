"""The agreement statistics of one proxy's scores with the truth's, over the same candidates in the same order.

A correlation is undefined (NaN) for fewer than two candidates or when either side is constant; an undefined
value is left out of the means and intervals built on it rather than counted as zero.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, rankdata

# The paper does not say which "top k" it means, so both are kept: the k best by real-data accuracy, and the k
# best by the proxy (the architectures a search on the proxy would actually look at).
READINGS = ("by_real", "by_proxy")
HIGHER_IS_BETTER = {"regret": False}  # every other metric is a correlation


def aligned(proxy: dict[str, float], truth: dict[str, float]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The candidates both score (sorted by name), and their proxy and truth scores in that order."""
    names = sorted(set(proxy) & set(truth))
    return names, np.array([proxy[n] for n in names], dtype=float), np.array([truth[n] for n in names], dtype=float)


def _defined(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) > 1 and np.ptp(a) > 0 and np.ptp(b) > 0


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho, ties at their mean rank: scipy's `spearmanr` to the last bit, without its p-value's cost
    (the paired bootstrap calls this hundreds of thousands of times)."""
    if not _defined(a, b):
        return float("nan")
    return float(np.corrcoef(rankdata(a), rankdata(b))[1, 0])  # [1, 0], not [0, 1]: the element scipy returns


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b (ties in either ranking corrected for)."""
    return float(kendalltau(a, b).statistic) if _defined(a, b) else float("nan")


def best_first(scores: np.ndarray) -> np.ndarray:
    """Candidate indices from the highest score down; ties keep their order, so every reading is reproducible."""
    return np.argsort(-scores, kind="stable")


def rank_positions(scores: np.ndarray) -> np.ndarray:
    """Each candidate's rank, 1 = best; tied candidates share their mean rank."""
    return rankdata(-scores)


def top_k(proxy: np.ndarray, truth: np.ndarray, k: int, reading: str) -> np.ndarray:
    """Indices of the k best candidates by the truth ("by_real") or by the proxy ("by_proxy")."""
    return best_first(truth if reading == "by_real" else proxy)[:k]


def precision_at_k(proxy: np.ndarray, truth: np.ndarray, k: int) -> float:
    """The share of the truth's k best that the proxy also puts in its k best."""
    return len(set(top_k(proxy, truth, k, "by_real")) & set(top_k(proxy, truth, k, "by_proxy"))) / k


def regret(proxy: np.ndarray, truth: np.ndarray) -> float:
    """How much truth accuracy is lost by taking the proxy's best candidate instead of the truth's best."""
    return float(truth[best_first(truth)[0]] - truth[best_first(proxy)[0]])


def metric_names(ks) -> list[str]:
    return ["spearman", "kendall", *(f"top{k}_{way}" for k in ks for way in READINGS), "regret"]


def agreement_metrics(proxy: np.ndarray, truth: np.ndarray, ks) -> dict[str, float]:
    """Every metric the comparisons use (named as `metric_names`), for one proxy's scores against the truth; a top
    k larger than the candidates is undefined."""
    out = {"spearman": spearman(proxy, truth), "kendall": kendall(proxy, truth)}
    for k in ks:
        for way in READINGS:
            top = top_k(proxy, truth, k, way)
            out[f"top{k}_{way}"] = spearman(proxy[top], truth[top]) if k <= len(truth) else float("nan")
    out["regret"] = regret(proxy, truth)
    return out

"""How well a proxy ranks architectures compared with real-data training (FTD Table 5 and more).

Inputs are two dicts candidate -> accuracy: `proxy` (e.g. validation accuracy after training on the proxy)
and `truth` (e.g. test accuracy after training on the real data). Only candidates present in both count.
"Top k" is computed both ways, since the paper does not say which: the k best by real accuracy, and the k
best by proxy accuracy.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, spearmanr


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(a, b).statistic) if len(a) > 1 and np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")


def _tau(a: np.ndarray, b: np.ndarray) -> float:
    return float(kendalltau(a, b).statistic) if len(a) > 1 and np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")


def _bootstrap(p: np.ndarray, t: np.ndarray, stat, samples: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    values = [stat(p[i], t[i]) for i in (rng.integers(0, len(p), len(p)) for _ in range(samples))]
    values = np.array([v for v in values if np.isfinite(v)])
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))] if len(values) else [None, None]


def rank_agreement(proxy: dict[str, float], truth: dict[str, float], ks=(5, 10, 20), bootstrap: int = 1000,
                   seed: int = 0) -> dict:
    """Spearman rho, Kendall tau (with bootstrap 95% intervals), top-k correlations both ways,
    precision at k, and the real accuracy and regret of the architecture the proxy picks."""
    names = sorted(set(proxy) & set(truth))
    p = np.array([proxy[n] for n in names], dtype=float)
    t = np.array([truth[n] for n in names], dtype=float)
    by_truth, by_proxy = np.argsort(-t, kind="stable"), np.argsort(-p, kind="stable")
    topk = {}
    for k in ks:
        if k > len(names):
            continue
        top_t, top_p = by_truth[:k], by_proxy[:k]
        topk[str(k)] = {
            "by_real": {"spearman": _rho(p[top_t], t[top_t]), "kendall": _tau(p[top_t], t[top_t]),
                        "spearman_ci95": _bootstrap(p[top_t], t[top_t], _rho, bootstrap, seed)},
            "by_proxy": {"spearman": _rho(p[top_p], t[top_p]), "kendall": _tau(p[top_p], t[top_p]),
                         "spearman_ci95": _bootstrap(p[top_p], t[top_p], _rho, bootstrap, seed)},
            "precision": len(set(top_t) & set(top_p)) / k,
        }
    pick = int(by_proxy[0]) if names else None
    return {
        "n": len(names),
        "spearman": _rho(p, t), "spearman_ci95": _bootstrap(p, t, _rho, bootstrap, seed),
        "kendall": _tau(p, t), "kendall_ci95": _bootstrap(p, t, _tau, bootstrap, seed),
        "topk": topk,
        "picked": names[pick] if names else None,
        "picked_real_acc": float(t[pick]) if names else None,
        "best": names[int(by_truth[0])] if names else None,
        "best_real_acc": float(t[by_truth[0]]) if names else None,
        "regret": float(t[by_truth[0]] - t[pick]) if names else None,
    }

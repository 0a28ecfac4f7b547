"""One proxy's agreement with the truth as the report keeps it per run (FTD Table 5 and more).

Inputs are two dicts candidate -> accuracy: `proxy` (e.g. validation accuracy after training on the proxy) and
`truth` (e.g. test accuracy after training on the real data); only candidates present in both count.
"""

from __future__ import annotations

import numpy as np

from ftd_nas.agreement.intervals import bootstrap as resampled, percentile_interval
from ftd_nas.agreement.statistics import (READINGS, aligned, best_first, kendall, precision_at_k, regret, spearman,
                                          top_k)


def rank_agreement(proxy: dict[str, float], truth: dict[str, float], ks=(5, 10, 20), bootstrap: int = 1000,
                   seed: int = 0) -> dict:
    """Spearman rho, Kendall tau (with bootstrap 95% intervals), top-k correlations both ways, precision at k,
    and the real accuracy and regret of the architecture the proxy picks; a k above the candidates is left out."""
    names, p, t = aligned(proxy, truth)

    def interval(a: np.ndarray, b: np.ndarray, stat) -> list[float | None]:
        # every interval draws afresh from `seed`: each is reproducible on its own, whatever else is computed
        return percentile_interval(resampled(stat, a, b, bootstrap, np.random.default_rng(seed)))

    topk = {}
    for k in ks:
        if k > len(names):
            continue
        entry = {}
        for way in READINGS:
            top = top_k(p, t, k, way)
            entry[way] = {"spearman": spearman(p[top], t[top]), "kendall": kendall(p[top], t[top]),
                          "spearman_ci95": interval(p[top], t[top], spearman)}
        topk[str(k)] = {**entry, "precision": precision_at_k(p, t, k)}
    pick, best = (int(best_first(p)[0]), int(best_first(t)[0])) if names else (None, None)
    return {
        "n": len(names),
        "spearman": spearman(p, t), "spearman_ci95": interval(p, t, spearman),
        "kendall": kendall(p, t), "kendall_ci95": interval(p, t, kendall),
        "topk": topk,
        "picked": names[pick] if names else None,
        "picked_real_acc": float(t[pick]) if names else None,
        "best": names[best] if names else None,
        "best_real_acc": float(t[best]) if names else None,
        "regret": regret(p, t) if names else None,
    }

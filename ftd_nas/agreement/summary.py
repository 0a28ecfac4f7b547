"""One proxy's agreement with the truth as the report keeps it per run (FTD Table 5 and more).

Inputs are two dicts candidate -> accuracy: `proxy` (e.g. validation accuracy after training on the proxy, FAILED
for a candidate whose training failed) and `truth` (e.g. test accuracy after training on the real data, only
candidates with a known one). The rankings are compared on the candidates present in both; the best of the space
is the truth's best over all of `truth`, also a candidate the proxy lacks.
"""

from __future__ import annotations

import numpy as np

from ftd_nas.agreement.intervals import bootstrap as resampled, joined_with_perfect, percentile_interval
from ftd_nas.agreement.statistics import (FAILED, READINGS, aligned, best_first, better_half, expected_top_k, kendall,
                                          kendall_half, picked_accuracy, precision_at_k, ranked_by, regret, spearman,
                                          top_k_sets)


STAT_NAMES = {spearman: "spearman", kendall: "kendall"}


def rank_agreement(proxy: dict[str, float], truth: dict[str, float], ks=(5, 10, 20), bootstrap: int = 1000,
                   seed: int = 0) -> dict:
    """Spearman rho, Kendall tau, Kendall tau over the truth's better half (with bootstrap 95% intervals), top-k
    correlations both ways, precision at k, and the real accuracy and regret of the architecture the proxy picks;
    a k above the candidates is left out.

    `failed` counts the candidates ranked last as FAILED. Top k statistics and the pick are expected values over
    the orders of ties (see `statistics`): `picked` is the first by name of the `picked_ties` candidates sharing
    the proxy's best score, `picked_real_acc` the expected real accuracy of a random one of them, and `regret` is
    measured from `best_real_acc`, the best of the whole `truth`.
    """
    names, p, t = aligned(proxy, truth)

    def interval(sets: list[np.ndarray], stat) -> list[float | None]:
        # the bootstrap pooled over the tie orders, each weighing the same: ceil(bootstrap / orders) draws each.
        # Every interval draws afresh from `seed`: each is reproducible on its own, whatever else is computed.
        rng = np.random.default_rng(seed)
        draws = -(-bootstrap // len(sets))
        ci = percentile_interval(np.concatenate([resampled(stat, p[s], t[s], draws, rng) for s in sets]))
        values = [stat(p[s], t[s]) for s in sets]
        signs = {float(np.sign(v)) if np.isclose(abs(v), 1) else 0.0 for v in values}
        if ci[0] is not None and len(signs) == 1 and 0.0 not in signs:  # perfect agreement (a top k in order, say)
            ci = joined_with_perfect(ci, len(sets[0]), STAT_NAMES[stat], 0.95, int(signs.pop()))
        return ci

    topk = {}
    for k in ks:
        if k > len(names):
            continue
        entry = {}
        for way in READINGS:
            entry[way] = {"spearman": expected_top_k(spearman, p, t, k, way),
                          "kendall": expected_top_k(kendall, p, t, k, way),
                          "spearman_ci95": interval(top_k_sets(ranked_by(p, t, way), k), spearman)}
        topk[str(k)] = {**entry, "precision": precision_at_k(p, t, k)}
    everyone = [np.arange(len(names))]
    best = max(sorted(truth), key=truth.__getitem__) if truth else None  # the first by name of the tied best
    return {
        "n": len(names), "failed": int(np.sum(p == FAILED)),
        "spearman": spearman(p, t), "spearman_ci95": interval(everyone, spearman),
        "kendall": kendall(p, t), "kendall_ci95": interval(everyone, kendall),
        "kendall_half": kendall_half(p, t),
        "kendall_half_ci95": interval(top_k_sets(t, better_half(t)), kendall) if better_half(t) >= 2 else [None, None],
        "topk": topk,
        "picked": names[best_first(p)[0]] if names else None,
        "picked_ties": int(np.sum(p == p.max())) if names else 0,
        "picked_real_acc": picked_accuracy(p, t) if names else None,
        "best": best,
        "best_real_acc": float(truth[best]) if truth else None,
        "regret": regret(p, t, truth[best]) if names else None,
    }

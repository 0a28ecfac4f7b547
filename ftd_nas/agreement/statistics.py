"""The agreement statistics of one proxy's scores with the truth's, over the same candidates in the same order.

A correlation is undefined (NaN) for fewer than two candidates or when either side is constant; an undefined
value is left out of the means and intervals built on it rather than counted as zero.

A candidate whose training on the proxy failed is a result, not a gap: its proxy score is FAILED, which ranks it
last (all failures tied at the bottom). NaN never reaches a statistic: the entry points (`aligned`,
`agreement_metrics`) refuse it, since a NaN would silently drop or misplace a candidate.

Ties are not broken by candidate name or order: a statistic of a top k set, and the pick, are their expected
values over the equally likely ways of breaking the ties at the boundary (`top_k_sets`, `top_k_chances`).
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
from scipy.stats import kendalltau, rankdata

from ftd_nas.agreement.intervals import Statistic

# The paper does not say which "top k" it means, so both are kept: the k best by real-data accuracy, and the k
# best by the proxy (the architectures a search on the proxy would actually look at).
READINGS = ("by_real", "by_proxy")
HIGHER_IS_BETTER = {"regret": False}  # every other metric is a correlation
FAILED = float("-inf")  # the proxy score of a candidate whose training failed: below every score, so ranked last
TIE_SETS = 256  # the most top k sets enumerated at a tied boundary; above it, this many drawn with TIE_SEED
TIE_SEED = 0


def refuse_nan(proxy: np.ndarray, truth: np.ndarray) -> None:
    """A ValueError naming the NaN scores, if there are any: the caller knows whether a NaN means a failure (a
    proxy score, to be FAILED) or an unknown (a truth score, to be dropped); a statistic cannot tell."""
    bad_proxy, bad_truth = int(np.isnan(proxy).sum()), int(np.isnan(truth).sum())
    if bad_proxy or bad_truth:
        raise ValueError(f"{bad_proxy} NaN proxy score(s) and {bad_truth} NaN truth score(s): map each failed "
                         "candidate's proxy score to FAILED (ranked last) and drop candidates without a truth score "
                         "before computing agreement")


def aligned(proxy: dict[str, float], truth: dict[str, float]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The candidates both score (sorted by name), and their proxy and truth scores in that order; NaN anywhere in
    either dict is refused (`refuse_nan`)."""
    refuse_nan(np.array(list(proxy.values()), dtype=float), np.array(list(truth.values()), dtype=float))
    names = sorted(set(proxy) & set(truth))
    return names, np.array([proxy[n] for n in names], dtype=float), np.array([truth[n] for n in names], dtype=float)


def _defined(a: np.ndarray, b: np.ndarray) -> bool:
    # max > min rather than np.ptp: the spread of an all-FAILED side is inf - inf, NaN with a warning
    return len(a) > 1 and a.max() > a.min() and b.max() > b.min()


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
    """Candidate indices from the highest score down, FAILED last; ties keep their order (for display: every
    statistic averages over the ways of breaking them instead)."""
    return np.argsort(-scores, kind="stable")


def rank_positions(scores: np.ndarray) -> np.ndarray:
    """Each candidate's rank, 1 = best; tied candidates share their mean rank."""
    return rankdata(-scores)


def _boundary(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The candidates surely in the top k (strictly above the k-th best score), those tied with the k-th best,
    and how many of the tied the top k takes."""
    edge = scores[best_first(scores)[k - 1]]
    above = np.flatnonzero(scores > edge)
    return above, np.flatnonzero(scores == edge), k - len(above)


def top_k_chances(scores: np.ndarray, k: int) -> np.ndarray:
    """Each candidate's chance of being in the k best under a uniformly random order of ties."""
    above, tied, take = _boundary(scores, k)
    chances = np.zeros(len(scores))
    chances[above], chances[tied] = 1.0, take / len(tied)
    return chances


def top_k_sets(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """The equally likely sets of the k best under a random order of ties: every choice from the boundary's tie
    group when there are at most TIE_SETS of them, else TIE_SETS choices drawn independently and uniformly with
    the fixed TIE_SEED (an estimate, but the same one on every call)."""
    above, tied, take = _boundary(scores, k)
    if comb(len(tied), take) <= TIE_SETS:
        choices = [list(c) for c in combinations(tied, take)]
    else:
        rng = np.random.default_rng(TIE_SEED)
        choices = [rng.choice(tied, take, replace=False) for _ in range(TIE_SETS)]
    return [np.concatenate([above, c]).astype(int) for c in choices]


def ranked_by(proxy: np.ndarray, truth: np.ndarray, reading: str) -> np.ndarray:
    """The scores a top k `reading` ("by_real" or "by_proxy") takes the k best of."""
    return truth if reading == "by_real" else proxy


def expected_top_k(stat: Statistic, proxy: np.ndarray, truth: np.ndarray, k: int, reading: str) -> float:
    """`stat` of the k best by `reading`, expected over the orders of ties: its mean over `top_k_sets`, the tie
    orders where it is undefined left out (NaN when it is undefined in all)."""
    values = np.array([stat(proxy[s], truth[s]) for s in top_k_sets(ranked_by(proxy, truth, reading), k)])
    return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else float("nan")


def precision_at_k(proxy: np.ndarray, truth: np.ndarray, k: int) -> float:
    """The expected share of the truth's k best that the proxy also puts in its k best, the ties of each broken
    at random on their own."""
    return float(top_k_chances(truth, k) @ top_k_chances(proxy, k)) / k


def picked_accuracy(proxy: np.ndarray, truth: np.ndarray) -> float:
    """The expected truth accuracy of the proxy's pick: a uniformly random one of the candidates tied at its best
    (all of them when every candidate failed)."""
    return float(top_k_chances(proxy, 1) @ truth)


def regret(proxy: np.ndarray, truth: np.ndarray, space_best: float | None = None) -> float:
    """How much truth accuracy is lost, in expectation over ties, by taking the proxy's pick instead of the best
    of the space: `space_best`, the best truth accuracy over every candidate the truth finished (the proxy may
    lack the best one), by default the best of `truth`."""
    best = truth.max() if space_best is None else space_best
    if best < truth.max():
        raise ValueError(f"space_best {best} is below a truth score given ({truth.max()}): it must be the best "
                         "truth accuracy over the whole space")
    return float(best - picked_accuracy(proxy, truth))


def better_half(truth: np.ndarray) -> int:
    """How many candidates the truth's better half holds (`kendall_half`)."""
    return len(truth) // 2


def kendall_half(proxy: np.ndarray, truth: np.ndarray) -> float:
    """Kendall's tau over the truth's better half, expected over the ties at its boundary: whole-space rank
    correlations are inflated by trivially bad candidates (NAS-Bench-201 has hundreds at chance), and a search
    needs the good ones ordered (DESIGN.md section 10)."""
    k = better_half(truth)
    return expected_top_k(kendall, proxy, truth, k, "by_real") if k >= 2 else float("nan")


def metric_names(ks) -> list[str]:
    return ["spearman", "kendall", "kendall_half", *(f"top{k}_{way}" for k in ks for way in READINGS), "regret"]


def agreement_metrics(proxy: np.ndarray, truth: np.ndarray, ks, space_best: float | None = None) -> dict[str, float]:
    """Every metric the comparisons use (named as `metric_names`), for one proxy's scores against the truth; a top
    k larger than the candidates is undefined; regret is against `space_best` (see `regret`)."""
    refuse_nan(proxy, truth)
    out = {"spearman": spearman(proxy, truth), "kendall": kendall(proxy, truth),
           "kendall_half": kendall_half(proxy, truth)}
    for k in ks:
        for way in READINGS:
            out[f"top{k}_{way}"] = expected_top_k(spearman, proxy, truth, k, way) if k <= len(truth) else float("nan")
    out["regret"] = regret(proxy, truth, space_best)
    return out


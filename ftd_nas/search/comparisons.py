"""What a report may conclude from its groups: the declared comparisons, corrected for their number, and what the
design could have detected.

The primary family is declared before looking (`--primary "A vs B"`, on `--primary-metric`); by default it is
each method against the random subset of the same size, on Spearman: the question a proxy has to answer first
(does it rank better than real images chosen at random?). Holm's correction keeps the chance of any false claim
in that family at ALPHA. Every other pair and metric is exploratory: shown with its raw interval, never a verdict.
Each comparison carries its minimum detectable difference (80 % power; at ALPHA / m for the family, the strictest
step of Holm's, at ALPHA otherwise), so a difference that is "not distinguishable" comes with the size of
difference the data could not rule out, never as "no difference".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ftd_nas.agreement import (Comparison, better, compare_groups, format_interval, holm, metric_names,
                               minimum_detectable)
from ftd_nas.errors import ConfigError

ALPHA = 0.05  # family-wise error rate of the primary family; the level of every raw interval is 1 - ALPHA
POWER = 0.8  # of the minimum detectable differences
DEFAULT_FAMILY = "each method against the random subset of the same size"


@dataclass(frozen=True)
class Family:
    """The declared primary comparisons: (a, b) label pairs on one metric, a minus b."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    metric: str = "spearman"
    declared_by: str = DEFAULT_FAMILY


def parse_primary(texts: list[str], labels: list[str], metric: str, ks) -> Family:
    """A family from "A vs B" texts; an unknown label or metric is refused, naming the ones there are."""
    if metric not in metric_names(ks):
        raise ConfigError(f"--primary-metric {metric!r} is not a metric of this report; choose one of "
                          f"{', '.join(metric_names(ks))}")
    pairs = []
    for text in texts:
        parts = [p.strip() for p in text.split(" vs ")]
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"--primary {text!r}: write two group labels separated by ' vs ', e.g. "
                              f"'{labels[0]} vs {labels[-1]}'")
        unknown = [p for p in parts if p not in labels]
        if unknown:
            raise ConfigError(f"--primary {text!r}: no group labelled {unknown[0]!r}; the groups are "
                              + ", ".join(repr(label) for label in labels))
        if parts[0] == parts[1]:
            raise ConfigError(f"--primary {text!r} compares a group with itself")
        pairs.append((parts[0], parts[1]))
    return Family(pairs, metric, "the user (--primary)")


def _is_random(run: dict) -> bool:
    source = run["source"]
    return source["kind"] == "random" or (source["kind"] == "proxy" and source.get("method") == "random")


def default_family(runs: list[dict], metric: str = "spearman") -> Family:
    """Each group that is neither a random subset nor real data against every random-subset group of the same
    number of training images (a group's runs must agree on both to take part)."""
    by_label: dict[str, list[dict]] = {}
    for run in runs:
        by_label.setdefault(run["label"], []).append(run)

    def kind(members: list[dict]) -> tuple[str, int | None] | None:
        images = {m["train_images"] for m in members}
        if len(images) != 1:
            return None
        if all(_is_random(m) for m in members):
            return "random", images.pop()
        if all(m["source"]["kind"] == "proxy" for m in members) and not any(_is_random(m) for m in members):
            return "method", images.pop()
        return None

    kinds = {label: kind(members) for label, members in by_label.items()}
    pairs = [(a, b) for a, ka in kinds.items() for b, kb in kinds.items()
             if ka and kb and ka[0] == "method" and kb[0] == "random" and ka[1] == kb[1] and ka[1] is not None]
    return Family(pairs, metric, DEFAULT_FAMILY)


def _oriented(c: Comparison, a: str) -> Comparison:
    """The comparison as `a` minus the other group."""
    if c.a == a:
        return c
    d = c.delta
    ci = [None if d.ci[1] is None else -d.ci[1], None if d.ci[0] is None else -d.ci[0]]
    return replace(c, a=c.b, b=c.a, delta=replace(d, value=None if d.value is None else -d.value, ci=ci))


def _shown(c: Comparison) -> str:
    # regret in points of accuracy, as the tables show it (report.json keeps the fraction)
    style = dict(digits=1, scale=100, unit=" pts") if c.metric == "regret" else dict(digits=3)
    return format_interval(c.delta.value, c.delta.ci, sign=True, **style)


def primary_verdict(c: Comparison, p_holm: float | None, mdd: float | None) -> str:
    """A family member in words: a winner only where Holm's adjusted p is below ALPHA; otherwise what the data
    leave open."""
    shown, scale = _shown(c), 100 if c.metric == "regret" else 1
    if p_holm is not None and p_holm < ALPHA and better(c):
        winner = better(c)
        loser = c.b if winner == c.a else c.a
        word = "lower than" if c.metric == "regret" else "above"
        return f"{winner} {word} {loser} on {c.metric}: {shown} ({c.a} minus {c.b}), Holm-adjusted p = {p_holm:.3g}"
    why = "no spread to test" if p_holm is None else f"Holm-adjusted p = {p_holm:.3g}"
    detect = f"; only a true difference of {scale * mdd:.2g}{' pts' if scale == 100 else ''} or more would be " \
             f"found {POWER:.0%} of the time" if mdd is not None else ""
    return (f"{c.a} vs {c.b} on {c.metric}: not distinguishable ({why}): {shown}, every difference in that interval "
            f"is consistent with the data{detect}")


def inference(runs: list[dict], truth: dict[str, float], space_best: float, ks, samples: int, seed: int,
              family: Family) -> dict:
    """Groups (same candidates for estimate and interval), the family's Holm-corrected comparisons, the
    exploratory rest, and the minimum detectable difference per metric, on the candidates the truth knows and
    every run finished or failed (failures ranked last)."""
    by_label: dict[str, list[dict]] = {}
    for run in runs:
        by_label.setdefault(run["label"], []).append(run)
    common = sorted(set(truth).intersection(*(set(r["scores"]) for r in runs)))
    out = {"candidates": len(common), "alpha": ALPHA, "power": POWER, "groups": {}, "comparisons": [],
           "family": {"pairs": [list(p) for p in family.pairs], "metric": family.metric,
                      "declared_by": family.declared_by, "correction": "Holm", "size": len(family.pairs)},
           "detectable": {}}
    if len(common) < 2:
        return out
    arrays = {label: np.array([[r["scores"][c] for c in common] for r in members])
              for label, members in by_label.items()}
    result = compare_groups(np.array([truth[c] for c in common]), arrays, ks, samples, seed, 1 - ALPHA, space_best)
    out["groups"] = {label: {"runs": [r["name"] for r in members], "proxies": len(members),
                             "metrics": {m: e.to_dict() for m, e in result["groups"][label].items()},
                             "per_proxy": result["per_proxy"][label]}
                     for label, members in by_label.items()}
    declared = {frozenset(p): p[0] for p in family.pairs}
    primary = [_oriented(c, declared[frozenset((c.a, c.b))]) for c in result["comparisons"]
               if c.metric == family.metric and frozenset((c.a, c.b)) in declared]
    adjusted = holm([c.p for c in primary])
    m = max(len(primary), 1)
    for c, p_holm in zip(primary, adjusted):
        mdd = minimum_detectable(c.delta.se, c.delta.df, ALPHA / m, POWER)
        out["comparisons"].append({**c.to_dict(), "role": "primary", "p_holm": p_holm, "mdd": mdd,
                                   "supported": p_holm is not None and p_holm < ALPHA,
                                   "verdict": primary_verdict(c, p_holm, mdd)})
    taken = {(c.a, c.b, c.metric) for c in primary} | {(c.b, c.a, c.metric) for c in primary}
    for c in result["comparisons"]:
        if (c.a, c.b, c.metric) not in taken:
            mdd = minimum_detectable(c.delta.se, c.delta.df, ALPHA, POWER)
            out["comparisons"].append({**c.to_dict(), "role": "exploratory", "mdd": mdd, "shown": _shown(c)})
    for metric in metric_names(ks):
        mdds = [c["mdd"] for c in out["comparisons"] if c["metric"] == metric and c["mdd"] is not None]
        designs = sorted({c["delta"]["design"] for c in out["comparisons"] if c["metric"] == metric})
        out["detectable"][metric] = {"median_mdd": float(np.median(mdds)) if mdds else None,
                                     "max_mdd": float(np.max(mdds)) if mdds else None, "designs": designs}
    return out

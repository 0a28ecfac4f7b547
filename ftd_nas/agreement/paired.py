"""Comparisons of groups of proxies (e.g. FTD's and MTT's proxies, each distilled with several seeds): each
group's metrics with an interval, and the difference between two groups with its interval and p-value.

What varies, and so what an interval describes, depends on the design:

- **"proxies"** (every group compared has two or more proxies): the space is the population (a search space is
  enumerated, not sampled) and the truth is taken as measured; what a rerun of the experiment changes is each
  method's proxies. Each proxy's metric over the common candidates is one observation: a group's interval is the
  t interval of their mean, a difference is Welch's t over the two groups' proxies. This answers "is method A
  better than method B on this space"; with two or three proxies a group it is honest and wide.
- **"candidates"** (a group with a single proxy): a method's seed-to-seed spread cannot be estimated from one
  proxy, so the comparison is of these proxies, not their methods, over a population of candidates like this
  space: candidates are resampled with replacement (the same draw for every group, so the difference is paired;
  proxies and the truth stay fixed), the standard error is the bootstrap's and the interval and p-value normal.

Resampling candidates, proxies and truth repeats all at once (what this module did before) counts each proxy's
noise twice and the truth's noise into every group: its intervals over-covered (98-100 % at 95 %) and missed real
differences. tests/agreement/test_paired.py checks both designs hold their level in seeded simulations.
The estimate always lies inside its interval (both are symmetric); correlations are clipped to [-1, 1] and regret
to >= 0, the ranges they can take.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
from scipy import stats

from ftd_nas.agreement.batched import spearman_rows
from ftd_nas.agreement.statistics import HIGHER_IS_BETTER, agreement_metrics, metric_names, refuse_nan

PROXIES, CANDIDATES = "proxies", "candidates"


@dataclass(frozen=True)
class Estimate:
    """A value with its standard error and interval; `df` is the t distribution's degrees of freedom (None:
    normal), `design` says what the interval covers (see the module docstring)."""

    value: float | None
    se: float | None
    df: float | None
    ci: list[float | None]
    level: float
    design: str
    proxies: int

    def p_value(self) -> float | None:
        """Two-sided, against 0; None where it is undefined (no value, or no spread to judge it by)."""
        if self.value is None or not self.se:
            return None
        z = abs(self.value) / self.se
        return float(2 * (stats.t.sf(z, self.df) if self.df is not None else stats.norm.sf(z)))

    def to_dict(self) -> dict:
        return asdict(self)


def critical(level: float, df: float | None) -> float:
    """The two-sided critical value at `level`: Student's t with `df` degrees of freedom, normal for None."""
    p = 0.5 + level / 2
    return float(stats.t.ppf(p, df) if df is not None else stats.norm.ppf(p))


def _limits(metric: str, difference: bool) -> tuple[float, float]:
    if metric == "regret":
        return (-np.inf, np.inf) if difference else (0.0, np.inf)
    return (-2.0, 2.0) if difference else (-1.0, 1.0)


def _estimate(value: float, se: float | None, df: float | None, level: float, design: str, proxies: int,
              limits: tuple[float, float]) -> Estimate:
    if not np.isfinite(value):
        return Estimate(None, None, df, [None, None], level, design, proxies)
    if se is None or not np.isfinite(se):
        return Estimate(float(value), None, df, [None, None], level, design, proxies)
    half = critical(level, df) * se
    ci = [float(max(limits[0], value - half)), float(min(limits[1], value + half))]
    return Estimate(float(value), float(se), df, ci, level, design, proxies)


def per_proxy_metrics(runs: np.ndarray, truth: np.ndarray, ks, space_best: float | None = None,
                      metrics: list[str] | None = None) -> np.ndarray:
    """[..., proxies, metrics] of each proxy's scores against the truth: `runs` is [..., proxies, candidates] and
    `truth` [..., candidates] (leading axes: bootstrap samples). Spearman is computed for all at once; the other
    metrics, only when asked for, one proxy at a time."""
    metrics = metrics or metric_names(ks)
    truth_b = np.broadcast_to(truth[..., None, :], runs.shape)
    out = np.empty(runs.shape[:-1] + (len(metrics),))
    others = [j for j, m in enumerate(metrics) if m != "spearman"]
    if "spearman" in metrics:
        refuse_nan(runs, truth)
        out[..., metrics.index("spearman")] = spearman_rows(runs, truth_b)
    if others:
        for index in np.ndindex(runs.shape[:-1]):
            row = agreement_metrics(runs[index], truth_b[index], ks, space_best=space_best)
            out[index + (others,)] = [row[metrics[j]] for j in others]
    return out


def _candidate_bootstrap(truth: np.ndarray, groups: dict[str, np.ndarray], ks, samples: int, seed: int,
                         space_best: float | None, metrics: list[str]) -> dict[str, np.ndarray]:
    """Per group: [samples, metrics] of its mean over proxies, candidates resampled (one draw shared by all
    groups). Regret stays against the whole space's best, which a resample cannot change."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    draws = rng.integers(0, n, (samples, n))
    best = float(np.max(truth)) if space_best is None else space_best
    out = {}
    for label, runs in groups.items():
        resampled = runs[:, draws].transpose(1, 0, 2)  # [samples, proxies, candidates]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a sample where every proxy is undefined: NaN
            out[label] = np.nanmean(per_proxy_metrics(resampled, truth[draws], ks, best, metrics), axis=1)
    return out


def _mean_se(values: np.ndarray) -> tuple[float, float | None, float | None, int]:
    """Mean of the defined values, its standard error and degrees of freedom, and how many were defined."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return float("nan"), None, None, 0
    if len(finite) < 2:
        return float(finite[0]), None, None, 1
    return float(finite.mean()), float(finite.std(ddof=1) / np.sqrt(len(finite))), float(len(finite) - 1), len(finite)


def _bootstrap_se(values: np.ndarray) -> float | None:
    """The standard error a bootstrap's defined values give; None with fewer than two."""
    finite = values[np.isfinite(values)]
    return float(np.std(finite, ddof=1)) if len(finite) > 1 else None


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float | None, float | None]:
    """Difference of means, its standard error and Welch-Satterthwaite degrees of freedom (None where a group has
    fewer than two defined values)."""
    ma, sa, _, na = _mean_se(a)
    mb, sb, _, nb = _mean_se(b)
    if sa is None or sb is None:
        return ma - mb, None, None
    se2 = sa * sa + sb * sb
    if se2 == 0:
        return ma - mb, 0.0, None
    df = se2 * se2 / (sa ** 4 / (na - 1) + sb ** 4 / (nb - 1))
    return ma - mb, float(np.sqrt(se2)), float(df)


@dataclass(frozen=True)
class Comparison:
    """Group a minus group b on one metric (positive: a higher, which for regret is worse)."""

    a: str
    b: str
    metric: str
    delta: Estimate
    p: float | None

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "metric": self.metric, "delta": self.delta.to_dict(), "p": self.p}


def compare_groups(truth: np.ndarray, groups: dict[str, np.ndarray], ks, samples: int = 1000, seed: int = 0,
                   level: float = 0.95, space_best: float | None = None, metrics: list[str] | None = None) -> dict:
    """Every group's metrics (`Estimate` per metric) and every pair's difference (`Comparison` per metric), on the
    same candidates. `truth` is the truth's score per candidate, `groups[label]` an array [proxies, candidates]
    aligned with it; `space_best` the truth's best over the whole space (default: the best of `truth`); `metrics`
    a subset of `metric_names(ks)` (default all)."""
    names = metrics or metric_names(ks)
    per_proxy = {label: per_proxy_metrics(runs, truth, ks, space_best, names) for label, runs in groups.items()}
    single = any(len(runs) < 2 for runs in groups.values())
    boot = _candidate_bootstrap(truth, groups, ks, samples, seed, space_best, names) if single else {}

    def group(label: str, j: int, metric: str) -> Estimate:
        values = per_proxy[label][:, j]
        if len(values) >= 2:
            mean, se, df, _ = _mean_se(values)
            return _estimate(mean, se, df, level, PROXIES, len(values), _limits(metric, False))
        return _estimate(float(values[0]), _bootstrap_se(boot[label][:, j]), None, level, CANDIDATES, 1,
                         _limits(metric, False))

    def pair(a: str, b: str, j: int, metric: str) -> Comparison:
        if len(groups[a]) >= 2 and len(groups[b]) >= 2:
            delta, se, df = _welch(per_proxy[a][:, j], per_proxy[b][:, j])
            design = PROXIES
        else:
            with np.errstate(invalid="ignore"):
                delta = float(np.nanmean(per_proxy[a][:, j]) - np.nanmean(per_proxy[b][:, j]))
            se, df, design = _bootstrap_se(boot[a][:, j] - boot[b][:, j]), None, CANDIDATES
        estimate = _estimate(delta, se, df, level, design, len(groups[a]) + len(groups[b]), _limits(metric, True))
        return Comparison(a, b, metric, estimate, estimate.p_value())

    return {"groups": {label: {m: group(label, j, m) for j, m in enumerate(names)} for label in groups},
            "comparisons": [pair(a, b, j, m) for a, b in combinations(groups, 2) for j, m in enumerate(names)],
            "per_proxy": {label: {m: per_proxy[label][:, j].tolist() for j, m in enumerate(names)}
                          for label in groups},
            "candidates": len(truth), "samples": samples if single else 0, "level": level}


def better(comparison: Comparison) -> str | None:
    """The group the comparison's sign favours (None at 0 or undefined): higher for correlations, lower regret."""
    value = comparison.delta.value
    if value is None or value == 0:
        return None
    a_higher = value > 0
    return comparison.a if a_higher == HIGHER_IS_BETTER.get(comparison.metric, True) else comparison.b

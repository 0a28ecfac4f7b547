"""From a proxy ranking to a chosen architecture: verify a shortlist on real data and estimate, from a random
sample, how far the proxy's ranking can be trusted and how many unverified candidates could beat the pick, without a
full ground truth (`ftd-nas verify`).

The proxy's top K candidates are trained on the real data (the shortlist), and N more drawn at random,
stratified over the proxy's ranking: the ranking below the shortlist is cut into N strata of equal size and one
candidate is drawn from each, so every part of the ranking is represented. The pick is the verified candidate
with the best real validation accuracy. From the random sample alone (the shortlist is not a random sample):

- the Spearman and Kendall between proxy and real accuracy, with bootstrap percentile intervals corrected for the
  finite population the sample is drawn from (`rank_intervals`, `finite_shrink`). They describe the ranking below
  the shortlist, the population the sample is drawn from; a restricted range usually lowers a correlation, so the
  whole space's is often higher. Measured against that agreement, the plain percentile interval never fell short
  of its level beyond the measurement's own error, so the Fisher-z widening verify used before (which only made
  it wider) is gone; and it over-covers where the sample is a large share of the population, which the
  correction removes (docs/verify.md: the table, the command that repeats it, and the decision);
- an upper bound, with the same confidence, on how many unverified candidates below the shortlist beat the pick
  on real validation accuracy (`unverified_better`; ftd_nas/agreement/bound.py derives it). It rests on the
  sample's draw alone, not on any model of the scores, and "beat" means on the real validation accuracy as one
  real-data training (verify's recipe and repeats) would measure it: training noise, and whether a candidate
  that measures better would also test better, are outside it.

Real-data training is an ordinary `--proxy real` search restricted to the chosen candidates: resumable, shared by
workers, and a candidate an existing real-data run of the same space, data and recipe has trained is not trained
again. A published table imported by `ftd-nas truth` given as the real-data run is looked up instead (`table_rows`):
nothing is trained. `ftd_nas/search/verify_check.py` checks every estimate where a full ground truth exists.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ftd_nas.agreement import (beat_sample_bound, bootstrap_rows, fisher_interval, format_interval, kendall,
                               joined_with_perfect, kendall_rows, percentile_interval, spearman, spearman_rows)
from ftd_nas.checks import check_number, check_seed
from ftd_nas.data import Dataset
from ftd_nas.errors import ConfigError, InputError
from ftd_nas.io import atomic_path, write_json
from ftd_nas.paths import inside
from ftd_nas.records import Part, Record, RecordError, diff_settings, format_diff
from ftd_nas.search.architecture import ArchitectureRecord
from ftd_nas.search.factories import require_trusted
from ftd_nas.search.results import PROXY_SCORE, ByKey, CandidateResult, from_unversioned, ranking_metric, read_record
from ftd_nas.search.runner import SearchConfig, SearchRun, load_run, run_search
from ftd_nas.search.space import SearchSpace
from ftd_nas.search.truth import Truth, load_truth
from ftd_nas.search.truth_record import holds_table


MAX_UNTIL_WIDTH = 2.0  # the widest interval a correlation in [-1, 1] can have
# The intervals of the estimate that were considered, and the one it reports (decided by measurement: docs/verify.md)
INTERVALS = {"percentile": "bootstrap percentile", "widened": "bootstrap percentile, widened to Fisher-z",
             "finite": "bootstrap percentile, finite-population corrected up to half the population"}
INTERVAL = "finite"
STATISTICS = {"spearman": (spearman, spearman_rows), "kendall": (kendall, kendall_rows)}  # value, bootstrap


@dataclass
class VerifyConfig(Part):
    top: int = 5  # K: the proxy's best candidates, verified on real data
    sample: int = 10  # N: further candidates, stratified over the proxy's ranking (per round)
    seed: int = 0
    until_width: float | None = None  # add rounds of N until the interval of rho is narrower than this ...
    budget: int | None = None  # ... or this many real-data candidate-epochs are spent
    level: float = 0.9  # of the bootstrap intervals
    bootstrap: int = 2000

    def __post_init__(self) -> None:
        check_number("--top", self.top, 1, integer=True)
        check_number("--sample", self.sample, 0, integer=True)
        check_seed("--sample-seed", self.seed)
        check_number("level", self.level, 0.5, 0.999)
        if self.until_width is not None:
            check_number("--until-width", self.until_width, 0, MAX_UNTIL_WIDTH, low_open=True)
            if self.budget is None:
                raise ConfigError("--until-width adds candidates in rounds: give a --budget of candidate-epochs too")
        if self.budget is not None:
            check_number("--budget", self.budget, 1, integer=True)


@dataclass(frozen=True)
class VerifyPick(ByKey, Part):
    """The verified candidate with the best real validation accuracy (what pick.json describes)."""

    candidate: str
    params: dict
    val_acc: float  # real data, mean over its repeats
    test_acc: float
    num_params: int | None
    proxy_rank: int  # 1 = the proxy's best
    proxy_score: float
    in_shortlist: bool


@dataclass(frozen=True)
class VerifiedCandidate(ByKey, Part):
    candidate: str
    role: str  # shortlist | sample
    proxy_rank: int
    proxy_score: float
    real_val_acc: float
    real_test_acc: float
    repeats: int


@dataclass(frozen=True)
class VerifyCost(ByKey, Part):
    candidates: int
    candidate_epochs: int  # real-data epochs spent, over every repeat
    seconds: float
    full_truth_candidate_epochs: int  # what a full ground truth of the space would take
    full_truth_seconds_projected: float
    fraction: float  # of the space verified


@dataclass(frozen=True)
class UnverifiedBetter(ByKey, Part):
    """With confidence `level` over the sample's draw, at most `count` of the `unverified` candidates below the
    shortlist beat the pick on real validation accuracy (`unverified_better_bound`)."""

    count: int
    level: float
    unverified: int  # candidates below the shortlist that verify did not train
    sampled: int  # sampled candidates with a real accuracy: the bound's evidence


def _verify_v2_to_v3(body: dict) -> dict:
    """Version 2 had no bound on unverified candidates (it cannot be rebuilt from the file: the strata are not
    kept) and widened its intervals to Fisher-z's, which its estimate now says."""
    return {**body, "unverified_better": None, "estimate": {**body["estimate"], "interval": "widened"}}


def _verify_v3_to_v4(body: dict) -> dict:
    """Version 3 named the verified search only by the path it was given (`search_run`), which says nothing of
    which search it was once the working folder changes."""
    return {**body, "search_study": None}


@dataclass(frozen=True)
class VerifySummary(ByKey, Record):
    """verify.json: the pick, the estimates from the sample, the cost, and what was asked. Format version 1 is the
    file before it had format keys (the same content; `ended_by` only where rounds ended early); version 3 added
    `unverified_better` and the estimate's `interval` (which of `INTERVALS` it reports)."""

    FORMAT = "ftd-nas-verify"
    VERSION = 4
    UPGRADES = {1: from_unversioned, 2: _verify_v2_to_v3, 3: _verify_v3_to_v4}

    pick: VerifyPick
    sample_beat_shortlist: list[str]  # sampled candidates better on real data than the whole shortlist
    estimate: dict  # Spearman and Kendall of the sample with intervals, and what they resolve (see `estimate`)
    verified: list[VerifiedCandidate]
    cost: VerifyCost
    rounds: int = 1
    ended_by: str | None = None  # what ended the rounds of --until-width (None without it)
    search_run: str = ""
    real_run: str = ""
    config: VerifyConfig = field(default_factory=VerifyConfig)
    seconds: float = 0.0
    unverified_better: UnverifiedBetter | None = None  # None in files before format version 3
    # which search was verified: its study name and identity settings (run.json's); None before version 4
    search_study: dict | None = None


def read_verify(path: str | Path) -> VerifySummary:
    return read_record(VerifySummary, path)


def proxy_ranking(run: SearchRun) -> list[tuple[str, dict, float]]:
    """(candidate id, parameters, proxy score) of every finished candidate, best first (ties by id); the score is
    the validation accuracy, or a training-free run's score (`ranking_metric`)."""
    axes = list(run.record.identity.space["axes"])
    metric = ranking_metric(run.record.identity.source)
    rows = [r for r in run.rows if r.score(metric) is not None]
    ranked = sorted(rows, key=lambda r: (-r.score(metric), r.candidate))
    return [(r.candidate, {a: r.params[a] for a in axes if r.params.get(a) is not None}, r.score(metric))
            for r in ranked]


def strata_sizes(size: int, n: int) -> list[int]:
    """The sizes of n strata of (nearly) equal size over `size` ranked candidates, best first: rounding makes them
    differ by one where n does not divide `size` (the bound on unverified candidates takes the sizes as they are)."""
    return np.diff(np.linspace(0, size, n + 1).round().astype(int)).tolist()


def stratified_sample(ranked: list[str], n: int, seed: int, exclude: set[str] = frozenset()) -> list[str]:
    """One candidate from each of n strata of equal size over the ranking (those in `exclude` left out)."""
    pool = [c for c in ranked if c not in exclude]
    if n > len(pool):
        raise ConfigError(f"cannot sample {n} candidates: only {len(pool)} are left outside the shortlist; lower "
                          "--sample or --top")
    rng = np.random.default_rng(seed)
    edges = np.cumsum([0] + strata_sizes(len(pool), n))
    return [pool[int(rng.integers(lo, hi))] for lo, hi in zip(edges[:-1], edges[1:])]


def rank_intervals(proxy: np.ndarray, real: np.ndarray, level: float = 0.9, samples: int = 2000, seed: int = 0,
                   population: int | None = None) -> dict:
    """Spearman and Kendall of a sample, each with every interval of `INTERVALS`: {statistic: {"value": r,
    "percentile": [lo, hi], "widened": [lo, hi], "finite": [lo, hi]}} ([None, None] below 3 candidates).

    "percentile" is the bootstrap's, or where every resample gives the same value, "widened". `population`: how
    many candidates the sample was drawn from, without replacement (those below the shortlist); "finite" is the
    percentile interval pulled towards the estimate by `finite_shrink`, and without `population` the percentile
    interval. `estimate` reports one interval; the coverage check (verify_check.py) measures them all.
    """
    rng = np.random.default_rng(seed)
    n = len(proxy)
    shrink = finite_shrink(n, population)
    out = {}
    for name, (stat, rows) in STATISTICS.items():
        # one stream of draws for both statistics: Kendall's resamples follow Spearman's
        boot = bootstrap_rows(rows, proxy, real, samples, rng) if n >= 3 else np.array([])
        value = stat(proxy, real) if n >= 2 else float("nan")
        percentile, fisher = percentile_interval(boot, level), fisher_interval(value, n, name, level)
        widened = percentile if fisher is None or percentile[0] is None else \
            [min(percentile[0], fisher[0]), max(percentile[1], fisher[1])]
        if percentile[0] is not None and math.isclose(abs(value), 1, abs_tol=1e-12):
            # perfect agreement; Fisher's z is infinite there (its clamped interval far too narrow)
            percentile = joined_with_perfect(percentile, n, name, level, int(np.sign(value)))
        elif percentile[0] is not None and percentile[0] == percentile[1]:
            percentile = widened  # every resample gave the same value: Fisher-z's interval stands in, joined
        finite = percentile if percentile[0] is None or not math.isfinite(value) else \
            [value - shrink * (value - percentile[0]), value + shrink * (percentile[1] - value)]
        out[name] = {"value": value, "percentile": percentile, "widened": widened, "finite": finite}
    return out


def finite_shrink(n: int, population: int | None) -> float:
    """How far the finite-population correction pulls each end of a bootstrap interval of a sample of n towards
    the estimate: sqrt((M - n) / (M - 1)) for a sample of at most half the M candidates it was drawn from.

    The bootstrap resamples as if from an endless population, so it over-covers where the sample is a large share
    of a finite one. Beyond half, strata of one or two candidates are drawn for certain or nearly, and the sample's
    statistic misses the population's by a design bias that no scaling of the interval covers, so the interval is
    left as it is; a sample of the whole population has no doubt left (0). Both sides measured: docs/verify.md."""
    if not population or population <= 1:
        return 1.0
    if n >= population:
        return 0.0
    return math.sqrt((population - n) / (population - 1)) if 2 * n <= population else 1.0


def estimate(proxy: np.ndarray, real: np.ndarray, level: float = 0.9, samples: int = 2000, seed: int = 0,
             population: int | None = None) -> dict:
    """Spearman and Kendall of a random sample of the `population`, with `INTERVAL` intervals, and what the sample
    can resolve."""
    n = len(proxy)
    out = {"n": n, "level": level, "interval": INTERVAL}
    for name, found in rank_intervals(proxy, real, level, samples, seed, population).items():
        out[name], out[f"{name}_ci"] = found["value"], found[INTERVAL]
    lo, hi = out["spearman_ci"]
    if lo is None:
        out["resolves"] = f"{n} sampled candidates are too few to estimate the ranking's agreement (3 at least)"
        return out
    half = (hi - lo) / 2
    informative = "the proxy's ranking agrees with the real one (the interval excludes 0)" if lo > 0 else (
        "the real ranking runs against the proxy's (the interval excludes 0 from below)" if hi < 0 else
        "not whether the proxy's ranking is better than chance (the interval includes 0)")
    out["width"] = hi - lo
    out["resolves"] = (f"With {n} sampled candidates the {level:.0%} interval of Spearman rho spans ±{half:.2f}: the "
                       f"sample shows {informative}; it cannot tell apart proxies whose rho differs by less than "
                       f"about {max(2 * half, 0.01):.2f}")
    if n < 10:
        out["resolves"] += " (and with fewer than 10 candidates the bootstrap interval itself is unreliable)"
    return out


def unverified_better_bound(ranked: int, top: int, sample: list[str], measured: set[str], per_round: int,
                            level: float) -> UnverifiedBetter:
    """The bound on unverified candidates below the shortlist that beat the pick, from `sample` as verify drew it:
    `per_round` candidates a round, one per stratum (`strata_sizes`) of what earlier rounds left below the
    shortlist of `top` among `ranked` candidates; `measured` are those with a real accuracy.

    The pick is at least as good as every measured sampled candidate, so what beats the pick beats them all;
    `beat_sample_bound` bounds that. A stratum whose draw has no real accuracy (its training failed or has not
    finished) is out of the draw's reach, and so is such a draw in every later round (it left the pool).
    """
    below = ranked - top
    rounds, unmeasured = [], 0
    for r in range(len(sample) // per_round if per_round else 0):
        draws = sample[r * per_round:(r + 1) * per_round]
        sizes = strata_sizes(below - r * per_round, per_round)
        hidden = unmeasured + sum(s for s, c in zip(sizes, draws) if c not in measured)
        rounds.append(([s for s, c in zip(sizes, draws) if c in measured], hidden))
        unmeasured += sum(c not in measured for c in draws)
    unverified = below - len(sample)
    return UnverifiedBetter(count=min(beat_sample_bound(below, rounds, level), unverified), level=level,
                            unverified=unverified, sampled=sum(c in measured for c in sample))


def summarise(ranking: list[tuple[str, dict, float]], shortlist: list[str], sample: list[str],
              real_rows: list[CandidateResult], config: VerifyConfig, epochs: int, repeats: int,
              space_size: int) -> VerifySummary:
    """The pick, the estimate from the sample, and the cost, from the real-data rows of the verified candidates
    (one round's: `run_verify` adds the rounds and what was asked)."""
    real = {r.candidate: r for r in real_rows if r.complete}
    proxy = {cid: score for cid, _, score in ranking}
    rank = {cid: i + 1 for i, (cid, _, _) in enumerate(ranking)}
    verified = [c for c in shortlist + sample if c in real]
    if not verified:
        raise ConfigError("no verified candidate finished its real-data training yet; run verify again to resume")
    pick = max(verified, key=lambda c: (real[c].val_acc, -rank[c]))
    best_short = max((real[c].val_acc for c in shortlist if c in real), default=float("-inf"))
    beaten_by = [c for c in sample if c in real and real[c].val_acc > best_short]
    sampled = [c for c in sample if c in real]
    est = estimate(np.array([proxy[c] for c in sampled]), np.array([real[c].val_acc for c in sampled]),
                   config.level, config.bootstrap, config.seed, population=len(ranking) - len(shortlist))
    bound = unverified_better_bound(len(ranking), len(shortlist), sample, set(sampled), config.sample, config.level)
    trainings = sum(real[c].repeats for c in verified)
    seconds = sum(real[c].seconds or 0.0 for c in verified)
    per_candidate = seconds / len(verified)
    return VerifySummary(
        pick=VerifyPick(candidate=pick, params=next(p for c, p, _ in ranking if c == pick),
                        val_acc=real[pick].val_acc, test_acc=real[pick].test_acc, num_params=real[pick].num_params,
                        proxy_rank=rank[pick], proxy_score=proxy[pick], in_shortlist=pick in shortlist),
        sample_beat_shortlist=beaten_by,
        estimate=est,
        verified=[VerifiedCandidate(candidate=c, role="shortlist" if c in shortlist else "sample", proxy_rank=rank[c],
                                    proxy_score=proxy[c], real_val_acc=real[c].val_acc,
                                    real_test_acc=real[c].test_acc, repeats=real[c].repeats)
                  for c in shortlist + sample if c in real],
        cost=VerifyCost(candidates=len(verified), candidate_epochs=trainings * epochs, seconds=seconds,
                        full_truth_candidate_epochs=space_size * epochs * repeats,
                        full_truth_seconds_projected=per_candidate * space_size,
                        fraction=len(verified) / space_size),
        config=config,
        unverified_better=bound)


def table_rows(truth: Truth, candidates: list[str]) -> list[CandidateResult]:
    """A published table's values for the candidates verify asks about, as its real-data rows. The table has one
    accuracy per candidate and no split of its own, so that value stands for both the validation accuracy that
    chooses the pick and the test accuracy reported (`TABLE_NOTE` says so in verify.md); nothing is trained, so no
    repeats, time or parameter count."""
    wanted, metric = set(candidates), truth.metrics[0]
    return [replace(r, val_acc=r.score(metric), test_acc=r.score(metric)) for r in truth.rows if r.candidate in wanted]


TABLE_NOTE = ("**Real accuracies** looked up, not trained: {description}. Its one value per candidate stands for both "
              "the validation accuracy that chooses the pick and the test accuracy reported, so the pick's accuracy is "
              "not a held-out measurement.")


def _parameters(count: int | None) -> str:
    return f"{count:,} parameters" if count is not None else "parameters not counted"


def markdown(summary: VerifySummary, run_dir: str, percent: bool = True, truth_note: str | None = None) -> str:
    """verify.md; `percent`: the proxy's scores are accuracies (False: a training-free score, shown as it is);
    `truth_note`: what the real accuracies are when they were looked up in a table rather than trained."""
    pick, est, cost = summary.pick, summary.estimate, summary.cost
    shown = (lambda v: f"{100 * v:.1f}") if percent else (lambda v: f"{v:.4g}")
    lines = [f"# Verified on real data: the proxy ranking of {run_dir}", "",
             *([truth_note, ""] if truth_note else []),
             f"**Pick:** {pick.candidate}: real validation accuracy {100 * pick.val_acc:.1f} %, test accuracy "
             f"{100 * pick.test_acc:.1f} % (measured once), {_parameters(pick.num_params)}; rank "
             f"{pick.proxy_rank} in the proxy's ranking ({'on' if pick.in_shortlist else 'off'} the shortlist).",
             ""]
    if summary.sample_beat_shortlist:
        beaten = ", ".join(summary.sample_beat_shortlist)
        lines += [f"A randomly sampled candidate beat the whole shortlist ({beaten}): evidence that the proxy misses "
                  "good architectures.", ""]
    else:
        lines += ["No randomly sampled candidate beat the shortlist.", ""]
    ci, kci = est["spearman_ci"], est["kendall_ci"]
    if ci[0] is not None:
        lines += [f"**Agreement below the shortlist, estimated from the {est['n']} sampled candidates:** Spearman "
                  f"{format_interval(est['spearman'], ci)}, Kendall {format_interval(est['kendall'], kci)} "
                  f"({est['level']:.0%} {INTERVALS[est['interval']]} intervals). {est['resolves']}. "
                  "The sample is drawn from the ranking below the shortlist, so this describes the proxy there; "
                  "the whole space's agreement can differ (a restricted range usually lowers a correlation).", ""]
    else:
        lines += [f"**Agreement below the shortlist:** {est['resolves']}.", ""]
    if summary.unverified_better is not None:
        lines += [bound_sentence(summary.unverified_better), ""]
    lines += [f"**Cost:** {cost.candidates} candidates, {cost.candidate_epochs:,} real-data candidate-epochs, "
              f"{cost.seconds / 60:.1f} min; a full ground truth would take {cost.full_truth_candidate_epochs:,} "
              f"candidate-epochs, about {cost.full_truth_seconds_projected / 60:.0f} min "
              f"({cost.fraction:.0%} of the space verified).", ""]
    if summary.ended_by is not None:
        lines += [f"Rounds: {summary.rounds}; ended by {summary.ended_by}.", ""]
    head = ["candidate", "role", "proxy rank", "proxy acc" if percent else "proxy score", "real val acc",
            "real test acc"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * 6]
    lines += [f"| {v.candidate} | {v.role} | {v.proxy_rank} | {shown(v.proxy_score)} | "
              f"{100 * v.real_val_acc:.1f} | {100 * v.real_test_acc:.1f} |" for v in summary.verified]
    return "\n".join(lines) + "\n"


def bound_sentence(bound: UnverifiedBetter) -> str:
    """The bound on unverified candidates in words, with what it does not cover."""
    most = "none" if bound.count == 0 else f"at most {bound.count}"
    return (f"**Unverified candidates that beat the pick:** {most} of the {bound.unverified} unverified candidates "
            f"below the shortlist beat it on real validation accuracy ({bound.level:.0%} confidence over the draw of "
            f"the {bound.sampled} sampled candidates, whatever the proxy's agreement). \"Beat\" means on the "
            "validation accuracy one real-data training of verify's recipe would measure; training noise, and how "
            "such a candidate would test, are outside the bound.")


def within_budget(spent_epochs: int, round_epochs: int, budget: int | None) -> bool:
    return budget is None or spent_epochs + round_epochs <= budget


def interval_width(summary: VerifySummary) -> float:
    """The width of the estimate's interval; infinite below 5 sampled candidates, where no interval is sound."""
    lo, hi = summary.estimate["spearman_ci"]
    return math.inf if lo is None or summary.estimate["n"] < 5 else hi - lo


def run_verify(search_dir: str, config: VerifyConfig, real: SearchConfig, out: str | Path, dataset: Dataset,
               overwrite: bool = False, trust_factory: bool = False,
               search_storage: str | None = None) -> VerifySummary:
    """Verify the proxy search in `search_dir` on the real data (`real`: a `--proxy real` search configuration
    whose `out` is the real-data run to train in, or reuse); writes verify.json, verify.md, a figure and pick.json
    into `out`. The space is the one the run records; a user's factory it names is imported only with
    `trust_factory` (the user trusts the run folder: --trust-factory). `search_storage`: the search's study where
    it is not the run folder's own file (a database server, a journal elsewhere), as `load_run`'s `storage`."""
    out = Path(out)
    run = load_run(search_dir, search_storage)
    identity = run.record.identity
    space = SearchSpace.from_dict(identity.space, f"the space recorded in {str(Path(search_dir) / 'run.json')!r}",
                                  trusted=trust_factory)
    require_trusted(space)
    diff = diff_settings(identity.data.settings(), dataset.fingerprint().settings())
    if diff:
        raise ConfigError(f"{search_dir!r} scored its candidates on other data than {dataset.name!r} given here "
                          f"({format_diff(diff)}; run vs given): verify on the data the search used")
    ranking = proxy_ranking(run)
    if not ranking:
        raise ConfigError(f"{search_dir!r} has no finished candidates: finish the search first")
    if config.top > len(ranking):
        raise ConfigError(f"--top {config.top} is more than the {len(ranking)} finished candidates of {search_dir!r}")
    ranked = [cid for cid, _, _ in ranking]
    shortlist = ranked[:config.top]
    table = load_truth(real.out, option="--real-run") if holds_table(real.out) else None
    if table is not None:
        table.judge(identity, search_dir)
    study = {"study_name": run.record.study_name, "identity": identity.settings()}
    if inside(out, "verify.json", "the verification").exists() and not overwrite:
        _check_same_question(out, search_dir, study, config)
    sample, rounds, ended_by = [], 0, None
    started = time.perf_counter()
    while True:
        rounds += 1
        new = stratified_sample(ranked, config.sample, config.seed + rounds - 1, set(shortlist) | set(sample)) \
            if config.sample else []
        planned = shortlist + sample + new
        epochs_per = real.recipe.epochs * real.repeats
        if config.budget is not None and len(planned) * epochs_per > config.budget:
            if rounds == 1:
                raise ConfigError(f"--budget {config.budget:,} candidate-epochs does not cover the shortlist and the "
                                  f"first sample ({len(planned)} candidates x {epochs_per} epochs)")
            ended_by = f"the budget of {config.budget:,} candidate-epochs"
            break
        sample += new
        rows = table_rows(table, shortlist + sample) if table is not None else \
            run_search(replace(real, only=shortlist + sample), dataset=dataset, space=space).rows
        summary = summarise(ranking, shortlist, sample, rows, config, real.recipe.epochs, real.repeats,
                            run.record.space_size or len(space))
        if config.until_width is None:
            break
        if interval_width(summary) < config.until_width:
            ended_by = f"an interval narrower than {config.until_width}"
            break
        if not config.sample or len(ranked) - len(shortlist) - len(sample) < config.sample:
            ended_by = "the space: no candidate left to sample"
            break
    summary = replace(summary, rounds=rounds, ended_by=ended_by, search_run=search_dir, real_run=real.out,
                      seconds=time.perf_counter() - started, search_study=study)
    write_verify(out, summary, run, dataset, search_dir,
                 TABLE_NOTE.format(description=table.description) if table is not None else None)
    return summary


def _check_same_question(out: Path, search_dir: str, study: dict, config: VerifyConfig) -> None:
    """Refuse to replace the verification of another search (or sample seed) in `out`. The search is recognised
    by its study and identity, not by the path it was given: `./run` is `run`, and `run` from another folder is
    another search. A file too damaged to tell is refused too."""
    try:
        previous = read_verify(out / "verify.json")
    except RecordError as exc:
        raise InputError(f"{exc}; it is not a verification this ftd-nas can read: pass --overwrite to replace it, "
                         "or choose another --out") from None
    stored = previous.search_study
    if stored is not None:
        same = stored.get("study_name") == study["study_name"] and isinstance(stored.get("identity"), dict) \
            and not diff_settings(stored["identity"], study["identity"])
    else:  # a file before format version 4 knows the search by the path it was given
        same = Path(previous.search_run).resolve() == Path(search_dir).resolve()
    if not same or previous.config.seed != config.seed:
        what = "another search" if not same else f"another --sample-seed ({previous.config.seed})"
        raise ConfigError(f"{str(out)!r} holds the verification of {what} ({previous.search_run!r}); pass "
                          "--overwrite to replace it, or choose another --out")


def write_verify(out: Path, summary: VerifySummary, run: SearchRun, dataset: Dataset, search_dir: str,
                 truth_note: str | None = None) -> None:
    from ftd_nas.figures.save import new_figure, save_figure

    out.mkdir(parents=True, exist_ok=True)
    pick = summary.pick
    identity = run.record.identity
    percent = ranking_metric(identity.source) != PROXY_SCORE  # a training-free score is not an accuracy
    px = 100 if percent else 1
    record = ArchitectureRecord(model=identity.space.get("model", "convnet"), params=pick.params,
                                channels=dataset.channels, image_size=tuple(dataset.image_size),
                                num_classes=dataset.num_classes, candidate=pick.candidate,
                                data=dataset.fingerprint(),
                                source={"search_run": Path(search_dir).name, "proxy_rank": pick.proxy_rank,
                                        "real_val_acc": pick.val_acc})
    write_json(out / "pick.json", record.to_dict())
    write_json(out / "verify.json", summary.to_dict())
    with atomic_path(out / "verify.md") as tmp:
        tmp.write_text(markdown(summary, search_dir, percent, truth_note))
    fig, ax = new_figure(figsize=(5, 4.5))
    for role, marker in (("shortlist", "s"), ("sample", "o")):
        points = [v for v in summary.verified if v.role == role]
        ax.scatter([px * v.proxy_score for v in points], [100 * v.real_val_acc for v in points], marker=marker,
                   label=f"{role} ({len(points)})", alpha=0.8)
    ax.scatter([px * pick.proxy_score], [100 * pick.val_acc], s=120, facecolor="none", edgecolor="red",
               label="pick")
    est = summary.estimate
    rho = f"estimated ρ {est['spearman']:.2f}" if est["spearman_ci"][0] is not None else "too few samples for ρ"
    ax.set(xlabel="proxy accuracy (%)" if percent else f"{identity.source['scorer']} score",
           ylabel="real validation accuracy (%)", title=f"verified candidates: {rho}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, out / "verified")

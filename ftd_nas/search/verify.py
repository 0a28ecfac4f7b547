"""From a proxy ranking to a chosen architecture: verify a shortlist on real data and estimate, from a random
sample, how far the proxy's ranking can be trusted, without a full ground truth (`ftd-nas verify`).

The proxy's top K candidates are trained on the real data (the shortlist), and N more drawn at random,
stratified over the proxy's ranking: the ranking below the shortlist is cut into N strata of equal size and one
candidate is drawn from each, so every part of the ranking is represented. The pick is the verified candidate
with the best real validation accuracy. The Spearman and Kendall between proxy and real accuracy are estimated
from the random sample alone (the shortlist is not a random sample), with bootstrap intervals: they describe the
ranking below the shortlist; a restricted range usually lowers a correlation, so the whole space's is often higher.
Real-data training is an ordinary `--proxy real` search restricted to the chosen candidates: resumable, shared by
workers, and a candidate an existing real-data run of the same space, data and recipe has trained is not trained
again. A published table imported by `ftd-nas truth` given as the real-data run is looked up instead (`table_rows`):
nothing is trained.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ftd_nas.agreement import bootstrap, fisher_interval, format_interval, kendall, percentile_interval, spearman
from ftd_nas.checks import check_number, check_seed
from ftd_nas.data import Dataset
from ftd_nas.errors import ConfigError
from ftd_nas.io import atomic_path, write_json
from ftd_nas.records import Part, Record, diff_settings, format_diff
from ftd_nas.search.architecture import ArchitectureRecord
from ftd_nas.search.results import PROXY_SCORE, ByKey, CandidateResult, from_unversioned, ranking_metric, read_record
from ftd_nas.search.runner import SearchConfig, SearchRun, load_run, run_search
from ftd_nas.search.space import SearchSpace
from ftd_nas.search.truth import Truth, load_truth
from ftd_nas.search.truth_record import holds_table


MAX_UNTIL_WIDTH = 2.0  # the widest interval a correlation in [-1, 1] can have


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
class VerifySummary(ByKey, Record):
    """verify.json: the pick, the estimate from the sample, the cost, and what was asked. Format version 1 is the
    file before it had format keys (the same content; `ended_by` only where rounds ended early)."""

    FORMAT = "ftd-nas-verify"
    UPGRADES = {1: from_unversioned}

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


def stratified_sample(ranked: list[str], n: int, seed: int, exclude: set[str] = frozenset()) -> list[str]:
    """One candidate from each of n strata of equal size over the ranking (those in `exclude` left out)."""
    pool = [c for c in ranked if c not in exclude]
    if n > len(pool):
        raise ConfigError(f"cannot sample {n} candidates: only {len(pool)} are left outside the shortlist; lower "
                          "--sample or --top")
    rng = np.random.default_rng(seed)
    edges = np.linspace(0, len(pool), n + 1).round().astype(int)
    return [pool[int(rng.integers(lo, hi))] for lo, hi in zip(edges[:-1], edges[1:])]


def estimate(proxy: np.ndarray, real: np.ndarray, level: float = 0.9, samples: int = 2000, seed: int = 0) -> dict:
    """Spearman and Kendall of a random sample, with intervals, and what the sample can resolve.

    The interval is the bootstrap percentile interval, widened to the Fisher-z interval (Bonett-Wright standard
    errors) where that is wider: a percentile bootstrap of a rank correlation is too narrow for small samples,
    and the coverage check (scripts/verify_coverage.py) holds the combination to its level.
    """
    rng = np.random.default_rng(seed)
    n = len(proxy)
    out = {"n": n, "level": level}
    for name, stat in (("spearman", spearman), ("kendall", kendall)):
        # one stream of draws for both statistics: Kendall's resamples follow Spearman's
        boot = bootstrap(stat, proxy, real, samples, rng) if n >= 3 else np.array([])
        out[name] = stat(proxy, real) if n >= 2 else float("nan")
        interval, fisher = percentile_interval(boot, level), fisher_interval(out[name], n, name, level)
        if fisher is not None and interval[0] is not None:
            interval = [min(interval[0], fisher[0]), max(interval[1], fisher[1])]
        out[f"{name}_ci"] = interval
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
                   config.level, config.bootstrap, config.seed)
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
        config=config)


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
                  f"({est['level']:.0%} bootstrap intervals). {est['resolves']}. "
                  "The sample is drawn from the ranking below the shortlist, so this describes the proxy there; "
                  "the whole space's agreement can differ (a restricted range usually lowers a correlation).", ""]
    else:
        lines += [f"**Agreement below the shortlist:** {est['resolves']}.", ""]
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


def within_budget(spent_epochs: int, round_epochs: int, budget: int | None) -> bool:
    return budget is None or spent_epochs + round_epochs <= budget


def interval_width(summary: VerifySummary) -> float:
    """The width of the estimate's interval; infinite below 5 sampled candidates, where no interval is sound."""
    lo, hi = summary.estimate["spearman_ci"]
    return math.inf if lo is None or summary.estimate["n"] < 5 else hi - lo


def run_verify(search_dir: str, config: VerifyConfig, real: SearchConfig, out: str | Path, dataset: Dataset,
               overwrite: bool = False) -> VerifySummary:
    """Verify the proxy search in `search_dir` on the real data (`real`: a `--proxy real` search configuration
    whose `out` is the real-data run to train in, or reuse); writes verify.json, verify.md, a figure and pick.json
    into `out`."""
    out = Path(out)
    run = load_run(search_dir)
    identity = run.record.identity
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
    space = SearchSpace.from_dict(identity.space, f"the space of {search_dir}")
    table = load_truth(real.out, option="--real-run") if holds_table(real.out) else None
    if table is not None:
        table.judge(identity, search_dir)
    if (out / "verify.json").exists() and not overwrite:
        _check_same_question(out, search_dir, config)
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
                      seconds=time.perf_counter() - started)
    write_verify(out, summary, run, dataset, search_dir,
                 TABLE_NOTE.format(description=table.description) if table is not None else None)
    return summary


def _check_same_question(out: Path, search_dir: str, config: VerifyConfig) -> None:
    previous = read_verify(out / "verify.json")
    if previous.search_run != search_dir or previous.config.seed != config.seed:
        raise ConfigError(f"{str(out)!r} holds the verification of another search or seed; pass --overwrite or "
                          "choose another --out")


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



def coverage_check(proxy: SearchRun, truth: SearchRun, sample: int, draws: int = 200, tops=(3, 5, 10),
                   level: float = 0.9, bootstrap: int = 500, seed: int = 0) -> dict:
    """Check the estimator where the answer is known: a proxy run and a full ground truth of the same space.

    For each of `draws` seeds, sample `sample` candidates as verify does (stratified over the proxy's ranking,
    below a shortlist of the largest top K) and see whether the interval of the estimated Spearman covers the
    whole-space Spearman; and for each K, the regret of verify's pick (the best by the truth's validation accuracy
    among the shortlist and the sample) against the space's best by test accuracy.
    """
    real = {r.candidate: r for r in truth.rows if r.complete}
    ranking = [entry for entry in proxy_ranking(proxy) if entry[0] in real]
    if len(ranking) < max(tops) + sample:
        raise ConfigError(f"{len(ranking)} candidates in both runs: too few for a shortlist of {max(tops)} and a "
                          f"sample of {sample}")
    ranked = [cid for cid, _, _ in ranking]
    scores = np.array([score for _, _, score in ranking])
    truth_val = np.array([real[c].val_acc for c in ranked])
    truth_test = np.array([real[c].test_acc for c in ranked])
    full = spearman(scores, truth_val)
    covered, widths, estimates = 0, [], []
    regrets = {k: [] for k in tops}
    for d in range(draws):
        chosen = stratified_sample(ranked, sample, seed + d, set(ranked[:max(tops)]))
        idx = [ranked.index(c) for c in chosen]
        est = estimate(scores[idx], truth_val[idx], level, bootstrap, seed + d)
        lo, hi = est["spearman_ci"]
        covered += lo is not None and lo <= full <= hi
        widths.append(hi - lo if lo is not None else float("nan"))
        estimates.append(est["spearman"])
        for k in tops:
            verified = list(range(k)) + idx
            pick = max(verified, key=lambda i: truth_val[i])
            regrets[k].append(float(truth_test.max() - truth_test[pick]))
    return {"candidates": len(ranked), "sample": sample, "draws": draws, "level": level, "full_spearman": full,
            "coverage": covered / draws, "mean_estimate": float(np.nanmean(estimates)),
            "mean_width": float(np.nanmean(widths)),
            "regret": {str(k): {"mean": float(np.mean(v)), "max": float(np.max(v))} for k, v in regrets.items()}}

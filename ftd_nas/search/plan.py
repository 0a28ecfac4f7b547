"""`ftd-nas search ... --plan`: how long the whole search will take, before it starts.

A few candidates spread over the space's sizes (by multiply-adds, smallest and largest included) are trained
for a few epochs on the chosen device, after one untimed epoch of the smallest has warmed the device up (the
first network built, the first kernels, cuDNN's choices: on an H200 the first sample carried 4.8 s of CUDA start,
and `--plan` projected 60 minutes for a 24-minute search). Their steady epoch time (the first epoch is left out
when there are more) is fitted as a + b * multiply-adds by Theil-Sen's line and predicted for every candidate; a
candidate also pays once for building and scoring, the sample's median. Medians, so that one slow sample cannot
drag the projection. The projection for W workers schedules the units (candidate
repeats) longest first onto the least-loaded worker, each worker on a device of its own. Nothing is written:
the run folder and its study are not opened.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import asdict, dataclass, field, replace

import torch

from ftd_nas.checks import check_number
from ftd_nas.data import Dataset
from ftd_nas.errors import ConfigError
from ftd_nas.models.cost import training_memory_estimate
from ftd_nas.search.factories import build_candidate, cost
from ftd_nas.search.recipe import parse_source
from ftd_nas.search.results import ZC
from ftd_nas.search.runner import SearchConfig, fit_candidate
from ftd_nas.search.setup import SearchSetup
from ftd_nas.search.space import candidate_id

log = logging.getLogger(__name__)


@dataclass
class SampleTiming:
    candidate: str
    macs: int
    num_params: int
    epoch_seconds: float  # steady time of one training epoch
    fixed_seconds: float  # building the network and scoring it on validation and test
    memory_bytes: int  # peak device memory (CUDA), or an estimate of weights, gradients, momentum and activations
    memory_measured: bool


@dataclass
class Plan:
    device: str
    candidates: int
    units: int  # candidate repeats (or budgeted trials) to train
    epochs: int
    sample: list[SampleTiming]
    unit_seconds: list[float]  # predicted time of every unit
    seconds_by_workers: dict[int, float]  # projected wall time of the search
    plan_seconds: float  # what making this plan took
    fit: dict = field(default_factory=dict)  # epoch seconds = intercept + slope * multiply-adds

    @property
    def total_seconds(self) -> float:
        return sum(self.unit_seconds)

    def to_dict(self) -> dict:
        return {**asdict(self), "total_seconds": self.total_seconds}


def spread_sample(costs: list[tuple[dict, dict]], size: int) -> list[tuple[dict, dict]]:
    """`size` candidates evenly spaced over the space sorted by multiply-adds (smallest and largest included)."""
    ranked = sorted(costs, key=lambda pc: (pc[1]["macs"], pc[1]["num_params"], candidate_id(pc[0])))
    if size >= len(ranked):
        return ranked
    if size == 1:
        return [ranked[len(ranked) // 2]]
    picks = sorted({round(i * (len(ranked) - 1) / (size - 1)) for i in range(size)})
    return [ranked[i] for i in picks]


def fit_line(x: list[float], y: list[float]) -> tuple[float, float]:
    """Theil-Sen's intercept and slope: the slope the median of the pairwise slopes, kept >= 0 (bigger networks
    never train faster), the intercept the median of y - slope * x. Unlike least squares, one slow sample (a
    device's first kernels, a neighbour's burst of work) cannot drag it."""
    slopes = [(y[j] - y[i]) / (x[j] - x[i]) for i in range(len(x)) for j in range(i + 1, len(x)) if x[j] != x[i]]
    slope = max(0.0, statistics.median(slopes)) if slopes else 0.0
    return statistics.median(b - slope * a for a, b in zip(x, y)), slope


def makespan(unit_seconds: list[float], workers: int) -> float:
    """Wall time of the units on `workers` parallel workers, longest first onto the least-loaded one."""
    loads = [0.0] * workers
    for seconds in sorted(unit_seconds, reverse=True):
        loads[loads.index(min(loads))] += seconds
    return max(loads)


def _time_candidate(params: dict, setup: SearchSetup, epochs: int) -> SampleTiming:
    """Train one candidate as the search would (`fit_candidate`), for `epochs` epochs, and time it."""
    device, shape = setup.device, setup.shape
    recipe = replace(setup.config.recipe, epochs=epochs)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    fit = fit_candidate(params, setup.source, setup.dataset, recipe, device, space=setup.space)
    steady = fit.epoch_seconds[1:] or fit.epoch_seconds  # the first epoch warms caches and kernels up
    measured = device.type == "cuda"
    memory = torch.cuda.max_memory_allocated(device) if measured else \
        training_memory_estimate(fit.net, (shape[0], *shape[1]), recipe.batch_size)
    measured_cost = cost(fit.net, shape)
    return SampleTiming(setup.space.candidate_id(params), measured_cost["macs"], measured_cost["num_params"],
                        sum(steady) / len(steady), fit.fixed_seconds, int(memory), measured)


def plan_search(config: SearchConfig, sample: int = 6, epochs: int = 3, workers: tuple[int, ...] = (1, 2, 4, 8, 16),
                dataset: Dataset | None = None) -> Plan:
    """Project the search `config` describes; trains `sample` candidates for `epochs` epochs, writes nothing."""
    check_number("--plan-sample", sample, 1, integer=True)
    check_number("--plan-epochs", epochs, 1, integer=True)
    if parse_source(config.proxy)[0] == ZC:
        raise ConfigError(f"--plan projects training time, and --proxy {config.proxy} trains nothing: a candidate "
                          "takes about a second to score (scripts/bench_zero_cost.py measures it); run the search")
    started = time.perf_counter()
    setup = SearchSetup.prepare(config, dataset)  # the search's own setup, without its run folder and study
    candidates = setup.candidates()
    if not candidates:
        raise ConfigError(f"space {setup.space.name!r} has no candidate to plan for")
    costs = [(p, cost(build_candidate(setup.space, p, setup.shape), setup.shape)) for p in candidates]
    picked = spread_sample(costs, sample)
    _time_candidate(picked[0][0], setup, 1)  # untimed: warms the device up (first build, kernels, cuDNN's choices)
    timings = []
    for params, _ in picked:
        timings.append(_time_candidate(params, setup, epochs))
        log.info("plan: %s trains an epoch in %.2f s", timings[-1].candidate, timings[-1].epoch_seconds)
    plan = project(timings, [c for _, c in costs], config, workers)
    plan.device, plan.plan_seconds = str(setup.device), time.perf_counter() - started
    return plan


def project(timings: list[SampleTiming], costs: list[dict], config: SearchConfig,
            workers: tuple[int, ...] = (1, 2, 4, 8, 16)) -> Plan:
    """The whole search's time from the sampled timings: every candidate (of `costs`) predicted by its
    multiply-adds, times the recipe's epochs, per unit of work; then scheduled onto each worker count."""
    intercept, slope = fit_line([t.macs for t in timings], [t.epoch_seconds for t in timings])
    fixed = statistics.median(t.fixed_seconds for t in timings)
    per_candidate = [fixed + config.recipe.epochs * (intercept + slope * c["macs"]) for c in costs]
    if config.sampler == "grid":
        unit_seconds = per_candidate * config.repeats
    else:  # a budgeted search trains n_trials candidates the sampler picks: plan for the space's average
        unit_seconds = [sum(per_candidate) / len(per_candidate)] * config.n_trials
    wall = {w: makespan(unit_seconds, w) for w in workers}
    return Plan(config.device, len(costs), len(unit_seconds), config.recipe.epochs, timings, unit_seconds, wall,
                0.0, {"intercept_s": intercept, "slope_s_per_mac": slope})


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def format_plan(plan: Plan) -> str:
    lines = [f"plan on {plan.device}: {plan.units} units ({plan.candidates} candidates) x {plan.epochs} epochs; "
             f"sampled {len(plan.sample)} candidates in {plan.plan_seconds:.0f} s",
             f"  {'candidate':<40} {'MACs':>12} {'s/epoch':>8} {'memory':>10}"]
    for t in plan.sample:
        memory = _size(t.memory_bytes) + ("" if t.memory_measured else " (est.)")
        lines.append(f"  {t.candidate:<40} {t.macs:>12,} {t.epoch_seconds:>8.3f} {memory:>10}")
    lines.append(f"  total compute {duration(plan.total_seconds)}; wall time by number of workers (one device each):")
    lines += [f"    {w:>4} worker{'s' if w > 1 else ' '}: {duration(t):>9}" for w, t in plan.seconds_by_workers.items()]
    biggest = max(plan.sample, key=lambda t: t.memory_bytes)
    lines.append(f"  memory per candidate up to {_size(biggest.memory_bytes)} ({biggest.candidate}"
                 f"{', measured' if biggest.memory_measured else ', estimated: measured on CUDA only'})")
    return "\n".join(lines)

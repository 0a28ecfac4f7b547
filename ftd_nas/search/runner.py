"""`ftd-nas search`: train every candidate of a space on a proxy (or the real data) and score it on real validation,
or score it untrained with a training-free proxy (`zc:NAME`, `scoring.py`).

A run directory holds run.json (a `SearchRunRecord`: study name, storage location relative to the folder,
identity, environment), the SQLite study (unless --storage points elsewhere) and results.csv. Re-running
resumes; several workers on the same storage share the work, each candidate trained exactly once. A run
folder's settings are fixed by its first finished candidate.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import logging
import os
import socket
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import optuna
import torch
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from ftd_nas import interrupts
from ftd_nas.checks import check_number
from ftd_nas.data import Dataset
from ftd_nas.data.normalization import AUTO, check_choice
from ftd_nas.errors import ConfigError, FtdNasError, NonFiniteError, exhausted, one_line
from ftd_nas.fused import FusedTrainer, check_fuse, choose
from ftd_nas.io import atomic_path, write_json
from ftd_nas.progress import progress
from ftd_nas.queue import (DUPLICATE, FAIL_REASON, INTERRUPTED, MAX_CRASHES, REPEAT, UNIT_KEY, close_storage,
                           crash_counts, earlier_live_trial, finished_and_running, heartbeat, in_run_folder, is_finished,
                           make_storage, one_transaction, open_storage_readonly, pop_waiting, quiet_optuna, redact_url,
                           remaining, storage_location, storage_url, unit_of)
from ftd_nas.records import RUNTIME_ONLY, Part, diff_settings, format_diff
from ftd_nas.runtime import describe_threads, environment_info
from ftd_nas.search.factories import admissible, build_candidate, cost, over_limits
from ftd_nas.search.recipe import SearchRecipe, TrainingSource, parse_source, source_scorer
from ftd_nas.search.record import SearchIdentity, SearchRunRecord
from ftd_nas.search.results import (COMPLETE, FAIL, PROXY_SCORE, PRUNED, ZC, CandidateResult, SearchSummary,
                                    ranking_metric)
from ftd_nas.search.scoring import score_candidate
from ftd_nas.search.setup import SearchSetup
from ftd_nas.search.space import SearchSpace, parse_space
from ftd_nas.search.study import enqueue_missing, open_study
from ftd_nas.search.truth_record import TRUTH_FILE, holds_table
from ftd_nas.train import Trainer, TrainResult, evaluate

log = logging.getLogger(__name__)
CONVNET_SPACE = parse_space("axes: {depth: [3], width: [128], act: [relu], norm: [instancenorm], pool: [avgpool]}",
                            "<the ConvNet family>")  # what a candidate is built as when no space is given

WORKER = "worker"  # user attr: host:pid:device of the worker that trained a trial
REPEAT_SEED_STRIDE = 100_003  # seeds of repeats 0, 1, 2... of --seed s: s, s + stride, s + 2 * stride

SAMPLERS = {"grid": None, "tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
# multi-fidelity pruning: each candidate reports its validation accuracy as it trains (see `train_candidate`)
PRUNERS = {"none": lambda epochs: None,
           "median": lambda epochs: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
           "hyperband": lambda epochs: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs,
                                                                      reduction_factor=3)}
EXCLUDED = "excluded"  # user attr of a sampled candidate outside the space's constraints (not trained)
EPOCHS_TRAINED = "epochs_trained"  # user attr: epochs a trial trained (fewer when pruned)
FUSED = "fused"  # user attr: how many repeats were trained as one computation with this one (absent: alone)


@dataclass
class SearchConfig(Part):
    space: str = "convnet"
    proxy: str = "real"  # real | random:K | zc:NAME | path to a proxy file
    out: str = "runs/search"
    dataset: str | None = None  # the real data (always given by the caller; checked against a proxy file's)
    data_root: str = "data"
    zca: bool = False  # preprocessing of real / random:K / zc:NAME (a proxy file fixes its own)
    normalize: str = AUTO  # the same: data/normalization.py's choice
    val_fraction: float = 0.1
    split_seed: int = 0
    storage: str | None = None  # optuna storage URL; default sqlite:///OUT/study.db
    study_name: str | None = None
    sampler: str = "grid"  # grid = every candidate once; tpe | random = budgeted search with --n-trials
    n_trials: int | None = None
    recipe: SearchRecipe = field(default_factory=SearchRecipe)
    repeats: int = 1  # trainings per candidate (seeds derived from recipe.seed); not part of the identity
    fuse: str = "auto"  # train a candidate's repeats as one computation (ftd_nas/fused.py): auto | on | off
    pruner: str = "none"  # none | median | hyperband: stop unpromising candidates early (their scores are partial)
    only: list[str] | None = None  # train just these candidate ids of the space (verify's shortlist and sample)
    report_every: int | None = None  # epochs between validation reports to the pruner; None: a tenth of the epochs
    device: str = "auto"
    heartbeat: int = 60  # seconds between a running trial's heartbeats
    grace: int = 180  # seconds without a heartbeat after which a trial counts as dead and is retried
    wait: bool = True  # when the queue is empty, wait for other workers' running candidates
    progress: bool | None = field(default=None, metadata=RUNTIME_ONLY)

    def __post_init__(self) -> None:
        kind, _ = parse_source(self.proxy)
        if self.zca and kind == "proxy":
            raise ConfigError("--zca applies to --proxy real / random:K / zc:NAME; a proxy file fixes its own "
                              "preprocessing (drop --zca)")
        check_choice(self.normalize)
        if self.normalize != AUTO and kind == "proxy":
            raise ConfigError("--normalize applies to --proxy real / random:K / zc:NAME; a proxy file fixes its "
                              "own preprocessing (drop --normalize)")
        if kind == ZC:
            self._check_training_free()
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {self.sampler!r}; choose {', '.join(SAMPLERS)}")
        if self.sampler != "grid" and self.n_trials is None:
            raise ConfigError(f"--sampler {self.sampler} runs a budgeted search: give --n-trials N")
        if self.n_trials is not None:
            check_number("--n-trials", self.n_trials, 1, integer=True)
        check_number("--repeats", self.repeats, 1, integer=True)
        check_fuse(self.fuse)
        if self.fuse == "on" and (self.repeats < 2 or self.pruner != "none" or kind == ZC):
            raise ConfigError("--fuse on trains the repeats of a candidate as one computation: it needs --repeats "
                              "2 or more, no --pruner (a pruner stops each repeat on its own) and a trained source")
        if self.pruner not in PRUNERS:
            raise ConfigError(f"unknown pruner {self.pruner!r}; choose {', '.join(PRUNERS)}")
        if self.report_every is not None:
            check_number("--report-every", self.report_every, 1, integer=True)
        if self.repeats > 1 and self.sampler != "grid":
            raise ConfigError("--repeats trains every candidate of the space several times: use it with the grid "
                              "sampler (the default), not with a budgeted --sampler")
        check_number("--heartbeat", self.heartbeat, 1, integer=True)
        check_number("--grace", self.grace, 1, integer=True)
        if self.grace <= self.heartbeat:
            raise ConfigError(f"--grace ({self.grace} s) must exceed --heartbeat ({self.heartbeat} s), or live "
                              "workers would be declared dead")

    def _check_training_free(self) -> None:
        """A zc: search trains nothing: the recipe's training options (all but --seed) and the pruner, which
        reads validation accuracy while a candidate trains, make no sense with it and are refused."""
        default = SearchRecipe()
        changed = [f"--{f.name.replace('_', '-')}" for f in fields(SearchRecipe)
                   if f.name != "seed" and getattr(self.recipe, f.name) != getattr(default, f.name)]
        if self.pruner != "none":
            changed.append("--pruner")
        if self.report_every is not None:
            changed.append("--report-every")
        if changed:
            scorer = source_scorer(self.proxy).describe()
            raise ConfigError(f"--proxy {self.proxy} scores untrained candidates ({scorer}): {', '.join(changed)} "
                              f"would be ignored; drop {'it' if len(changed) == 1 else 'them'} (--seed sets the "
                              "initialisation and the minibatch)")


def check_storage_kept(out: Path, previous: SearchRunRecord | None, url: str | None, named: bool = True,
                       remedy: str = "drop --storage to resume it where it is, or choose another --out") -> None:
    """Refuse workers for the run folder `out` on another study storage (`url`; None: the default study.db) than
    the one its run.json records, while that one holds finished or running candidates: they would all be trained
    again in a new study, and the folder's results would be orphaned. A storage outside the folder is not looked
    into: it is refused only when the user named no storage at all (`named`)."""
    if previous is None:
        return
    recorded, target = previous.storage, storage_location(url, out)
    if target == recorded:
        return
    if not in_run_folder(recorded):
        if named:  # the user's choice (a journal or server moved since, say): theirs to make
            return
        raise ConfigError(f"{str(out)!r} holds a search whose study lives in {recorded!r} (run.json), outside the "
                          f"folder: give --storage with that location (and a server's password) to go on with it, "
                          "or choose another --out")
    try:
        study = optuna.load_study(study_name=previous.study_name,
                                  storage=open_storage_readonly(storage_url(recorded, out)))
        finished, running = finished_and_running(study)
    except (FtdNasError, KeyError):  # its study is gone: nothing finished to keep
        return
    if finished or running:
        raise ConfigError(f"{str(out)!r} holds a search whose study is in {recorded!r} ({finished} candidates "
                          f"finished, {running} running): workers on {target!r} would start a new study and train "
                          f"them all again; {remedy}")


def repeat_seed(seed: int, repeat: int) -> int:
    """The seed of a candidate's repeat: repeat 0 uses --seed itself, so one repeat is the run without repeats."""
    return seed + REPEAT_SEED_STRIDE * repeat


def worker_name(device: torch.device | str) -> str:
    """host:pid:device of this worker, then its SLURM job and array task (and requeue count) under SLURM."""
    name = f"{socket.gethostname()}:{os.getpid()}:{device}"
    env = os.environ
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        name += f":slurm-{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    elif env.get("SLURM_JOB_ID"):
        name += f":slurm-{env['SLURM_JOB_ID']}"
    if env.get("SLURM_RESTART_COUNT", "0") not in ("", "0"):
        name += f"-requeue{env['SLURM_RESTART_COUNT']}"
    return name


@dataclass
class CandidateFit:
    """One trained repeat of a candidate and what its training took (the plan times candidates with this)."""

    net: torch.nn.Module
    lr: float
    epochs: int
    result: TrainResult
    epoch_seconds: list[float]  # of every training epoch
    fixed_seconds: float  # building the network and scoring it on validation and test
    val_acc: float
    test_acc: float


def fit_candidate(params: dict, source: TrainingSource, dataset: Dataset, recipe: SearchRecipe,
                  device: torch.device, repeat: int = 0, space: SearchSpace | None = None,
                  report: Callable[[int, float], None] | None = None, report_every: int | None = None) -> CandidateFit:
    """Train one repeat of a candidate on the source and score it on the real validation and test splits.

    With `report`, the validation accuracy is passed to it every `report_every` epochs (a pruner's evidence);
    it may raise optuna.TrialPruned to stop the candidate.
    """
    started = time.perf_counter()
    shape = (dataset.channels, dataset.image_size, dataset.num_classes)
    recipe = replace(recipe, seed=repeat_seed(recipe.seed, repeat))  # initialisation, data order, augmentation
    net = build_candidate(space or CONVNET_SPACE, params, shape, seed=recipe.seed, device=device)
    lr = recipe.lr if recipe.lr is not None else source.default_lr
    config = recipe.candidate_config(lr)
    every = report_every or config.sync_every

    def on_epoch_end(trainer: Trainer, record: dict) -> None:
        if report is not None and trainer.epoch % every == 0 and trainer.epoch < config.epochs:
            report(trainer.epoch, evaluate(net, dataset.val)[1])

    trainer = Trainer(net, source.split, config)
    built = time.perf_counter()
    result = trainer.fit(on_epoch_end)
    trained = time.perf_counter()
    val_acc, test_acc = evaluate(net, dataset.val)[1], evaluate(net, dataset.test)[1]
    if torch.device(device).type == "cuda":  # the scoring's kernels finish inside the timed span
        torch.cuda.synchronize(device)
    return CandidateFit(net, lr, config.epochs, result, list(trainer.epoch_seconds),
                        (built - started) + (time.perf_counter() - trained), val_acc, test_acc)


def train_candidate(params: dict, source: TrainingSource, dataset: Dataset, recipe: SearchRecipe,
                    device: torch.device, repeat: int = 0, space: SearchSpace | None = None,
                    report: Callable[[int, float], None] | None = None, report_every: int | None = None) -> dict:
    """`fit_candidate`'s scores, training time and cost: what a trial records."""
    fit = fit_candidate(params, source, dataset, recipe, device, repeat, space, report, report_every)
    return _trial_record(fit.net, fit.result, fit.lr, fit.epochs, dataset, fit.val_acc, fit.test_acc)


def _trial_record(net: torch.nn.Module, result: TrainResult, lr: float, epochs: int, dataset: Dataset,
                  val_acc: float, test_acc: float) -> dict:
    """What a trial records of one trained repeat: its scores, training time, cost and recipe."""
    shape = (dataset.channels, dataset.image_size, dataset.num_classes)
    return {"val_acc": val_acc, "test_acc": test_acc, "train_acc": result.train_acc, "seconds": result.seconds,
            **cost(net, shape), "lr": lr, EPOCHS_TRAINED: epochs}


def train_repeats(params: dict, source: TrainingSource, dataset: Dataset, recipe: SearchRecipe,
                  device: torch.device, repeats: list[int], space: SearchSpace | None = None,
                  fuse: str = "auto") -> list[dict]:
    """Several repeats of one candidate, each what `train_candidate` would record for it: trained as one fused
    computation where `fused.choose` says so (`on`: wherever the network can be fused), else one by one."""
    shape = (dataset.channels, dataset.image_size, dataset.num_classes)
    seeds = [repeat_seed(recipe.seed, r) for r in repeats]
    nets = [build_candidate(space or CONVNET_SPACE, params, shape, seed=s, device=device) for s in seeds]
    lr = recipe.lr if recipe.lr is not None else source.default_lr
    configs = [replace(recipe, seed=s).candidate_config(lr) for s in seeds]
    data = [source.split] * len(nets)
    if not choose(fuse, nets, configs, data, strict=False):
        return [train_candidate(params, source, dataset, recipe, device, r, space) for r in repeats]
    trained = FusedTrainer(nets, data, configs).fit()
    return [{**_trial_record(net, result, lr, config.epochs, dataset, evaluate(net, dataset.val)[1],
                             evaluate(net, dataset.test)[1]), FUSED: len(nets)}
            for net, config, result in zip(nets, configs, trained)]


def _candidate_failure(exc: BaseException) -> str | None:
    """The reason a candidate failed on its own (diverged, cannot be built, exhausted the memory: the
    torch.OutOfMemoryError or the CPU allocator's RuntimeError); None for an interruption or crash of the worker,
    whose trial is failed without a reason so that the next run re-queues it."""
    if isinstance(exc, Exception) and exhausted(exc) == "memory":
        return "out of memory"
    return str(exc) if isinstance(exc, (NonFiniteError, ConfigError)) else None


def _file_sha256(path: str) -> str:
    """A file's hash as format-v1 studies named their proxy (first 16 hex digits)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _set_attrs(trial: optuna.Trial, attrs: dict) -> None:
    """Set the trial's user attributes, each its own key as ever (what status, report and verify read), skipping
    those it holds already (a queued unit's key and repeat): every write costs a database round trip."""
    held = trial.user_attrs
    for key, value in attrs.items():
        if key not in held or held[key] != value:
            trial.set_user_attr(key, value)


class Search:
    def __init__(self, config: SearchConfig, dataset: Dataset | None = None, space: SearchSpace | None = None):
        self.config = config
        setup = SearchSetup.prepare(config, dataset, space)  # shared with the plan (`plan.py`)
        self.space, self.device, self.dataset, self.source = setup.space, setup.device, setup.dataset, setup.source
        self.out = Path(config.out)
        self.identity = SearchIdentity(space=self.space.to_dict(), source=self.source.identity,
                                       data=self.dataset.fingerprint(), recipe=config.recipe)
        self.shape = setup.shape
        # the space for this data: exclusions and parameter / multiply-add limits applied (the grid's queue)
        self.candidates = setup.candidates() if config.sampler == "grid" else None
        if self.candidates is None and all(over_limits(setup.space, p, setup.shape) for p in setup.space.candidates()):
            setup.refuse_empty()  # a budgeted search would sample only excluded candidates and end as "finished"
        self.out.mkdir(parents=True, exist_ok=True)
        previous = self._check_run_folder()
        url = config.storage
        if url is None and previous is not None and in_run_folder(previous.storage):  # e.g. its own journal file
            url = storage_url(previous.storage, self.out)
        check_storage_kept(self.out, previous, url, named=config.storage is not None)
        self.storage_url = url
        self.storage = make_storage(url, self.out, config.heartbeat, config.grace)
        same_run = previous is not None and not diff_settings(previous.identity.settings(), self.identity.settings())
        self.study_name = config.study_name or (previous.study_name if same_run else
                                                f"{self.space.name}:{self.source.label}")
        sampler_cls = SAMPLERS[config.sampler]
        sampler = sampler_cls(seed=config.recipe.seed) if sampler_cls else None
        legacy = (lambda: _file_sha256(config.proxy)) if self.source.kind == "proxy" else None
        pruner = PRUNERS[config.pruner](config.recipe.epochs)
        self.study = open_study(self.storage, self.study_name, self.identity, sampler, legacy, pruner)

    def _check_run_folder(self) -> SearchRunRecord | None:
        """The folder's earlier run, if any; refused when it holds finished candidates of other settings, or a
        truth imported from a table (its truth.json and a search's run.json would describe one folder twice)."""
        if holds_table(self.out):
            raise ConfigError(f"{str(self.out)!r} holds a ground truth imported from a table ({TRUTH_FILE}); a "
                              "search there would mix its run into it: use another --out")
        if not (self.out / "run.json").exists():
            return None
        previous = SearchRunRecord.read(self.out)
        diff = diff_settings(previous.identity.settings(), self.identity.settings())
        if diff:
            try:
                url = self.config.storage or storage_url(previous.storage, self.out)
                study = optuna.load_study(study_name=previous.study_name, storage=open_storage_readonly(url))
                finished, running = finished_and_running(study)
            except (FtdNasError, KeyError):  # its study is gone or elsewhere: nothing finished to protect here
                finished = running = 0
            if finished or running:
                raise ConfigError(f"{str(self.out)!r} holds a search with other settings ({finished} candidates "
                                  f"finished, {running} running; {format_diff(diff)}; stored vs requested); use "
                                  "another --out")
        return previous

    @property
    def space_size(self) -> int:
        """Candidates in the space for this data (after exclusions and limits; the grid's count)."""
        if self.candidates is not None and self.config.only is None:
            return len(self.candidates)
        return len(admissible(self.space, self.shape)) if self.config.only is not None else len(self.space)

    # ------------------------------------------------------------------ one trial
    def _run_trial(self, trial: optuna.Trial) -> tuple[str, str]:
        params, cid, repeat, done = self._prepare(trial)
        return (cid, done) if done else (cid, self._train_one(trial, params, repeat))

    def _prepare(self, trial: optuna.Trial) -> tuple[dict, str, int, str | None]:
        """A claimed trial's candidate, its repeat and who trains it, recorded; the trial is finished at once (the
        status returned) when it duplicates a live one or lies outside the space's constraints."""
        with one_transaction(self.study):  # the candidate's params and who trains it: one commit
            params = self.space.suggest(trial)
            cid = self.space.candidate_id(params)
            repeat = int(trial.user_attrs.get(REPEAT, 0))  # set when the unit was queued; budgeted samplers: 0
            _set_attrs(trial, {UNIT_KEY: cid, REPEAT: repeat, WORKER: worker_name(self.device)})
        earlier = earlier_live_trial(self.study, trial.number, (cid, repeat))
        if earlier is not None:
            if earlier.state == TrialState.COMPLETE:  # budgeted samplers may propose a finished candidate
                self._tell(trial, earlier.value, attrs={DUPLICATE: earlier.number})
            else:
                self._tell(trial, state=TrialState.PRUNED, attrs={DUPLICATE: earlier.number})
            return params, cid, repeat, "duplicate"
        outside = self.space.excluded(params) or over_limits(self.space, params, self.shape)
        if outside is not None:  # a sampler proposed a candidate the space's constraints leave out
            self._tell(trial, state=TrialState.PRUNED, attrs={EXCLUDED: outside})
            return params, cid, repeat, "excluded"
        return params, cid, repeat, None

    def _train_one(self, trial: optuna.Trial, params: dict, repeat: int) -> str:
        """Train (or score) one prepared trial and record its outcome; returns its status."""

        def report(epoch: int, val_acc: float) -> None:
            trial.report(val_acc, epoch)
            if trial.should_prune():
                trial.set_user_attr(EPOCHS_TRAINED, epoch)
                raise optuna.TrialPruned(f"pruned at epoch {epoch} (validation accuracy {val_acc:.3f})")

        try:
            with heartbeat(self.study, trial):
                # a stop asked for since the claim: the trial is failed as interrupted below, so re-queued
                interrupts.check()
                if self.source.kind == ZC:
                    result = score_candidate(params, self.source, self.dataset, self.space,
                                             repeat_seed(self.config.recipe.seed, repeat), self.device)
                else:
                    result = train_candidate(params, self.source, self.dataset, self.config.recipe, self.device,
                                             repeat, self.space, report if self.config.pruner != "none" else None,
                                             self.config.report_every)
        except optuna.TrialPruned:
            return "pruned" if self._tell(trial, state=TrialState.PRUNED) else "lost"
        except BaseException as exc:
            reason = _candidate_failure(exc)
            if reason:  # the candidate's own failure, with its reason
                told = self._tell(trial, state=TrialState.FAIL, attrs={FAIL_REASON: reason})
                return "failed" if told else "lost"
            # an interruption is not counted as a crash of this candidate
            told = self._tell(trial, state=TrialState.FAIL,
                              attrs={INTERRUPTED: True} if isinstance(exc, KeyboardInterrupt) else {})
            if not told and isinstance(exc, UpdateFinishedTrialError):  # a pruner's report on the dead trial
                return "lost"
            raise
        return self._finish(trial, result)

    def _finish(self, trial: optuna.Trial, result: dict) -> str:
        value = result[ranking_metric(self.identity.source)]  # what a budgeted sampler maximises
        return "trained" if self._tell(trial, value, attrs=result) else "lost"

    def _fusing(self) -> bool:
        """Whether this worker claims a candidate's repeats together (their training is then fused where
        `fused.choose` says so, else run one after another)."""
        cfg = self.config
        return (cfg.fuse != "off" and cfg.repeats > 1 and cfg.pruner == "none" and self.source.kind != ZC
                and (cfg.fuse == "on" or torch.device(self.device).type == "cuda"))

    def _run_repeats(self, trial: optuna.Trial) -> tuple[str, list[str]]:
        """A claimed trial and every other waiting repeat of its candidate, trained as one computation."""
        params, cid, repeat, done = self._prepare(trial)
        if done:
            return cid, [done]
        group, statuses = [(trial, repeat)], []
        while len(group) < self.config.repeats and (other := pop_waiting(self.study, cid)) is not None:
            _, _, other_repeat, other_done = self._prepare(other)
            if other_done:
                statuses.append(other_done)
            else:
                group.append((other, other_repeat))
        if len(group) == 1:
            return cid, statuses + [self._train_one(trial, params, repeat)]
        try:
            with contextlib.ExitStack() as beats:
                for t, _ in group:
                    beats.enter_context(heartbeat(self.study, t))
                interrupts.check()
                results = train_repeats(params, self.source, self.dataset, self.config.recipe, self.device,
                                        [r for _, r in group], self.space, self.config.fuse)
        except BaseException as exc:
            if _candidate_failure(exc):  # one repeat diverged, say: train each alone, each with its own outcome
                log.info("the fused repeats of %s failed (%s); training them one by one", cid, one_line(exc))
                return cid, statuses + [self._train_one(t, params, r) for t, r in group]
            for t, _ in group:
                self._tell(t, state=TrialState.FAIL,
                           attrs={INTERRUPTED: True} if isinstance(exc, KeyboardInterrupt) else {})
            raise
        return cid, statuses + [self._finish(t, result) for (t, _), result in zip(group, results)]

    def _tell(self, trial: optuna.Trial, value: float | None = None, state: TrialState | None = None,
              attrs: dict | None = None) -> bool:
        """Set the trial's attributes and finish it; False when another worker has already declared it dead
        (its heartbeats stopped reaching the storage for --grace seconds): its candidate is being retried there,
        so this worker drops its result instead of crashing on the finished trial."""
        try:
            with one_transaction(self.study):  # the result and the trial's end: one commit, recorded together
                _set_attrs(trial, attrs or {})
                self.study.tell(trial, value, state=state)
            return True
        except (UpdateFinishedTrialError, ValueError):
            if not is_finished(self.study, trial):
                raise
        log.warning("trial %d (%s) was declared dead by another worker while this one trained it (no heartbeat "
                    "reached the storage for --grace = %d s; raise --grace if the storage or machine is slow): its "
                    "result is dropped, the candidate's retry counts", trial.number,
                    trial.user_attrs.get(UNIT_KEY), self.config.grace)
        return False

    # ------------------------------------------------------------------ the worker loop
    def run(self) -> SearchSummary:
        cfg = self.config
        started = time.perf_counter()
        log.info("worker %s joins study %r (%s) with %s", worker_name(self.device), self.study_name,
                 storage_location(self.storage_url, self.out), describe_threads())
        write_json(self.out / "run.json", SearchRunRecord(
            study_name=self.study_name, storage=storage_location(self.storage_url, self.out), identity=self.identity,
            sampler=cfg.sampler, n_trials=cfg.n_trials, repeats=cfg.repeats, train_images=self.source.images,
            space_size=self.space_size, pruner=cfg.pruner,
            proxy_seconds=self.source.creation_seconds,
            proxy_file=cfg.proxy if self.source.kind == "proxy" else None,
            environment=environment_info(self.device), created=time.strftime("%Y-%m-%dT%H:%M:%S%z")).to_dict())
        counts = {"trained": 0, "failed": 0, "duplicate": 0, "pruned": 0, "excluded": 0, "lost": 0}
        if cfg.sampler == "grid":
            queued = enqueue_missing(self.study, self.space, self.candidates, cfg.repeats)
            waiting, running = remaining(self.study)
            fusing = self._fusing()
            bar = progress(range(waiting), desc=f"search {self.space.name}", enabled=cfg.progress)
            if waiting == 0 and running == 0:
                log.info("the space is finished: every candidate of study %r is done", self.study_name)
            elif waiting == 0:
                log.info("no candidate left to start; %d still running in other workers%s", running,
                         "" if cfg.wait else " (not waiting for them: --no-wait)")
            while True:
                # A stop asked for (SIGTERM, see ftd_nas/interrupts.py) is honoured here, with no trial of this
                # worker running, or inside `_run_trial`'s try, which fails the running trial as interrupted; never
                # between a claim and that try, nor while a finished result is being recorded.
                interrupts.check()
                trial = pop_waiting(self.study)
                if trial is None:
                    waiting, running = remaining(self.study)
                    if running == 0 or not cfg.wait:
                        break
                    # Others are still training: wait, so that a candidate whose worker died (no heartbeat for
                    # `grace` seconds) is failed, re-queued and trained here.
                    bar.set_postfix(waiting_for=running)
                    interrupts.sleep(min(cfg.heartbeat, 5))
                    enqueue_missing(self.study, self.space, self.candidates, cfg.repeats)
                    continue
                if fusing:
                    cid, statuses = self._run_repeats(trial)
                else:
                    cid, status = self._run_trial(trial)
                    statuses = [status]
                for status in statuses:
                    counts[status] += 1
                bar.update(len(statuses))
                bar.set_postfix(last=cid)
            bar.close()
        else:
            queued = 0
            for _ in progress(range(cfg.n_trials), desc=f"search {self.space.name} ({cfg.sampler})",
                              enabled=cfg.progress):
                interrupts.check()  # as in the grid's loop: before a trial is asked for, never after
                with quiet_optuna():
                    trial = self.study.ask()
                counts[self._run_trial(trial)[1]] += 1
        rows = collect_results(self.study)
        close_storage(self.storage)  # this worker is done: its commits go into study.db itself
        write_results_csv(self.out / "results.csv", rows, list(self.space.axes))
        return SearchSummary(study=self.study_name, queued=queued, **counts, candidates=self.space_size,
                             repeats=cfg.repeats, seconds=time.perf_counter() - started, rows=rows)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _std(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return (sum((v - m) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def collect_results(study: optuna.Study) -> list[CandidateResult]:
    """One row per candidate: the mean of its finished repeats (their values and spread kept), or its failure,
    or its pruning. Duplicates and candidates outside the space are left out; COMPLETE once one repeat is."""
    units: dict[tuple[str, int], optuna.trial.FrozenTrial] = {}
    trials = study.get_trials(deepcopy=False)
    for t in trials:
        unit = unit_of(t)
        if unit[0] is None or DUPLICATE in t.user_attrs or EXCLUDED in t.user_attrs:
            continue
        done = t.state in (TrialState.COMPLETE, TrialState.PRUNED) \
            or (t.state == TrialState.FAIL and FAIL_REASON in t.user_attrs)
        if done and not (unit in units and units[unit].state == TrialState.COMPLETE):
            units[unit] = t
    crashes = crash_counts(trials)
    for t in trials:  # units given up on after repeated worker deaths
        if unit_of(t)[0] is not None and unit_of(t) not in units and crashes[unit_of(t)] >= MAX_CRASHES:
            units[unit_of(t)] = t
    by_candidate: dict[str, list[tuple[int, optuna.trial.FrozenTrial]]] = {}
    for (cid, repeat), t in sorted(units.items()):
        by_candidate.setdefault(cid, []).append((repeat, t))
    rows = []
    for cid, repeats in sorted(by_candidate.items()):
        done = [(r, t) for r, t in repeats if t.state == TrialState.COMPLETE]
        failed = [t for _, t in repeats if t.state == TrialState.FAIL]
        pruned = [t for _, t in repeats if t.state == TrialState.PRUNED]
        first = (done or [(None, (failed or pruned)[0])])[0][1]
        values = {key: [t.user_attrs[key] for _, t in done if t.user_attrs.get(key) is not None]
                  for key in ("val_acc", "test_acc", "train_acc", "seconds", PROXY_SCORE)}
        reason = failed[0].user_attrs.get(FAIL_REASON) if failed else None
        if failed and reason is None:
            reason = f"its worker died {MAX_CRASHES} times while training it"
        if pruned and not done and not failed:
            reason = f"pruned after {pruned[0].user_attrs.get(EPOCHS_TRAINED, '?')} epochs"
        state = COMPLETE if done else (FAIL if failed else PRUNED)  # TrialState's names, as results.csv shows
        rows.append(CandidateResult(
            candidate=cid, params=dict(first.params), state=state, trial=first.number,
            val_acc=_mean(values["val_acc"]), test_acc=_mean(values["test_acc"]),
            train_acc=_mean(values["train_acc"]), seconds=sum(values["seconds"]) if done else None,
            num_params=first.user_attrs.get("num_params"), macs=first.user_attrs.get("macs"),
            epochs_trained=sum(t.user_attrs.get(EPOCHS_TRAINED, 0) for _, t in repeats), fail_reason=reason,
            repeats=len(done), failed_repeats=len(failed), val_std=_std(values["val_acc"]),
            test_std=_std(values["test_acc"]), val_accs=values["val_acc"], test_accs=values["test_acc"],
            repeat_ids=[r for r, _ in done], proxy_score=_mean(values[PROXY_SCORE]),
            proxy_std=_std(values[PROXY_SCORE]), proxy_scores=values[PROXY_SCORE]))
    return rows


RESULT_COLUMNS = ["candidate", "state", "trial", "val_acc", "test_acc", "train_acc", "seconds", "num_params", "macs",
                  "epochs_trained", "fail_reason", "repeats", "failed_repeats", "val_std", "test_std", PROXY_SCORE,
                  "proxy_std"]


def write_results_csv(path: Path, rows: list[CandidateResult], axes: list[str]) -> None:
    columns = RESULT_COLUMNS[:1] + axes + RESULT_COLUMNS[1:]  # the space's own axes after the candidate id
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(r.flat() for r in rows)


@dataclass
class SearchRun:
    """A finished (or partial) search run as `report` reads it: its record and one row per candidate."""

    dir: str
    record: SearchRunRecord
    rows: list[CandidateResult]


def open_run_study(run_dir: Path, storage: str | None = None) -> tuple[SearchRunRecord, optuna.Study]:
    """A run folder's record and its study, opened read-only: its own study.db or journal, or for a study that
    lives elsewhere (a database server, a journal outside the folder) `storage`, or the server URL run.json
    records; checked to hold the study run.json describes."""
    record = SearchRunRecord.read(run_dir)
    if in_run_folder(record.storage) or not storage:
        storage = storage_url(record.storage, run_dir)
    try:
        study = optuna.load_study(study_name=record.study_name, storage=open_storage_readonly(storage))
    except KeyError:
        raise ConfigError(f"study {record.study_name!r} of {str(run_dir)!r} is not in its storage "
                          f"{redact_url(record.storage)!r}") from None
    stored = SearchIdentity.from_study_attrs(study.user_attrs)
    diff = diff_settings(stored.settings(), record.identity.settings())
    if diff:
        raise ConfigError(f"the study {record.study_name!r} in {redact_url(record.storage)!r} is not the one "
                          f"{str(run_dir)!r} describes ({format_diff(diff)}; study vs run.json)")
    return record, study


def load_run(run_dir: str | Path, storage: str | None = None) -> SearchRun:
    """Read a run folder without writing anything (see `open_run_study`)."""
    record, study = open_run_study(Path(run_dir), storage)
    return SearchRun(str(run_dir), record, collect_results(study))


def run_search(config: SearchConfig, dataset: Dataset | None = None,
               space: SearchSpace | None = None) -> SearchSummary:
    """Run (or resume, or join) a search; returns this worker's counts and time and one result per candidate."""
    return Search(config, dataset, space).run()

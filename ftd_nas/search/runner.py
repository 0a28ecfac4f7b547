"""`ftd-nas search`: train every candidate of a space on a proxy (or the real data) and score it on real validation.

A run directory holds run.json (configuration, storage URL, study name, identity, environment), the
SQLite study (unless --storage points elsewhere) and results.csv. Re-running resumes; several workers on the
same storage share the work, each candidate trained exactly once.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import optuna
import torch
from optuna.trial import TrialState

from ftd_nas.data import Dataset
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.io import atomic_path, write_json
from ftd_nas.models import ModelSpec, build_model, count_params
from ftd_nas.progress import progress
from ftd_nas.runtime import environment_info, resolve_device
from ftd_nas.search.recipe import SearchRecipe, TrainingSource, data_config_for, training_source
from ftd_nas.search.space import SearchSpace, candidate_id, load_space
from ftd_nas.search.study import (CANDIDATE, DUPLICATE, FAIL_REASON, INTERRUPTED, MAX_CRASHES, crash_counts, earlier_live_trial,
                                  enqueue_missing, heartbeat, make_storage, open_study, pop_waiting, quiet_optuna,
                                  remaining)
from ftd_nas.train import evaluate, train

WORKER = "worker"  # user attr: host:pid:device of the worker that trained a trial

SAMPLERS = {"grid": None, "tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}


@dataclass
class SearchConfig:
    space: str = "convnet"
    proxy: str = "real"  # real | random:K | path to a proxy file
    out: str = "runs/search"
    dataset: str | None = None  # required for real / random:K; checked against the proxy otherwise
    data_root: str = "data"
    zca: bool = False
    val_fraction: float = 0.1
    split_seed: int = 0
    storage: str | None = None  # optuna storage URL; default sqlite:///OUT/study.db
    study_name: str | None = None
    sampler: str = "grid"  # grid = every candidate once; tpe | random = budgeted search with --n-trials
    n_trials: int | None = None
    recipe: SearchRecipe = field(default_factory=SearchRecipe)
    device: str = "auto"
    heartbeat: int = 60  # seconds between a running trial's heartbeats
    grace: int = 180  # seconds without a heartbeat after which a trial counts as dead and is retried
    wait: bool = True  # when the queue is empty, wait for other workers' running candidates
    progress: bool | None = None


def train_candidate(params: dict, source: TrainingSource, dataset: Dataset, recipe: SearchRecipe,
                    device: torch.device) -> dict:
    """Train one candidate on the source and score it on the real validation and test splits."""
    spec = ModelSpec(**params).for_data(dataset.channels, dataset.image_size, dataset.num_classes)
    net = build_model(spec, seed=recipe.seed, device=device)
    lr = recipe.lr if recipe.lr is not None else source.default_lr
    result = train(net, source.split, recipe.train_config(lr))
    return {"val_acc": evaluate(net, dataset.val)[1], "test_acc": evaluate(net, dataset.test)[1],
            "train_acc": result.train_acc, "seconds": result.seconds, "num_params": count_params(net), "lr": lr}


class Search:
    def __init__(self, config: SearchConfig, dataset: Dataset | None = None):
        self.config = config
        if config.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {config.sampler!r}; choose {', '.join(SAMPLERS)}")
        if config.sampler != "grid" and not config.n_trials:
            raise ConfigError(f"--sampler {config.sampler} runs a budgeted search: give --n-trials N")
        self.space = load_space(config.space)
        self.device = resolve_device(config.device)
        data_config = data_config_for(config.proxy, config.dataset, config.data_root, config.zca,
                                      config.val_fraction, config.split_seed)
        self.dataset = dataset if dataset is not None else data_config.load(self.device)
        self.source = training_source(config.proxy, self.dataset, config.recipe.seed)
        self.out = Path(config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.identity = {"space": self.space.to_dict(), "source": self.source.identity,
                         "dataset": self.dataset.fingerprint(), "recipe": asdict(config.recipe)}
        self.identity = json.loads(json.dumps(self.identity))
        self.storage = make_storage(config.storage, self.out, config.heartbeat, config.grace)
        self.study_name = config.study_name or f"{self.space.name}:{self._source_label()}"
        sampler_cls = SAMPLERS[config.sampler]
        sampler = sampler_cls(seed=config.recipe.seed) if sampler_cls else None
        self.study = open_study(self.storage, self.study_name, self.identity, sampler)
        self.data_config = data_config

    def _source_label(self) -> str:
        ident = self.source.identity
        if ident["kind"] == "proxy":
            return f"proxy-{ident['method']}-ipc{ident['ipc']}-{ident['sha256']}"
        return "real" if ident["kind"] == "real" else f"random{ident['ipc']}-seed{ident['seed']}"

    # ------------------------------------------------------------------ one trial
    def _run_trial(self, trial: optuna.Trial) -> tuple[str, str]:
        params = {axis: trial.suggest_categorical(axis, values) for axis, values in self.space.axes.items()}
        cid = candidate_id(params)
        trial.set_user_attr(CANDIDATE, cid)
        trial.set_user_attr(WORKER, f"{socket.gethostname()}:{os.getpid()}:{self.device}")
        earlier = earlier_live_trial(self.study, trial.number, cid)
        if earlier is not None:
            trial.set_user_attr(DUPLICATE, earlier.number)
            if earlier.state == TrialState.COMPLETE:  # budgeted samplers may propose a finished candidate
                self.study.tell(trial, earlier.value)
            else:
                self.study.tell(trial, state=TrialState.PRUNED)
            return cid, "duplicate"
        try:
            with heartbeat(self.study, trial):
                result = train_candidate(params, self.source, self.dataset, self.config.recipe, self.device)
        except (NonFiniteError, ConfigError, torch.OutOfMemoryError) as exc:
            reason = "out of memory" if isinstance(exc, torch.OutOfMemoryError) else str(exc)
            trial.set_user_attr(FAIL_REASON, reason)
            self.study.tell(trial, state=TrialState.FAIL)
            return cid, "failed"
        except BaseException as exc:  # interrupted or crashed: fail without a reason, so the next run re-queues it
            if isinstance(exc, KeyboardInterrupt):
                trial.set_user_attr(INTERRUPTED, True)  # not counted as a crash of this candidate
            self.study.tell(trial, state=TrialState.FAIL)
            raise
        for key, value in result.items():
            trial.set_user_attr(key, value)
        self.study.tell(trial, result["val_acc"])
        return cid, "trained"

    # ------------------------------------------------------------------ the worker loop
    def run(self) -> dict:
        cfg = self.config
        started = time.perf_counter()
        write_json(self.out / "run.json", {
            "config": {**asdict(cfg), "recipe": asdict(cfg.recipe)}, "storage": self._storage_url(),
            "study_name": self.study_name, "identity": self.identity, "data_config": asdict(self.data_config),
            "environment": environment_info(self.device)})
        counts = {"trained": 0, "failed": 0, "duplicate": 0}
        if cfg.sampler == "grid":
            queued = enqueue_missing(self.study, self.space)
            waiting, running = remaining(self.study)
            bar = progress(range(waiting), desc=f"search {self.space.name}", enabled=cfg.progress)
            if waiting == 0 and running == 0:
                print(f"the space is finished: every candidate of study {self.study_name!r} is done")
            elif waiting == 0:
                print(f"no candidate left to start; {running} still running in other workers"
                      + ("" if cfg.wait else " (not waiting for them: --no-wait)"))
            while True:
                trial = pop_waiting(self.study)
                if trial is None:
                    waiting, running = remaining(self.study)
                    if running == 0 or not cfg.wait:
                        break
                    # Others are still training: wait, so that a candidate whose worker died (no heartbeat for
                    # `grace` seconds) is failed, re-queued and trained here.
                    bar.set_postfix(waiting_for=running)
                    time.sleep(min(cfg.heartbeat, 5))
                    enqueue_missing(self.study, self.space)
                    continue
                cid, status = self._run_trial(trial)
                counts[status] += 1
                bar.update(1)
                bar.set_postfix(last=cid)
            bar.close()
        else:
            queued = 0
            for _ in progress(range(cfg.n_trials), desc=f"search {self.space.name} ({cfg.sampler})",
                              enabled=cfg.progress):
                with quiet_optuna():
                    trial = self.study.ask()
                counts[self._run_trial(trial)[1]] += 1
        rows = collect_results(self.study)
        write_results_csv(self.out / "results.csv", rows)
        return {"study": self.study_name, "queued": queued, **counts, "candidates": len(self.space),
                "complete": sum(r["state"] == "COMPLETE" for r in rows),
                "failed_total": sum(r["state"] == "FAIL" for r in rows),
                "seconds": time.perf_counter() - started, "rows": rows}

    def _storage_url(self) -> str:
        return self.config.storage or f"sqlite:///{(self.out / 'study.db').resolve()}"


def collect_results(study: optuna.Study) -> list[dict]:
    """One row per candidate: its finished trial (or its failure), duplicates left out."""
    rows: dict[str, dict] = {}
    trials = study.get_trials(deepcopy=False)
    for t in trials:
        cid = t.user_attrs.get(CANDIDATE)
        if cid is None or DUPLICATE in t.user_attrs:
            continue
        done = t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and FAIL_REASON in t.user_attrs)
        if not done or (cid in rows and rows[cid]["state"] == "COMPLETE"):
            continue
        rows[cid] = {"candidate": cid, **t.params, "state": t.state.name, "trial": t.number,
                     "val_acc": t.user_attrs.get("val_acc"), "test_acc": t.user_attrs.get("test_acc"),
                     "train_acc": t.user_attrs.get("train_acc"), "seconds": t.user_attrs.get("seconds"),
                     "num_params": t.user_attrs.get("num_params"), "fail_reason": t.user_attrs.get(FAIL_REASON)}
    crashes = crash_counts(trials)
    for t in trials:  # candidates given up on after repeated worker deaths
        cid = t.user_attrs.get(CANDIDATE)
        if cid is not None and cid not in rows and crashes[cid] >= MAX_CRASHES:
            rows[cid] = {**dict.fromkeys(RESULT_COLUMNS), "candidate": cid, **t.params, "state": "FAIL",
                         "trial": t.number, "fail_reason": f"its worker died {MAX_CRASHES} times while training it"}
    return sorted(rows.values(), key=lambda r: r["candidate"])


RESULT_COLUMNS = ["candidate", "depth", "width", "act", "norm", "pool", "state", "trial", "val_acc", "test_acc",
                  "train_acc", "seconds", "num_params", "fail_reason"]


def write_results_csv(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


def load_run(run_dir: str | Path) -> dict:
    """A finished (or partial) search run: its run.json plus one row per candidate from its study."""
    run_dir = Path(run_dir)
    info_path = run_dir / "run.json"
    if not info_path.is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a search run (no run.json); create it with `ftd-nas search`")
    info = json.loads(info_path.read_text())
    storage = make_storage(info["storage"], run_dir)
    try:
        study = optuna.load_study(study_name=info["study_name"], storage=storage)
    except KeyError:
        raise ConfigError(f"study {info['study_name']!r} not found in {info['storage']}") from None
    return {**info, "dir": str(run_dir), "rows": collect_results(study)}


def run_search(config: SearchConfig, dataset: Dataset | None = None) -> dict:
    """Run (or resume, or join) a search; returns counts, timing and one row per candidate."""
    return Search(config, dataset).run()

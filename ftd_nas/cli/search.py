"""`ftd-nas search`: train every candidate of a search space on a proxy and score it on real validation data."""

from __future__ import annotations

import argparse
import signal

from ftd_nas.cli.common import (POSITIVE, RATE, SEED, add_dsa_arg, add_normalize_arg, add_overwrite_arg,
                               add_precision_arg, number, whole)
from ftd_nas.errors import ConfigError
from ftd_nas.fused import FUSE_CHOICES
from ftd_nas.interrupts import stop_on
from ftd_nas.search import SearchConfig, SearchRecipe, available_spaces, load_space, run_search
from ftd_nas.search.recipe import parse_source
from ftd_nas.search.results import FAIL, ZC, SearchSummary
from ftd_nas.zero_cost import REGISTRY
from ftd_nas.train import MAX_MOMENTUM

HELP = "train each candidate ConvNet of a search space on a proxy (or real data) and score it"
DESCRIPTION = """\
Train every candidate of a search space (files in search_spaces/) on a proxy and score it on the real
validation split (test accuracy is recorded too). --proxy real trains on the whole real training split (the
ground truth, computed once per dataset and space and reused by every `ftd-nas report`); --proxy random:K on
K random real images per class; --proxy zc:NAME trains nothing and ranks each untrained candidate by a
training-free score on one minibatch of the real training split (NAME: {scorers}; each runs with the
choices its registry entry states, recorded in the run). --dataset always names the real data (with a proxy file it is checked
against the proxy's fingerprint, whose preprocessing it takes). The study lives in an optuna storage
(default: OUT/study.db, SQLite, recorded relative to OUT so the run folder can be moved or copied);
re-running resumes, several processes on the same storage share the candidates (each trained once), and a
failed candidate (NaN, out of memory) is recorded with its reason. --sampler tpe|random --n-trials N runs a
budgeted search instead of the exhaustive sweep. On a cluster: --plan projects the time first,
--storage journal:PATH shares the study through a shared filesystem, --slurm-script N writes an sbatch array
of workers, and `ftd-nas status RUN` shows the progress.""".format(scorers=", ".join(REGISTRY))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="convnet", help="space name in search_spaces/ or a .yaml path (default convnet)")
    p.add_argument("--list-spaces", action="store_true", help="list the available spaces and exit")
    p.add_argument("--show", action="store_true", help="show the space's axes and candidate count and exit")
    p.add_argument("--proxy", default=None, help="proxy file, real, random:K, or zc:NAME (a training-free score)")
    p.add_argument("--dataset", default=None,
                   help="the real data: a name or npz:PATH / folder:PATH (always required; a proxy file's must match)")
    p.add_argument("--data-root", default="data", help="folder holding named datasets (default ./data)")
    p.add_argument("--zca", action="store_true",
                   help="ZCA-whiten the real data (real / random:K; a proxy file fixes its own preprocessing)")
    add_normalize_arg(p)
    p.add_argument("--out", default=None, metavar="RUN", help="run directory (run.json, study.db, results.csv)")
    p.add_argument("--storage", default=None,
                   help="where the study lives: journal:PATH (a file on a filesystem shared by machines, no server), "
                        "postgresql://USER:PASSWORD@HOST/DB, or the default RUN/study.db (SQLite, one machine); "
                        "recorded in RUN/run.json (a file in RUN relative to it, a URL without its password)")
    p.add_argument("--study-name", default=None, help="study name (default: space and proxy)")
    p.add_argument("--sampler", choices=["grid", "tpe", "random"], default="grid",
                   help="grid: every candidate once (default); tpe/random: budgeted, with --n-trials")
    p.add_argument("--n-trials", type=POSITIVE, default=None)
    p.add_argument("--pruner", choices=["none", "median", "hyperband"], default="none",
                   help="stop unpromising candidates early from their validation accuracy as they train (most useful "
                        "with a budgeted --sampler over a large space); pruned candidates have no score")
    p.add_argument("--report-every", type=POSITIVE, default=None,
                   help="epochs between a candidate's validation reports to the pruner (default: a tenth of --epochs)")
    p.add_argument("--repeats", type=POSITIVE, default=1,
                   help="train each candidate R times (seeds derived from --seed; repeat 0 uses --seed) and score it "
                        "by the mean; each repeat is its own unit of work, and re-running with a larger R adds only "
                        "the missing repeats (default 1)")
    p.add_argument("--fuse", choices=FUSE_CHOICES, default="auto",
                   help="train a candidate's --repeats as one computation (vmap): auto on a GPU where it was measured "
                        "faster (small networks), never on a CPU; on wherever the network allows (no batchnorm); "
                        "off never. Results equal separate training to float tolerance (default auto)")
    add_recipe_args(p)
    add_worker_args(p, devices=True)
    plan = p.add_argument_group("planning", "project the search's time and memory before running it")
    plan.add_argument("--plan", action="store_true",
                      help="train a few candidates spread over the space's sizes for a few epochs, print the projected "
                           "time of the whole search per number of workers and the memory per candidate, and exit "
                           "(writes nothing; --out is not needed)")
    plan.add_argument("--plan-sample", type=POSITIVE, default=6, help="candidates to time (default 6)")
    plan.add_argument("--plan-epochs", type=POSITIVE, default=3,
                      help="epochs each is timed for; the first is a warm-up when there are more (default 3)")
    plan.add_argument("--plan-json", default=None, metavar="FILE", help="also write the plan as JSON to FILE")
    add_overwrite_arg(plan, "an existing --plan-json file")
    slurm = p.add_argument_group("SLURM", "write an sbatch array script of workers instead of searching here")
    slurm.add_argument("--slurm-script", type=POSITIVE, default=None, metavar="N",
                       help="write RUN/slurm/search.sbatch: an array of N tasks, each one worker of this search on a "
                            "shared storage (default: a journal file in RUN), and print how to submit it")
    slurm.add_argument("--slurm-time", default="24:00:00", help="time limit per task (default 24:00:00)")
    slurm.add_argument("--slurm-cpus", type=POSITIVE, default=4, help="CPUs per task (default 4)")
    slurm.add_argument("--slurm-gpus", type=whole(0), default=1, help="GPUs per task; 0 for CPU workers (default 1)")
    slurm.add_argument("--slurm-option", action="append", default=[], metavar="OPTION",
                       help="an extra sbatch option, e.g. --slurm-option=--partition=gpu (repeatable)")
    p.set_defaults(func=run)


def add_recipe_args(p: argparse.ArgumentParser) -> None:
    """How each candidate is trained (shared with `verify`, whose real-data training uses the same recipe)."""
    d = SearchRecipe()
    r = p.add_argument_group("candidate training recipe")
    r.add_argument("--epochs", type=POSITIVE, default=d.epochs, help=f"(default {d.epochs})")
    r.add_argument("--lr", type=RATE, default=None, help="(default: the proxy's learned lr; 0.01 on real data)")
    r.add_argument("--momentum", type=number(0, MAX_MOMENTUM), default=d.momentum, help=f"(default {d.momentum})")
    r.add_argument("--weight-decay", type=number(0), default=d.weight_decay, help=f"(default {d.weight_decay})")
    r.add_argument("--batch-size", type=POSITIVE, default=d.batch_size, help=f"(default {d.batch_size})")
    add_dsa_arg(r)
    add_precision_arg(r)
    r.add_argument("--seed", type=SEED, default=0)


def add_worker_args(p: argparse.ArgumentParser, devices: bool = False) -> None:
    w = p.add_argument_group("workers")
    w.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    if devices:
        w.add_argument("--devices", default=None, metavar="0,1,...",
                       help="start one worker per listed GPU (same as running this command once per GPU with "
                            "CUDA_VISIBLE_DEVICES=i); repeat an index to share a GPU between workers, e.g. 0,0,1,1")
        w.add_argument("--workers", type=POSITIVE, default=None, metavar="N",
                       help="start N workers on this machine sharing the queue (each takes 1/N of the CPUs unless "
                            "--threads says otherwise)")
    w.add_argument("--heartbeat", type=POSITIVE, default=60, help="seconds between a running candidate's heartbeats")
    w.add_argument("--grace", type=POSITIVE, default=180,
                   help="seconds without a heartbeat after which a candidate's worker counts as dead and the "
                        "candidate is retried")
    w.add_argument("--no-wait", action="store_true",
                   help="exit when the queue is empty instead of waiting for other workers' candidates")
    p.add_argument("--no-progress", action="store_true")


def recipe_from(args: argparse.Namespace) -> SearchRecipe:
    return SearchRecipe(epochs=args.epochs, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
                        batch_size=args.batch_size, dsa=args.dsa, precision=args.precision, seed=args.seed)


def _show(args: argparse.Namespace) -> int:
    """The space's axes and candidate count; with --dataset, after its parameter and multiply-add limits too."""
    space = load_space(args.space)
    kept = "exclusions, one per isomorphism class" if space.unique else "exclusions"
    print(f"{space.name}: model {space.model}, {len(space)} candidates after {kept} ({space.source})")
    for axis, values in space.axes.items():
        condition = space.conditions.get(axis)
        only = "  only when " + ", ".join(f"{o} in {v}" for o, v in condition.items()) if condition else ""
        print(f"  {axis:<8} {len(values)}: {', '.join(map(str, values))}{only}")
    limits = {k: v for k, v in space.constraints.items() if k in ("max_params", "max_macs")}
    if limits and args.dataset is None:
        print(f"  limits {limits} depend on the data's shape: give --dataset to count the candidates within them")
    elif limits:
        from ftd_nas.data import DataConfig
        from ftd_nas.search.factories import admissible

        ds = DataConfig(args.dataset, data_root=args.data_root).load()
        count = len(admissible(space, (ds.channels, ds.image_size, ds.num_classes)))
        print(f"{count} candidates within {limits} for {ds.name} ({ds.channels}x{ds.image_size[0]}x"
              f"{ds.image_size[1]}, {ds.num_classes} classes)")
    return 0


def _plan(args: argparse.Namespace, config: SearchConfig) -> int:
    from ftd_nas.io import refuse_overwrite, write_json
    from ftd_nas.search.plan import format_plan, plan_search

    if args.plan_json:  # before the timing: a file written earlier is replaced only when asked
        refuse_overwrite(args.plan_json, args.overwrite, "plan")
    plan = plan_search(config, sample=args.plan_sample, epochs=args.plan_epochs)
    print(format_plan(plan))
    if args.plan_json:
        write_json(args.plan_json, plan.to_dict())
    return 0


def _slurm(args: argparse.Namespace) -> int:
    import shlex
    from pathlib import Path

    from ftd_nas.queue.slurm import JOURNAL_NAME, SlurmConfig, checked_paths, write_slurm_script
    from ftd_nas.queue.urls import JOURNAL
    from ftd_nas.search.record import SearchRunRecord
    from ftd_nas.search.runner import check_storage_kept

    slurm = SlurmConfig(tasks=args.slurm_script, time=args.slurm_time, cpus=args.slurm_cpus, gpus=args.slurm_gpus,
                        options=args.slurm_option)
    out = Path(args.out)
    checked_paths(out, args.storage)  # a linked slurm/ or journal is refused first: it is what could write outside
    if (out / "run.json").exists():  # the workers must join the run's study, not start a new one beside it
        record = SearchRunRecord.read(out)
        sqlite = not record.storage.startswith(JOURNAL) and "://" not in record.storage
        remedy = ("SLURM workers on several machines cannot share its SQLite file (its locks fail on network "
                  "filesystems). Finish it on this machine (the same command without --slurm-script; --workers N "
                  "or --devices 0,1,... start several workers here), or write the script for a new --out"
                  if sqlite else "give that storage with --storage so that the workers join it, or choose another "
                  "--out")
        check_storage_kept(out, record, args.storage or f"{JOURNAL}{out / JOURNAL_NAME}",
                           named=args.storage is not None, remedy=remedy)
    path = write_slurm_script(args.argv, out, slurm, args.storage)
    print(f"wrote {path}: {slurm.tasks} workers. Read it, then submit with: sbatch {shlex.quote(str(path))}")
    print(f"watch it with: ftd-nas status {shlex.quote(args.out)}" + (" --storage URL" if args.storage else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_spaces:
        for name, path in available_spaces().items():
            space = load_space(str(path))
            print(f"{name:<16} {len(space):>6} candidates  {space.description}")
        return 0
    if args.show:
        return _show(args)
    if args.proxy is None or (args.out is None and not args.plan):
        raise ConfigError("a search needs --proxy (a proxy file, real, random:K or zc:NAME) and --out RUN")
    config = SearchConfig(space=args.space, proxy=args.proxy, out=args.out or "", dataset=args.dataset,
                          data_root=args.data_root, zca=args.zca, normalize=args.normalize, storage=args.storage,
                          study_name=args.study_name, sampler=args.sampler, n_trials=args.n_trials,
                          recipe=recipe_from(args), repeats=args.repeats, fuse=args.fuse, pruner=args.pruner, report_every=args.report_every, device=args.device,
                          heartbeat=args.heartbeat, grace=args.grace, wait=not args.no_wait,
                          progress=False if args.no_progress else None)
    if args.plan:
        return _plan(args, config)
    if args.slurm_script:
        return _slurm(args)
    if args.devices or (args.workers or 1) > 1:
        from ftd_nas.queue.workers import spawn_workers, worker_commands

        return spawn_workers(worker_commands(args.argv, args.workers, args.devices))
    # SLURM's SIGTERM (preemption, requeue, scancel) must re-queue the running candidate and end the command with
    # 130 whenever it comes. Its handler only records the request; the search honours it at its next safe point
    # (between candidates, between training steps: ftd_nas/interrupts.py says why a handler that raises is not
    # safe). Installed before the search does any work (before that nothing is claimed or written, and SIGTERM's
    # default action loses nothing) and restored after the summary is printed, the search's last act; a request
    # that came after the last safe point is raised when the block ends.
    with stop_on(signal.SIGTERM):
        summary = run_search(config)
        _print_summary(args, config, summary)
    return 0


def _print_summary(args: argparse.Namespace, config: SearchConfig, summary: SearchSummary) -> None:
    rows = [r for r in summary.rows if r.complete]
    repeats = sum(r.repeats for r in rows)
    training_free = parse_source(config.proxy)[0] == ZC
    print(f"study {summary.study}: {summary.complete}/{summary.candidates} candidates complete "
          f"({repeats} of {summary.candidates * summary.repeats} repeats), {summary.failed_total} failed; "
          f"this worker {'scored' if training_free else 'trained'} {summary.trained} in {summary.seconds:.0f} s"
          + (f" ({summary.lost} more dropped: declared dead by another worker, retried there)"
             if summary.lost else ""))
    if training_free:
        for r in sorted(rows, key=lambda r: -r.proxy_score)[:5]:
            spread = f" ± {r.proxy_std:.3g} ({r.repeats} repeats)" if r.proxy_std is not None else ""
            print(f"  {r.candidate:<40} {config.proxy} {r.proxy_score:.4g}{spread}")
    else:
        for r in sorted(rows, key=lambda r: -r.val_acc)[:5]:
            spread = f" ± {100 * r.val_std:.1f} ({r.repeats} repeats)" if r.val_std is not None else ""
            print(f"  {r.candidate:<40} val {100 * r.val_acc:5.1f}{spread}  test {100 * r.test_acc:5.1f}")
    for r in summary.rows:
        if r.state == FAIL:
            print(f"  FAILED {r.candidate}: {r.fail_reason}")
    print(f"results: {args.out}/results.csv")

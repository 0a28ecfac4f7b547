"""`ftd-nas verify`: train a proxy search's shortlist and a stratified random sample on real data; pick the best
and estimate how far the proxy's ranking can be trusted, without a full ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from ftd_nas.cli.common import POSITIVE, SEED, add_overwrite_arg, number, whole
from ftd_nas.cli.search import add_recipe_args, add_worker_args, recipe_from
from ftd_nas.data.for_file import fingerprint_of, real_data_for
from ftd_nas.paths import inside
from ftd_nas.runtime import resolve_device
from ftd_nas.search.runner import SearchConfig, load_run
from ftd_nas.search.verify import MAX_UNTIL_WIDTH, VerifyConfig, run_verify

HELP = "verify a proxy search on real data: its top K and a stratified random sample; the pick and the trust"
DESCRIPTION = """\
Train on the real data (a) the proxy's top --top K candidates and (b) --sample N more drawn at random, stratified
over the proxy's ranking (one from each of N equal parts below the shortlist; --sample-seed makes it
reproducible). The pick is the verified candidate with the best real validation accuracy; its test accuracy is
reported once, and pick.json describes it for `ftd-nas train --spec`. From the random sample alone: the
Spearman and Kendall between proxy and real accuracy below the shortlist, with bootstrap intervals, and what that
sample size can and cannot resolve; and an upper bound, with the same confidence, on how many unverified
candidates beat the pick on real validation accuracy (docs/verify.md). With --until-width W --budget B, rounds of
N more samples are added until the interval is narrower than W or B real-data candidate-epochs are spent.

Real-data training is an ordinary `search --proxy real` over just these candidates, in --real-run (default
OUT/real): resumable, shared by workers, and a real-data run of the same space, data and recipe (a ground truth,
or an earlier verify) can be given as --real-run so that what it has trained is reused, never trained twice.
A truth folder made from a published table by `ftd-nas truth` is looked up instead, nothing trained (the search's
data must be of the table's dataset family). The data preprocessing is the search run's (checked by fingerprint)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="SEARCH_RUN", help="a search run over a proxy (its ranking is verified)")
    p.add_argument("--dataset", default=None, help="the real data the search scored on (as search's --dataset)")
    p.add_argument("--data-root", default="data", help="folder holding named datasets (default ./data)")
    p.add_argument("--top", type=POSITIVE, default=5, help="K: the proxy's best candidates to verify (default 5)")
    p.add_argument("--sample", type=whole(0), default=10, help="N: stratified random candidates (default 10)")
    p.add_argument("--sample-seed", type=SEED, default=0, help="seed of the sample (default 0)")
    p.add_argument("--until-width", type=number(0, MAX_UNTIL_WIDTH, low_open=True), default=None,
                   help="add rounds of N samples until the interval of rho is narrower than this (needs --budget)")
    p.add_argument("--budget", type=POSITIVE, default=None, help="real-data candidate-epochs the rounds may spend")
    p.add_argument("--repeats", type=POSITIVE, default=1, help="real-data trainings per candidate (default 1)")
    p.add_argument("--out", required=True, metavar="DIR", help="verify.json, verify.md, verified.png, pick.json")
    p.add_argument("--real-run", default=None, metavar="RUN",
                   help="the real-data run to train in or reuse, or a truth folder from `ftd-nas truth` to look up "
                        "(default OUT/real)")
    p.add_argument("--storage", default=None, help="optuna storage URL of the real-data run (as search's)")
    p.add_argument("--search-storage", default=None, metavar="URL",
                   help="the verified search's study when it is not its run folder's own file: a database server's "
                        "URL with its password (or PGPASSWORD), or journal:PATH; a run folder's run.json is never "
                        "followed to a server")
    p.add_argument("--trust-factory", action="store_true",
                   help="allow a search run whose space names a user's model factory (package.module:function): "
                        "importing it runs its code, so trust the run folder first")
    add_overwrite_arg(p, "a verification of another search in --out")
    add_recipe_args(p)
    add_worker_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    record = load_run(args.run, args.search_storage).record
    expected = fingerprint_of(record)
    real_run = args.real_run or str(inside(args.out, "real", "the real-data run of --out"))
    real = SearchConfig(space=record.identity.space["name"], proxy="real", out=real_run, dataset=args.dataset,
                        data_root=args.data_root, zca=expected.zca, normalize=expected.normalize_choice(),
                        val_fraction=expected.val_fraction, split_seed=expected.split_seed, storage=args.storage,
                        recipe=recipe_from(args), repeats=args.repeats, device=args.device,
                        heartbeat=args.heartbeat, grace=args.grace, wait=not args.no_wait,
                        progress=False if args.no_progress else None)
    config = VerifyConfig(top=args.top, sample=args.sample, seed=args.sample_seed, until_width=args.until_width,
                          budget=args.budget)
    data = real_data_for(record, args.dataset, args.data_root, resolve_device(args.device),
                         what=f"the search run {args.run!r}")
    summary = run_verify(args.run, config, real, args.out, data, args.overwrite, args.trust_factory,
                         args.search_storage)
    print((Path(args.out) / "verify.md").read_text())
    print(f"written: {Path(args.out) / 'verify.json'}, verify.md, verified.png, pick.json "
          f"(train it: ftd-nas train --spec {Path(args.out) / 'pick.json'} --dataset {args.dataset} ...)")
    return 0 if summary else 1

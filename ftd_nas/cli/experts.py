"""`ftd-nas experts`: train expert trajectories (SGD for MTT, GSAM for FTD), or measure their flatness."""

from __future__ import annotations

import argparse

from ftd_nas.cli.common import (POSITIVE, RATE, add_data_args, add_dsa_arg, add_model_args, add_overwrite_arg,
                                add_runtime_args, data_config, model_spec, number, progress_flag)
from ftd_nas.data.for_file import real_data_for
from ftd_nas.experts import ExpertConfig, ExpertDirectory, expert_train_config, parse_shard, train_experts
from ftd_nas.experts.flatness import FlatnessConfig, directory_flatness, format_flatness
from ftd_nas.io import refuse_overwrite, write_result_json
from ftd_nas.runtime import resolve_device
from ftd_nas.train import MAX_MOMENTUM

HELP = "train expert trajectories on real data (sgd = MTT, gsam = FTD's flat experts)"
DESCRIPTION = """\
Train expert trajectories: each expert is a fresh network trained with the papers' recipe (constant lr 0.01,
no momentum or weight decay, batch 256, DSA on every batch), with its parameters saved at initialisation and
after every epoch. --optimizer gsam trains FTD's flat experts (rho 0.01; alpha 0.3 for CIFAR-10 IPC 1/10,
else 1); --optimizer sgd trains MTT's. Re-running the same command skips finished experts and resumes an
unfinished one from its last epoch; several processes (or --shard i/n, or torchrun) can share one --out.

With --flatness DIR [DIR ...], no training happens: the mean loss increase under random weight
perturbations is reported for every saved epoch of each directory (GSAM experts should be flatter), on the
training split of --dataset (the experts' data, checked against their fingerprint; the preprocessing is
theirs)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experts", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_args(p)
    add_model_args(p)
    d = expert_train_config()
    t = p.add_argument_group("expert training")
    t.add_argument("--num-experts", type=POSITIVE, default=10, help="experts in the directory (default 10; paper 100)")
    t.add_argument("--epochs", type=POSITIVE, default=d.epochs, help=f"epochs per expert (default {d.epochs})")
    t.add_argument("--optimizer", choices=["sgd", "gsam"], default="sgd", help="sgd (MTT) or gsam (FTD)")
    t.add_argument("--rho", type=number(0), default=d.rho, help=f"GSAM perturbation radius (default {d.rho})")
    t.add_argument("--alpha", type=number(), default=d.alpha, help=f"GSAM alpha; 0 = SAM (default {d.alpha})")
    t.add_argument("--lr", type=RATE, default=d.lr, help=f"learning rate (default {d.lr})")
    t.add_argument("--momentum", type=number(0, MAX_MOMENTUM), default=d.momentum, help=f"(default {d.momentum})")
    t.add_argument("--weight-decay", type=number(0), default=d.weight_decay, help=f"(default {d.weight_decay})")
    t.add_argument("--batch-size", type=POSITIVE, default=d.batch_size, help=f"(default {d.batch_size})")
    add_dsa_arg(t)
    t.add_argument("--out", default="experts", help="directory of trajectory files (default ./experts)")
    t.add_argument("--shard", default=None, metavar="I/N",
                   help="train only experts with index %% N == I (default: torchrun's RANK/WORLD_SIZE, else all)")
    t.add_argument("--stale-after", type=RATE, default=3600.0,
                   help="seconds without a heartbeat after which another process's claim is taken over")
    f = p.add_argument_group("flatness")
    f.add_argument("--flatness", nargs="+", metavar="DIR", help="measure flatness of these expert directories")
    f.add_argument("--sigma", type=number(0), default=0.05, help="relative perturbation size (default 0.05)")
    f.add_argument("--directions", type=POSITIVE, default=5, help="random directions per snapshot (default 5)")
    f.add_argument("--samples", type=POSITIVE, default=1024, help="training images the loss is measured on")
    p.add_argument("--json", metavar="OUT", help="write the summary (or flatness table) as JSON")
    add_overwrite_arg(p, "the --json file")
    add_runtime_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json:  # before any work: a finished result is replaced only when asked
        refuse_overwrite(args.json, args.overwrite, "JSON result")
    if args.flatness:
        return _flatness(args)
    config = ExpertConfig(
        data=data_config(args), model=model_spec(args), num_experts=args.num_experts,
        train=expert_train_config(args.optimizer, epochs=args.epochs, lr=args.lr, momentum=args.momentum,
                                  weight_decay=args.weight_decay, batch_size=args.batch_size, rho=args.rho,
                                  alpha=args.alpha, dsa=args.dsa, seed=args.seed, progress=progress_flag(args)))
    outcomes = train_experts(config, args.out, device=args.device, shard=parse_shard(args.shard),
                             stale_after=args.stale_after)
    print(f"{'expert':>6} {'seed':>5} {'status':>8} {'train acc':>9} {'test acc':>8} {'seconds':>8}")
    for o in outcomes:
        fmt = lambda v, spec: format(v, spec) if v is not None else "-"  # noqa: E731
        print(f"{o.index:>6} {o.seed:>5} {o.status:>8} {fmt(o.train_acc, '9.4f'):>9} {fmt(o.test_acc, '8.4f'):>8} "
              f"{fmt(o.seconds, '8.1f'):>8}")
    done = [o for o in outcomes if o.test_acc is not None]
    if done:
        print(f"mean test accuracy {sum(o.test_acc for o in done) / len(done):.4f} over {len(done)} experts "
              f"in {args.out}")
    busy = [o.index for o in outcomes if o.status == "busy"]
    if busy:
        print(f"experts {busy} are being trained by another process")
    if args.json:
        write_result_json(args.json, {"out": args.out, "config": config.to_dict(), "experts": outcomes},
                          args.overwrite)
    return 0


def _flatness(args: argparse.Namespace) -> int:
    cfg = FlatnessConfig(sigma=args.sigma, directions=args.directions, samples=args.samples, seed=args.seed)
    device = resolve_device(args.device)
    results, loaded = [], {}
    for directory in args.flatness:  # directories trained on the same data share one load
        data = real_data_for(ExpertDirectory(directory), args.dataset, args.data_root, device,
                             what=f"the experts in {directory!r}", loaded=loaded)
        results.append(directory_flatness(directory, cfg, data, device=device))
    print(format_flatness(results))
    if args.json:
        write_result_json(args.json, {"flatness": results}, args.overwrite)
    return 0

"""`ftd-nas select`: a coreset proxy of real training images (random, herding or k-center greedy)."""

from __future__ import annotations

import argparse

from ftd_nas.cli.common import (POSITIVE, RATE, SEED, add_data_args, add_model_args, add_overwrite_arg, data_config,
                                model_spec)
from ftd_nas.coresets import existing_selection, select_coreset
from ftd_nas.origins import SelectConfig
from ftd_nas.proxy_methods import SELECTED, names
from ftd_nas.runtime import resolve_device

HELP = "choose a coreset proxy of real images: random, herding or k-center greedy"
DESCRIPTION = """\
Choose --ipc real training images per class and write them as a proxy file, usable everywhere a proxy is
(evaluate, search, report). herding and kcenter choose by the embeddings (features before the classifier) of
a network trained --epochs epochs on the real training split, as the coreset baselines of the
dataset-distillation literature; random draws them with --seed. The time it took is recorded in the file."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("select", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", choices=names(SELECTED), default="herding", help="how to choose (default herding)")
    p.add_argument("--ipc", type=POSITIVE, default=10, help="images per class (default 10)")
    p.add_argument("--out", required=True, metavar="PROXY", help="proxy file to write")
    add_data_args(p)
    add_model_args(p)
    t = p.add_argument_group("embedding network (herding, kcenter)")
    t.add_argument("--epochs", type=POSITIVE, default=20, help="training epochs on the real split (default 20)")
    t.add_argument("--lr", type=RATE, default=0.01, help="its learning rate, also the proxy's (default 0.01)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    add_overwrite_arg(p, "a proxy file at --out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = SelectConfig(method=args.method, ipc=args.ipc, model=model_spec(args), epochs=args.epochs, lr=args.lr,
                          seed=args.seed, progress=False if args.no_progress else None)
    device = resolve_device(args.device)
    dataset = data_config(args).load(device)
    existing = existing_selection(args.out, config, dataset, args.overwrite)
    if existing is not None:
        print(f"{args.out} already holds this selection ({existing.record.seconds:.0f} s); nothing to do")
        return 0
    proxy = select_coreset(config, dataset, device)
    proxy.save(args.out)
    print(f"wrote {args.out}: {len(proxy.labels)} real images ({config.ipc} per class) chosen by {config.method} "
          f"in {proxy.record.seconds:.1f} s")
    return 0

"""`ftd-nas evaluate`: honest accuracy of a proxy, also across architectures and against a random subset."""

from __future__ import annotations

import argparse

from ftd_nas.evaluation import EvalConfig, evaluate_proxy
from ftd_nas.io import write_json
from ftd_nas.proxy import Proxy
from ftd_nas.runtime import resolve_device

HELP = "accuracy of fresh networks trained on a proxy (selected on validation, tested once)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help=HELP, description=HELP + ". Results are printed, added to the proxy "
                       "file's metadata and optionally written as JSON.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("proxy", help="proxy file written by `ftd-nas distill`")
    p.add_argument("--models", default="convnet", help="comma-separated: convnet, alexnet, vgg11, resnet18")
    p.add_argument("--runs", type=int, default=5, help="fresh networks per model")
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the proxy's learned syn_lr)")
    p.add_argument("--baseline", choices=["random"], default=None,
                   help="also evaluate a random real subset with the same images per class")
    p.add_argument("--baseline-lr", type=float, default=0.01, help="learning rate for the random baseline")
    p.add_argument("--raw", action="store_true", help="also evaluate FTD's raw (non-EMA) images")
    p.add_argument("--eval-every", type=int, default=None, help="validation interval (default epochs/20)")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    proxy = Proxy.load(args.proxy)
    config = EvalConfig(models=[m.strip() for m in args.models.split(",") if m.strip()], runs=args.runs,
                        epochs=args.epochs, lr=args.lr, eval_every=args.eval_every, seed=args.seed,
                        progress=False if args.no_progress else None)
    sets = ("proxy",) + (("raw",) if args.raw else ()) + (("random",) if args.baseline else ())
    record = evaluate_proxy(proxy, config, sets=sets, device=resolve_device(args.device),
                            baseline_lr=args.baseline_lr)
    print(f"{args.proxy}: {record['method']} IPC {record['ipc']}, {record['iterations']} iterations")
    print(f"{'set':<8} {'model':<10} {'test acc (mean ± std)':>22} {'val acc':>8} {'runs':>5}")
    for name, ev in record["sets"].items():
        for arch, r in ev["results"].items():
            print(f"{name:<8} {arch:<10} {100 * r['test_mean']:>14.2f} ± {100 * r['test_std']:5.2f} "
                  f"{100 * r['val_mean']:>8.2f} {len(r['test_acc']):>5}")
    proxy.record_evaluation(record)
    if args.json:
        write_json(args.json, record)
    return 0

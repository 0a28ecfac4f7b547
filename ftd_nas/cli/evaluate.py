"""`ftd-nas evaluate`: honest accuracy of a proxy, also across architectures and against a random subset."""

from __future__ import annotations

import argparse

from ftd_nas.cli.common import POSITIVE, RATE, SEED, add_overwrite_arg, add_precision_arg, add_real_data_args
from ftd_nas.data.for_file import real_data_for
from ftd_nas.evaluation import EvalConfig, evaluate_proxy, evaluations_dir, load_evaluations, save_evaluation
from ftd_nas.fused import FUSE_CHOICES
from ftd_nas.io import refuse_overwrite, write_result_json
from ftd_nas.proxy import Proxy
from ftd_nas.runtime import resolve_device

HELP = "accuracy of fresh networks trained on a proxy (selected on validation, tested once)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help=HELP, description=HELP + ". Results are printed and kept as a file of "
                       "their own in PROXY.evals/ (the proxy file itself is never changed); --list shows them.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("proxy", help="proxy file written by `ftd-nas distill`")
    add_real_data_args(p, "the proxy")
    p.add_argument("--list", action="store_true", help="list this proxy's earlier evaluations and exit")
    p.add_argument("--models", default="convnet", help="comma-separated: convnet, alexnet, vgg11, resnet18")
    p.add_argument("--runs", type=POSITIVE, default=5, help="fresh networks per model")
    p.add_argument("--epochs", type=POSITIVE, default=1000)
    p.add_argument("--lr", type=RATE, default=None, help="learning rate (default: the proxy's learned syn_lr)")
    p.add_argument("--baseline", choices=["random"], default=None,
                   help="also evaluate a random real subset with the same images per class")
    p.add_argument("--baseline-lr", type=RATE, default=0.01, help="learning rate for the random baseline")
    p.add_argument("--raw", action="store_true", help="also evaluate FTD's raw (non-EMA) images")
    p.add_argument("--eval-every", type=POSITIVE, default=None, help="validation interval (default epochs/20)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    add_overwrite_arg(p, "the --json file")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--fuse", choices=FUSE_CHOICES, default="auto",
                   help="train the --runs of one architecture as one computation (vmap): auto fuses on a GPU where "
                        "it was measured faster (small networks), never on a CPU; on insists, off never (default auto)")
    add_precision_arg(p)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def _print_record(record, label: str) -> None:
    print(f"{label}: {record.method} IPC {record.ipc}, {record.iterations} iterations"
          + (f", evaluated {record.created}" if record.created else ""))
    print(f"{'set':<8} {'model':<10} {'test acc (mean ± std)':>22} {'val acc':>8} {'runs':>5}")
    for name, ev in record.sets.items():
        for arch, r in ev["results"].items():
            print(f"{name:<8} {arch:<10} {100 * r['test_mean']:>14.2f} ± {100 * r['test_std']:5.2f} "
                  f"{100 * r['val_mean']:>8.2f} {len(r['test_acc']):>5}")


def run(args: argparse.Namespace) -> int:
    if args.json:  # before any work: a finished result is replaced only when asked
        refuse_overwrite(args.json, args.overwrite, "JSON result")
    proxy = Proxy.load(args.proxy)
    evaluations_dir(args.proxy)  # where the result will be kept: checked before any training
    if args.list:
        records = load_evaluations(proxy)
        for record in records:
            _print_record(record, args.proxy)
        print(f"{len(records)} evaluations of {args.proxy}")
        return 0
    config = EvalConfig(models=[m.strip() for m in args.models.split(",") if m.strip()], runs=args.runs,
                        epochs=args.epochs, lr=args.lr, eval_every=args.eval_every, seed=args.seed, fuse=args.fuse,
                        precision=args.precision,
                        progress=False if args.no_progress else None)
    device = resolve_device(args.device)
    data = real_data_for(proxy, args.dataset, args.data_root, device, what=f"the proxy {args.proxy!r}")
    sets = ("proxy",) + (("raw",) if args.raw else ()) + (("random",) if args.baseline else ())
    record = evaluate_proxy(proxy, config, data, sets=sets, device=device, baseline_lr=args.baseline_lr)
    _print_record(record, args.proxy)
    print(f"kept in {save_evaluation(record, args.proxy)}")
    if args.json:
        write_result_json(args.json, record.to_dict(), args.overwrite)
    return 0

"""`ftd-nas train`: the whole-dataset baseline every proxy is compared with."""

from __future__ import annotations

import argparse
import json

from ftd_nas.baseline import train_baseline
from ftd_nas.cli.common import (NONNEGATIVE, POSITIVE, RATE, add_data_args, add_dsa_arg, add_model_args,
                                add_overwrite_arg, add_precision_arg, add_runtime_args, data_config, model_spec, number,
                                progress_flag)
from ftd_nas.io import refuse_overwrite, write_result_json
from ftd_nas.search.architecture import ArchitectureRecord
from ftd_nas.train import MAX_MOMENTUM, TrainConfig

HELP = "train one network on the real training split (the whole-dataset baseline)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP + ". Prints validation and test accuracy.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_args(p)
    add_model_args(p)
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=POSITIVE, default=50)
    t.add_argument("--lr", type=RATE, default=0.01)
    t.add_argument("--momentum", type=number(0, MAX_MOMENTUM), default=0.9)
    t.add_argument("--weight-decay", type=number(0), default=5e-4)
    t.add_argument("--batch-size", type=POSITIVE, default=256)
    t.add_argument("--no-decay", action="store_true", help="keep the lr constant (default: x0.1 at the midpoint)")
    add_dsa_arg(t)
    add_precision_arg(t)
    t.add_argument("--eval-every", type=NONNEGATIVE, default=0, help="validate every N epochs (0: only at the end)")
    t.add_argument("--select-best", action="store_true",
                   help="report the weights with the best validation accuracy (needs --eval-every)")
    a = p.add_argument_group("a chosen architecture")
    a.add_argument("--spec", default=None, metavar="FILE",
                   help="train the architecture of this file (verify's pick.json) instead of --model/--width/...")
    a.add_argument("--trust-factory", action="store_true",
                   help="allow a --spec that names a user's model factory (importing it runs its code)")
    a.add_argument("--save", default=None, metavar="WEIGHTS",
                   help="write the trained weights here (safetensors, with the architecture and data fingerprint)")
    add_runtime_args(p)
    p.add_argument("--json", metavar="OUT", help="write the run record (config, history, accuracies) here")
    add_overwrite_arg(p, "the --json file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json:  # before any work: a finished result is replaced only when asked
        refuse_overwrite(args.json, args.overwrite, "JSON result")
    if args.save:
        refuse_overwrite(args.save, args.overwrite, "weights file")
    model = ArchitectureRecord.read(args.spec) if args.spec else model_spec(args)
    config = TrainConfig(epochs=args.epochs, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
                         batch_size=args.batch_size, decay_at_midpoint=not args.no_decay, dsa=args.dsa,
                         seed=args.seed, eval_every=args.eval_every, restore_best=args.select_best,
                         precision=args.precision, progress=progress_flag(args))
    record = train_baseline(data_config(args), model, config, device=args.device, save=args.save,
                            trust_factory=args.trust_factory)
    summary = {k: record[k] for k in ("test_acc", "val_acc", "train_acc", "best_epoch", "num_params")}
    summary["train_seconds"] = round(record["timings"]["train_s"], 2)
    print(f"{record['config']['model']['model']} on {record['dataset']['name']}: val acc {record['val_acc']:.4f}, "
          f"test acc {record['test_acc']:.4f} ({record['timings']['train_s']:.1f} s training)")
    print(json.dumps(summary))
    if args.json:
        write_result_json(args.json, record, args.overwrite)
        print(f"wrote {args.json}")
    if args.save:
        print(f"wrote {args.save} (load it with ftd_nas.search.architecture.load_weights)")
    return 0

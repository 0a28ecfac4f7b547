"""`ftd-nas distill`: distill a proxy dataset by trajectory matching (FTD or MTT)."""

from __future__ import annotations

import argparse

from ftd_nas.cli.common import POSITIVE, RATE, SEED, add_dsa_arg, add_overwrite_arg, add_real_data_args, number
from ftd_nas.distill import Distiller, resolve_config
from ftd_nas.experts import ExpertDirectory
from ftd_nas.runtime import resolve_device

HELP = "distill a tiny synthetic proxy from expert trajectories (FTD or MTT)"
DESCRIPTION = """\
Distill a proxy dataset by matching expert trajectories. Settings default to the paper's preset for the
dataset and IPC (FTD Table 7, or MTT's for --method mtt); every value can be overridden. The resolved
configuration is printed and saved in the work directory (PROXY.run/ by default) together with a
checkpoint every --checkpoint-every iterations, a JSONL log and PNG grids. Re-running the same command
continues from the checkpoint. --method ftd needs GSAM experts and writes the EMA images as the proxy;
--method mtt needs SGD experts. --unroll checkpoint gives the same gradients as full in far less memory.
--dataset names the real data the experts were trained on (checked against their fingerprint)."""

OVERRIDES = [("syn-steps", POSITIVE, "unrolled student steps N"),
             ("expert-epochs", POSITIVE, "expert epochs M matched"),
             ("max-start-epoch", POSITIVE, "start epochs drawn from 0..this-1"),
             ("batch-syn", POSITIVE, "synthetic images per student step (default: all)"),
             ("lr-img", RATE, "learning rate of the images"), ("lr-lr", RATE, "learning rate of syn_lr"),
             ("lr-teacher", RATE, "initial syn_lr"),
             ("ema-decay", number(0, 0.999999), "FTD's EMA decay of the images"),
             ("iterations", POSITIVE, "distillation iterations (paper 5000)")]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("distill", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experts", required=True, metavar="DIR", help="directory written by `ftd-nas experts`")
    p.add_argument("--out", required=True, metavar="PROXY", help="proxy file to write (e.g. c10_ipc10.safetensors)")
    add_real_data_args(p, "the experts")
    p.add_argument("--ipc", type=POSITIVE, default=10, help="images per class (default 10)")
    p.add_argument("--method", choices=["ftd", "mtt"], default="ftd", help="ftd (default) or mtt")
    p.add_argument("--preset", default=None, metavar="FAMILY",
                   help="use the preset of cifar10, cifar100, tiny-imagenet or imagenet-subset for another dataset")
    o = p.add_argument_group("overrides of the preset")
    for name, kind, text in OVERRIDES:
        o.add_argument(f"--{name}", type=kind, default=None, help=text)
    o.add_argument("--init", choices=["real", "noise"], default="real", help="initial images (default real)")
    add_dsa_arg(o)
    r = p.add_argument_group("run")
    r.add_argument("--unroll", choices=["full", "checkpoint"], default="full",
                   help="full keeps the whole unrolled graph; checkpoint recomputes steps (same gradient, less memory)")
    r.add_argument("--checkpoint-every", type=POSITIVE, default=50, help="iterations between checkpoints")
    r.add_argument("--image-every", type=POSITIVE, default=500, help="iterations between PNG grids")
    r.add_argument("--work-dir", default=None, help="checkpoint/log/grid folder (default PROXY.run)")
    add_overwrite_arg(r, "a proxy file at --out that another distillation wrote")
    r.add_argument("--seed", type=SEED, default=0)
    r.add_argument("--device", default="auto")
    r.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    expected = ExpertDirectory(args.experts).record.data
    data = expected.data_config(args.dataset, args.data_root, f"the experts in {args.experts!r}")
    overrides = {name.replace("-", "_"): getattr(args, name.replace("-", "_")) for name, _, _ in OVERRIDES}
    config = resolve_config(expected.name, args.ipc, args.method, args.preset, init=args.init, dsa=args.dsa,
                            unroll=args.unroll, checkpoint_every=args.checkpoint_every, image_every=args.image_every,
                            seed=args.seed, **overrides)
    device = resolve_device(args.device)
    distiller = Distiller(config, args.experts, args.out, dataset=data.load(device), device=device,
                          work_dir=args.work_dir, progress=False if args.no_progress else None,
                          overwrite=args.overwrite)
    print(f"preset: {config.preset}")
    print("resolved configuration: " + ", ".join(f"{k}={v}" for k, v in config.to_dict().items() if k != "preset"))
    for note in distiller.notes:
        print(f"note: {note}")
    proxy = distiller.run()
    print(f"wrote {args.out}: {len(proxy.labels)} images ({config.ipc} per class), syn_lr {proxy.syn_lr:.5f}, "
          f"{proxy.record.iterations} iterations in {proxy.record.seconds:.0f} s; log and grids in {distiller.work}")
    return 0

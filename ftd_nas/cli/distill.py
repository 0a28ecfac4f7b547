"""`ftd-nas distill`: distill a proxy dataset by trajectory matching (FTD or MTT)."""

from __future__ import annotations

import argparse

import torch

from ftd_nas.cli.common import (IMAGE_SIZE, POSITIVE, RATE, SEED, VAL_FRACTION, add_dsa_arg, add_normalize_arg,
                               add_overwrite_arg, add_real_data_args, number, whole)
from ftd_nas.data import DataConfig, Dataset
from ftd_nas.data.fingerprint import dataset_label
from ftd_nas.data.for_file import real_data_for
from ftd_nas.distill import Distiller, resolve_config
from ftd_nas.origins import MAX_EMA_DECAY
from ftd_nas.distill.methods import MODEL_OPTIONS, check_inputs
from ftd_nas.errors import ConfigError
from ftd_nas.experts import ExpertDirectory
from ftd_nas.models import ACT_LAYERS, NORM_LAYERS, POOL_LAYERS, ModelSpec
from ftd_nas.models.families import MAX_DEPTH
from ftd_nas.proxy_methods import DISTILLED, lookup, names
from ftd_nas.runtime import resolve_device

HELP = "distill a tiny synthetic proxy: FTD or MTT (from expert trajectories), DSA or DM (from the real data)"
DESCRIPTION = """\
Distill a proxy dataset by matching expert trajectories. Settings default to the paper's preset for the
dataset and IPC (FTD Table 7, or MTT's for --method mtt); every value can be overridden. The resolved
configuration is printed and saved in the work directory (PROXY.run/ by default) together with a
checkpoint every --checkpoint-every iterations, a JSONL log and PNG grids. Re-running the same command
continues from the checkpoint. --method ftd needs GSAM experts and writes the EMA images as the proxy;
--method mtt needs SGD experts. --unroll checkpoint gives the same gradients as full in far less memory.
--dataset names the real data the experts were trained on (checked against their fingerprint).

--method dsa (gradient matching with DSA; --dsa none is plain DC) and --method dm (distribution matching) need
no experts: they take the real data (--dataset, --zca, ...) and the matching ConvNet (--width, --depth, ...)
directly, with the DC/DSA and DM code's presets."""

OVERRIDES = [("syn-steps", POSITIVE, "unrolled student steps N"),
             ("expert-epochs", POSITIVE, "expert epochs M matched"),
             ("max-start-epoch", POSITIVE, "start epochs drawn from 0..this-1"),
             ("batch-syn", POSITIVE, "synthetic images per student step (default: all)"),
             ("lr-img", RATE, "learning rate of the images"), ("lr-lr", RATE, "learning rate of syn_lr"),
             ("lr-teacher", RATE, "initial syn_lr"),
             ("ema-decay", number(0, MAX_EMA_DECAY), "FTD's EMA decay of the images"),
             ("iterations", POSITIVE, "distillation iterations (FTD/MTT 5000, DSA 1000, DM 20000)"),
             ("lr-net", RATE, "dsa: lr of the network trained on the synthetic set; dsa, dm: the proxy's lr"),
             ("batch-real", POSITIVE, "dsa, dm: real images per class per matching step"),
             ("outer-loop", POSITIVE, "dsa: matching steps per fresh network"),
             ("inner-loop", POSITIVE, "dsa: epochs of network training on the synthetic set between them")]
DATA_OPTIONS = {"zca": False, "zca_eps": None, "val_fraction": None, "split_seed": None, "image_size": None,
                "normalize": None}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("distill", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experts", default=None, metavar="DIR",
                   help="directory written by `ftd-nas experts` (ftd and mtt only)")
    p.add_argument("--out", required=True, metavar="PROXY", help="proxy file to write (e.g. c10_ipc10.safetensors)")
    add_real_data_args(p, "the experts")
    p.add_argument("--ipc", type=POSITIVE, default=10, help="images per class (default 10)")
    p.add_argument("--method", choices=names(DISTILLED), default="ftd",
                   help="; ".join(f"{n}: {lookup(n).summary}" for n in names(DISTILLED)) + " (default ftd)")
    p.add_argument("--preset", default=None, metavar="FAMILY",
                   help="use the preset of cifar10, cifar100, tiny-imagenet or imagenet-subset for another dataset")
    o = p.add_argument_group("overrides of the preset")
    for name, kind, text in OVERRIDES:
        o.add_argument(f"--{name}", type=kind, default=None, help=text)
    o.add_argument("--init", choices=["real", "noise"], default="real", help="initial images (default real)")
    add_dsa_arg(o)
    f = p.add_argument_group("data and network of dsa and dm (ftd and mtt take them from the experts)")
    f.add_argument("--zca", action="store_true", help="ZCA-whiten the real data (fitted on the training split)")
    f.add_argument("--zca-eps", type=RATE, default=None, help="ZCA regulariser (default 0.1)")
    f.add_argument("--val-fraction", type=VAL_FRACTION, default=None, help="validation fraction (default 0.1)")
    f.add_argument("--split-seed", type=SEED, default=None, help="seed of the validation split (default 0)")
    f.add_argument("--image-size", type=IMAGE_SIZE, default=None, help="resize side for image folders")
    add_normalize_arg(f, default=None)
    d = ModelSpec()
    f.add_argument("--width", type=POSITIVE, default=None, help=f"ConvNet width (default {d.width})")
    f.add_argument("--depth", type=whole(1, MAX_DEPTH), default=None, help=f"ConvNet depth (default {d.depth})")
    f.add_argument("--norm", choices=list(NORM_LAYERS), default=None, help=f"normalisation (default {d.norm})")
    f.add_argument("--act", choices=list(ACT_LAYERS), default=None, help=f"activation (default {d.act})")
    f.add_argument("--pool", choices=list(POOL_LAYERS), default=None, help=f"pooling (default {d.pool})")
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


def _model(args: argparse.Namespace) -> ModelSpec | None:
    """The matching network the options describe; None when none is given to a method that uses its experts'."""
    given = {k: getattr(args, k) for k in MODEL_OPTIONS if getattr(args, k) is not None}
    return ModelSpec(**given) if given or lookup(args.method).experts is None else None


def _data_and_model(args: argparse.Namespace, device: torch.device | str = "cpu") -> tuple[Dataset, str,
                                                                                     ModelSpec | None]:
    """The real data (the experts', with their preprocessing, checked; or the data the options describe), the
    name presets are chosen by, and the matching network (None: the experts')."""
    model = _model(args)
    check_inputs(args.method, args.experts, model)  # before anything is loaded
    if lookup(args.method).experts is not None:
        # the library takes a loaded dataset, so these options exist only here; the experts fix them
        given = [f"--{k.replace('_', '-')}" for k, default in DATA_OPTIONS.items() if getattr(args, k) != default]
        if given:
            raise ConfigError(f"--method {args.method} takes the preprocessing from its experts: drop "
                              f"{', '.join(given)}")
        experts = ExpertDirectory(args.experts)
        return real_data_for(experts, args.dataset, args.data_root, device,
                             what=f"the experts in {args.experts!r}"), experts.record.data.name, model
    if args.dataset is None:
        raise ConfigError(f"--method {args.method} distils from the real data: name it with --dataset")
    chosen = {k: v for k, v in vars(args).items() if k in DATA_OPTIONS and v not in (None, False)}
    return DataConfig(name=args.dataset, data_root=args.data_root, **chosen).load(device), \
        dataset_label(args.dataset), model


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    dataset, preset_name, model = _data_and_model(args, device)
    overrides = {name.replace("-", "_"): getattr(args, name.replace("-", "_")) for name, _, _ in OVERRIDES}
    config = resolve_config(preset_name, args.ipc, args.method, args.preset, init=args.init, dsa=args.dsa,
                            unroll=args.unroll, checkpoint_every=args.checkpoint_every, image_every=args.image_every,
                            seed=args.seed, **overrides)
    distiller = Distiller(config, args.experts, args.out, dataset=dataset, model=model, device=device,
                          work_dir=args.work_dir, progress=False if args.no_progress else None,
                          overwrite=args.overwrite)
    print(f"preset: {config.preset}")
    print("resolved configuration: " + ", ".join(f"{k}={v}" for k, v in config.relevant().items() if k != "preset"))
    for note in distiller.notes:
        print(f"note: {note}")
    proxy = distiller.run()
    print(f"wrote {args.out}: {len(proxy.labels)} images ({config.ipc} per class), syn_lr {proxy.syn_lr:.5f}, "
          f"{proxy.record.iterations} iterations in {proxy.record.seconds:.0f} s; log and grids in {distiller.work}")
    return 0

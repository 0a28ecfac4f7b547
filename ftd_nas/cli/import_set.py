"""`ftd-nas import`: a published distilled set (MTT, FTD, DATM, DC/DSA/DM, KIP files) as a proxy file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ftd_nas.cli.common import RATE, add_data_args, add_overwrite_arg, data_config, whole
from ftd_nas.importer import import_distilled
from ftd_nas.io import refuse_overwrite
from ftd_nas.origins import SOFT_LABELS, ImportConfig
from ftd_nas.runtime import resolve_device

HELP = "turn a published distilled set (.pt tensors or .npz) into a proxy file"
DESCRIPTION = """\
Turn a published distilled set into a proxy file, usable everywhere a proxy is. --images and --labels take
the files their authors release (images_best.pt and labels_best.pt; repeat the option for sets split into
several files, which are concatenated in order; or one DC/DSA/DM results file with --experiment i; or one
.npz with images and labels). Labels may be class indices, one-hot rows, or soft labels: probabilities, or
DATM's logits (--soft-labels logits, or auto). A proxy with soft labels trains with soft cross-entropy.
--lr takes a learned-lr file (lr_best.pt) or a number. Name the real data the set was distilled from and its
preprocessing (--dataset, --zca, ...): the proxy records its fingerprint, evaluate and search check it, and
images that do not look preprocessed that way are reported. .pt files are read with
torch.load(weights_only=True): a file holding anything but tensors is refused, never run."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", action="append", required=True, metavar="FILE",
                   help="images .pt (repeat for split sets), a DC/DSA/DM results .pt, or an .npz")
    p.add_argument("--labels", action="append", default=[], metavar="FILE", help="labels .pt (repeat likewise)")
    p.add_argument("--lr", type=_lr, default=None, metavar="FILE|NUMBER",
                   help="the learned lr: a file such as lr_best.pt, or a positive number (default 0.01)")
    p.add_argument("--soft-labels", choices=SOFT_LABELS, default="auto",
                   help="soft label rows are probabilities or logits (softmax applied); auto decides by the rows")
    p.add_argument("--experiment", type=whole(0), default=0, help="which experiment of a DC/DSA/DM results file")
    p.add_argument("--method-name", default="imported", metavar="NAME",
                   help="the method that made the set (mtt, ftd, datm, ...), as reports show it")
    p.add_argument("--out", required=True, metavar="PROXY", help="proxy file to write")
    add_data_args(p)
    p.add_argument("--device", default="cpu")
    add_overwrite_arg(p, "a proxy file at --out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    refuse_overwrite(args.out, args.overwrite, "proxy file")
    lr_file = args.lr if isinstance(args.lr, str) else None
    lr = {"lr": args.lr} if isinstance(args.lr, float) else {}  # else ImportConfig's default
    config = ImportConfig(method=args.method_name, soft_labels=args.soft_labels, experiment=args.experiment, **lr)
    dataset = data_config(args).load(resolve_device(args.device))
    proxy = import_distilled(args.images, args.labels, dataset, config, lr_file=lr_file)
    proxy.save(args.out)
    kind = "soft" if proxy.soft_labels else "hard"
    print(f"wrote {args.out}: {len(proxy.images)} images ({proxy.ipc} per class, {kind} labels), lr {proxy.syn_lr:g}, "
          f"for {dataset.name}")
    return 0


def _lr(text: str) -> str | float:
    """--lr: an existing file's path (str), else a finite positive number (float); anything else is a usage error
    naming the option, as for every other rate."""
    if Path(text).is_file():
        return text
    try:
        float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither an existing file (such as lr_best.pt) nor a "
                                         "number") from None
    return RATE(text)

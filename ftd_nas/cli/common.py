"""Argument groups shared by subcommands, and their conversion into library configs."""

from __future__ import annotations

import argparse

import math
from typing import Callable

from ftd_nas.augment import DEFAULT_STRATEGY
from ftd_nas.checks import MAX_SEED
from ftd_nas.data import DataConfig, known_datasets
from ftd_nas.data.loader import MAX_IMAGE_SIZE, MAX_VAL_FRACTION, MIN_IMAGE_SIZE
from ftd_nas.data.normalization import AUTO, CHOICES, FILE, STANDARD
from ftd_nas.models import ACT_LAYERS, ARCHITECTURES, NORM_LAYERS, POOL_LAYERS, ModelSpec
from ftd_nas.models.families import MAX_DEPTH
from ftd_nas.train import PRECISIONS


def whole(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high]; anything else is a usage error naming the option."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


def number(low: float | None = None, high: float | None = None, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high] ((low, high] with low_open)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, got {value:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:g}, got {value:g}")
        return value

    parse.__name__ = "number"
    return parse


POSITIVE, NONNEGATIVE, SEED = whole(1), whole(0), whole(0, MAX_SEED)
RATE = number(0, low_open=True)  # learning rates and other strictly positive numbers
VAL_FRACTION, IMAGE_SIZE = number(0, MAX_VAL_FRACTION), whole(MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)  # DataConfig's bounds


def add_data_args(parser: argparse.ArgumentParser, default: str = "digits") -> None:
    g = parser.add_argument_group("data")
    g.add_argument("--dataset", default=None, metavar="NAME",
                   help=f"dataset name or npz:PATH / folder:PATH (default {default}); known: "
                        + ", ".join(known_datasets()))
    g.add_argument("--data-root", default="data", help="folder holding downloaded datasets (default ./data)")
    g.add_argument("--val-fraction", type=VAL_FRACTION, default=0.1,
                   help="fraction of each class held out of training for validation (default 0.1)")
    g.add_argument("--split-seed", type=SEED, default=0, help="seed of the validation split (default 0)")
    g.add_argument("--zca", action="store_true", help="ZCA-whiten images (fitted on the training split)")
    g.add_argument("--zca-eps", type=RATE, default=0.1, help="ZCA regulariser (default 0.1)")
    g.add_argument("--image-size", type=IMAGE_SIZE, default=None,
                   help="resize side for image-folder datasets (default: 32, tiny-imagenet 64, ImageNet subsets 128)")
    add_normalize_arg(g)


def add_normalize_arg(group, default: str | None = AUTO) -> None:
    group.add_argument("--normalize", choices=CHOICES, default=default, metavar="CONSTANTS",
                       help=f"per-channel normalisation: {AUTO} (the constants the dataset declares, such as "
                            f"cifar10's for --dataset cifar10 or an npz's mean/std arrays, else the training images' "
                            f"own statistics), {FILE} (the images' own statistics), or a standard set: "
                            + ", ".join(STANDARD) + " (use cifar10 for CIFAR-10 kept as npz:, as the papers did); "
                            + (f"default {default}" if default else "default: what the scale or settings say"))


def data_config(args: argparse.Namespace, default: str = "digits") -> DataConfig:
    return DataConfig(name=args.dataset or default, data_root=args.data_root, val_fraction=args.val_fraction,
                      split_seed=args.split_seed, zca=args.zca, zca_eps=args.zca_eps, image_size=args.image_size,
                      normalize=args.normalize)


def add_real_data_args(parser: argparse.ArgumentParser, what: str) -> None:
    """--dataset and --data-root for commands that read a file: the data's location always comes from here."""
    g = parser.add_argument_group("real data")
    g.add_argument("--dataset", default=None, metavar="NAME",
                   help=f"the real data {what} was made from: a name or npz:PATH / folder:PATH. Required: ftd-nas "
                        "never loads data from a location stored in a file; the preprocessing (ZCA, validation "
                        "split) is the file's, and the data is checked against the file's fingerprint")
    g.add_argument("--data-root", default="data", help="folder holding named datasets (default ./data)")


def add_overwrite_arg(parser: argparse.ArgumentParser, what: str = "an existing output") -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {what} written by an earlier run (default: refuse)")


def add_model_args(parser: argparse.ArgumentParser) -> None:
    d = ModelSpec()
    g = parser.add_argument_group("model")
    g.add_argument("--model", default=d.arch, choices=list(ARCHITECTURES), help=f"architecture (default {d.arch})")
    g.add_argument("--width", type=POSITIVE, default=d.width, help=f"ConvNet channels per layer (default {d.width})")
    g.add_argument("--depth", type=whole(1, MAX_DEPTH), default=d.depth, help=f"ConvNet blocks (default {d.depth})")
    g.add_argument("--norm", default=d.norm, choices=list(NORM_LAYERS), help=f"normalisation (default {d.norm})")
    g.add_argument("--act", default=d.act, choices=list(ACT_LAYERS), help=f"activation (default {d.act})")
    g.add_argument("--pool", default=d.pool, choices=list(POOL_LAYERS), help=f"pooling (default {d.pool})")


def model_spec(args: argparse.Namespace) -> ModelSpec:
    return ModelSpec(arch=args.model, width=args.width, depth=args.depth, norm=args.norm, act=args.act,
                     pool=args.pool)


def add_runtime_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("runtime")
    g.add_argument("--seed", type=SEED, default=0, help="seed of initialisation, data order and augmentation")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    g.add_argument("--no-progress", action="store_true", help="never show progress bars")


def progress_flag(args: argparse.Namespace) -> bool | None:
    return False if args.no_progress else None


def add_precision_arg(parser) -> None:
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="the training step's forward arithmetic: fp32, or bf16 autocast (faster on a GPU; "
                             "weights, loss and every evaluation stay fp32; its effect on a ranking: "
                             "scripts/bench_precision.py) (default fp32)")


def add_dsa_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsa", default=DEFAULT_STRATEGY,
                        help=f"DSA strategy, families joined by '_', or 'none' (default {DEFAULT_STRATEGY})")

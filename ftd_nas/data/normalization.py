"""Per-channel normalisation: the standard constants of known datasets (one table), and which one a load uses.

Why it matters: the presets' image learning rates and DSA's brightness/contrast act on normalised pixels, so data
normalised differently from the papers' behaves differently under the same preset. CIFAR-10 kept as an `npz:` file
and normalised by its own statistics differs from the constants every reference uses by a factor of 1.2-1.3 in
scale (the references' CIFAR-10 std, 0.2023/0.1994/0.2010, is smaller than the pixels' own, about
0.247/0.243/0.261). So a dataset may declare its constants (a named reader; an npz's `mean` and `std`
arrays) and the user may choose a standard set by name (`--normalize cifar10`); the choice is recorded in the data
fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ftd_nas.errors import ConfigError, DatasetError


@dataclass(frozen=True)
class Normalization:
    """Per-channel mean and std in [0,1] pixel units, and where they come from (a standard name, 'file' or
    'declared' by the dataset file)."""

    name: str
    mean: tuple[float, ...]
    std: tuple[float, ...]


STANDARD: dict[str, Normalization] = {n.name: n for n in (
    # the constants of the reference code (DC/DSA/DM, MTT, FTD, torchvision examples)
    Normalization("cifar10", (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    Normalization("cifar100", (0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762)),
    Normalization("mnist", (0.1307,), (0.3081,)),
    Normalization("fashion-mnist", (0.2861,), (0.3530,)),
    Normalization("svhn", (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
    Normalization("imagenet", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
)}
AUTO, FILE = "auto", "file"
CHOICES = (AUTO, FILE, *STANDARD)
DECLARED = "declared"  # the dataset file's own `mean`/`std` arrays


def check_choice(choice: str) -> None:
    if choice not in CHOICES:
        raise ConfigError(f"--normalize {choice!r} is not known; choose {AUTO} (what the dataset declares, else "
                          f"its own statistics), {FILE} (the training images' own statistics) or a standard set: "
                          + ", ".join(STANDARD))


def declared(mean, std, source: str) -> Normalization:
    """Constants a dataset file declares, checked: finite, one per channel, std > 0, in [0,1] pixel units."""
    mean, std = np.asarray(mean, dtype=np.float64).ravel(), np.asarray(std, dtype=np.float64).ravel()
    if mean.shape != std.shape or mean.size not in (1, 3):
        raise DatasetError(f"{source}: `mean` and `std` must hold one value per channel (1 or 3 each), got "
                           f"{mean.size} and {std.size}")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()
            and (mean >= 0).all() and (mean <= 1).all()):
        raise DatasetError(f"{source}: `mean` must lie in [0, 1] and `std` be positive (pixel units 0-1), got "
                           f"mean {mean.tolist()}, std {std.tolist()}")
    return Normalization(DECLARED, tuple(float(v) for v in mean), tuple(float(v) for v in std))


def of_pixels(x: np.ndarray) -> Normalization:
    """The training images' own per-channel statistics (uint8 [N,H,W,C])."""
    pixels = x.reshape(-1, x.shape[-1]).astype(np.float64) / 255.0
    return Normalization(FILE, tuple(float(v) for v in pixels.mean(0)),
                         tuple(max(float(v), 1e-6) for v in pixels.std(0)))


def resolve(choice: str, declared_by_data: Normalization | None, x_train: np.ndarray) -> Normalization:
    """The constants a load uses: a standard set chosen by name, the file's own statistics, or (auto) what the
    dataset declares, else its own statistics."""
    check_choice(choice)
    channels = x_train.shape[-1]
    if choice in STANDARD:
        chosen = STANDARD[choice]
        if len(chosen.mean) != channels:
            raise ConfigError(f"--normalize {choice} has constants for {len(chosen.mean)} channel(s) but the data "
                              f"has {channels}; choose a set for {channels}-channel images, or {AUTO}")
        return chosen
    if choice == AUTO and declared_by_data is not None and len(declared_by_data.mean) == channels:
        return declared_by_data
    return of_pixels(x_train)

"""What identifies a dataset in a stored file, without saying where it lives.

Files record the fingerprint of the real data they were made from (name, class names, shape, statistics,
preprocessing, split sizes and a content hash of the training split). They never record a location: the
data always comes from the command line, and its fingerprint is checked against the file's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from ftd_nas.data.normalization import AUTO, DECLARED, FILE, STANDARD
from ftd_nas.errors import ConfigError, DatasetError
from ftd_nas.records import Part, diff_settings, format_diff

PATH_PREFIXES = ("npz", "folder")
NORMALIZATION_WORDS = {FILE: "its own statistics", DECLARED: "the constants its file declares"}


def dataset_label(name: str) -> str:
    """A dataset name without its location: 'npz:/data/c10.npz' -> 'npz:c10.npz'; named datasets lower-case."""
    prefix, sep, rest = name.partition(":")
    if sep and prefix in PATH_PREFIXES:
        return f"{prefix}:{PurePath(rest.rstrip('/')).name}"
    return name.lower()


def content_hash(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of uint8 pixels and int64 labels: the same training split gives the same hash on any machine."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return h.hexdigest()


class DataMismatchError(DatasetError):
    """The real data given differs from the data a file was made from."""


@dataclass(frozen=True)
class DataFingerprint(Part):
    name: str  # dataset_label(): no location
    classes: tuple[str, ...] | None  # None: not recorded (format-v1 expert files)
    num_classes: int
    channels: int
    image_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    zca: bool
    zca_eps: float | None
    val_fraction: float
    split_seed: int
    num_train: int
    num_val: int
    num_test: int
    train_sha256: str | None  # content hash of the training split; None: not recorded (format v1)
    normalization: str | None = None  # whose constants mean/std are (normalization.py); None: not recorded (older)

    def settings(self) -> dict:
        """What must agree; fields an older file did not record are left out (see `diff_settings`)."""
        return {k: v for k, v in self.to_dict().items()
                if not (k in ("classes", "train_sha256", "normalization") and v is None)}

    def mismatches(self, other: "DataFingerprint") -> list[str]:
        return diff_settings(self.settings(), other.settings())

    def describe(self) -> str:
        zca = f"ZCA eps {self.zca_eps:g}" if self.zca else "no ZCA"
        norm = f", normalised by {NORMALIZATION_WORDS.get(self.normalization, self.normalization + ' constants')}" \
            if self.normalization else ""
        return (f"{self.name} ({self.num_classes} classes, {self.channels}x{self.image_size[0]}x{self.image_size[1]}, "
                f"{self.num_train} training images, {zca}{norm})")

    def suggestion(self) -> str:
        """The --dataset option that names this data."""
        prefix, sep, rest = self.name.partition(":")
        if sep and prefix in PATH_PREFIXES:
            chosen = f" --normalize {self.normalization}" if self.normalization in STANDARD else ""
            return f"--dataset {prefix}:PATH/{rest}{chosen}"
        return "--dataset digits" if self.name == "digits" else f"--dataset {self.name} --data-root DIR"

    def data_config(self, dataset: str | None, data_root: str = "data", what: str = "this file"):
        """The DataConfig that loads data like this file's: location from the caller, preprocessing from the file."""
        from ftd_nas.data.loader import DataConfig

        if dataset is None:
            raise ConfigError(f"name the real data of {what}: {self.suggestion()} (it was made from "
                              f"{self.describe()}; ftd-nas never loads data from a location stored in a file)")
        size = self.image_size[0] if self.image_size[0] == self.image_size[1] else None
        return DataConfig(name=dataset, data_root=data_root, val_fraction=self.val_fraction,
                          split_seed=self.split_seed, zca=self.zca, zca_eps=self.zca_eps or 0.1, image_size=size,
                          normalize=self.normalize_choice())

    def normalize_choice(self) -> str:
        """The --normalize that loads data normalised like this file's: 'declared' constants come with the data
        again, so auto finds them; an older file recorded none, and auto is what made it."""
        return self.normalization if self.normalization in (FILE, *STANDARD) else AUTO

    def check(self, other: "DataFingerprint", what: str = "this file") -> None:
        """Raise naming every difference between the data `what` was made from (self) and `other`."""
        diff = self.mismatches(other)
        if diff:
            raise DataMismatchError(f"the data given ({other.name}) is not the data of {what} ("
                                    + format_diff(diff) + "; file vs given); pass the data it was made from, "
                                    f"{self.describe()}: {self.suggestion()}")


def upgrade_v1_fingerprint(old: dict, classes: list[str] | None = None) -> dict:
    """A format-v1 fingerprint (no classes, no content hash, name with its location) as a current one."""
    keys = ("num_classes", "channels", "image_size", "mean", "std", "zca", "zca_eps", "val_fraction", "split_seed",
            "num_train", "num_val", "num_test")
    return {"name": dataset_label(old["name"]), "classes": classes, **{k: old[k] for k in keys},
            "train_sha256": None}

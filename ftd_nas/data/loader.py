"""Load a dataset by name into normalised tensors with a seeded validation split and optional ZCA."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ftd_nas.checks import check_number, check_seed
from ftd_nas.data.fingerprint import DataFingerprint, content_hash, dataset_label
from ftd_nas.data.normalization import AUTO, check_choice, resolve
from ftd_nas.data.readers import DATASET_READERS, PATH_READERS, RawData
from ftd_nas.data.split import stratified_split
from ftd_nas.data.zca import ZCAWhitening
from ftd_nas.errors import ConfigError, DatasetError
from ftd_nas.records import Part


@dataclass
class Split:
    """Images [N,C,H,W] (normalised, float32) and labels on one device: class indices [N] (int64), or for an
    imported soft-label proxy class probabilities [N, classes] (float32)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device: torch.device | str) -> "Split":
        return Split(self.x.to(device), self.y.to(device))

    def class_counts(self, num_classes: int) -> list[int]:
        y = self.y.cpu() if self.y.dim() == 1 else self.y.cpu().argmax(1)
        return torch.bincount(y, minlength=num_classes).tolist()


@dataclass
class Dataset:
    """A dataset ready for training: train/val/test splits plus what is needed to interpret them."""

    name: str
    classes: list[str]
    channels: int
    image_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train: Split
    val: Split
    test: Split
    zca: ZCAWhitening | None = None
    val_fraction: float = 0.0
    split_seed: int = 0
    train_sha256: str | None = None  # content hash of the training split's pixels and labels
    normalization: str | None = None  # where mean/std come from: a standard set's name, 'file' or 'declared'

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def fingerprint(self) -> DataFingerprint:
        """What identifies this data in downstream files (trajectories, proxies, search runs): no location."""
        return DataFingerprint(
            name=dataset_label(self.name), classes=tuple(self.classes), num_classes=self.num_classes,
            channels=self.channels, image_size=tuple(self.image_size), mean=tuple(self.mean), std=tuple(self.std),
            zca=self.zca is not None, zca_eps=self.zca.eps if self.zca else None, val_fraction=self.val_fraction,
            split_seed=self.split_seed, num_train=len(self.train), num_val=len(self.val), num_test=len(self.test),
            train_sha256=self.train_sha256, normalization=self.normalization)

    def to_display(self, x: torch.Tensor) -> torch.Tensor:
        """Undo ZCA and normalisation: images in [0,1] for figures."""
        if self.zca is not None:
            x = self.zca.to(x.device).invert(x)
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x * std + mean).clamp(0, 1)


MAX_VAL_FRACTION = 0.95  # at most this fraction of each class is held out: the rest must still train
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 4, 1024  # resize side of image folders: ConvNets need 4 pixels; beyond 1024, memory


def check_val_fraction(val_fraction: float) -> None:
    check_number("--val-fraction", val_fraction, 0, MAX_VAL_FRACTION)


@dataclass(frozen=True)
class DataConfig(Part):
    """Which dataset to load (a location, always given by the user) and how to preprocess it."""

    name: str = "digits"
    data_root: str = "data"
    val_fraction: float = 0.1
    split_seed: int = 0
    zca: bool = False
    zca_eps: float = 0.1
    image_size: int | None = None
    normalize: str = AUTO  # normalization.py: auto (declared, else the file's statistics), file, or a standard set

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("--dataset must name a dataset, e.g. digits, cifar10 or npz:PATH")
        check_choice(self.normalize)
        check_val_fraction(self.val_fraction)
        check_seed("--split-seed", self.split_seed)
        check_number("--zca-eps", self.zca_eps, 0, low_open=True)
        if self.image_size is not None:
            check_number("--image-size", self.image_size, MIN_IMAGE_SIZE, MAX_IMAGE_SIZE, integer=True)

    def load(self, device: torch.device | str = "cpu") -> "Dataset":
        kwargs = asdict(self)
        return load_dataset(kwargs.pop("name"), kwargs.pop("data_root"), device=device, **kwargs)


def known_datasets() -> list[str]:
    return sorted(DATASET_READERS) + [f"{prefix}:PATH" for prefix in sorted(PATH_READERS)]


def read_raw(name: str, data_root: str | Path = "data", image_size: int | None = None) -> RawData:
    """Dispatch a dataset name (or `npz:PATH` / `folder:PATH`) to its reader."""
    prefix, sep, rest = name.partition(":")
    if sep and prefix in PATH_READERS:
        if not rest:
            raise ConfigError(f"--dataset {prefix}: needs a path, e.g. {prefix}:/data/my_set")
        return PATH_READERS[prefix](Path(rest).expanduser(), image_size)
    reader = DATASET_READERS.get(name.lower())
    if reader is None:
        raise ConfigError(f"unknown dataset {name!r} (--dataset); known: {', '.join(known_datasets())}")
    return reader(Path(data_root).expanduser(), image_size)


def _check_arrays(raw: RawData, name: str) -> None:
    for split in ("train", "test"):
        x, y = getattr(raw, f"x_{split}"), getattr(raw, f"y_{split}")
        if not isinstance(x, np.ndarray) or x.ndim != 4:
            raise DatasetError(f"{name}: x_{split} must be a 4-d array [N,H,W,C], got shape "
                               f"{getattr(x, 'shape', None)}")
        if x.dtype != np.uint8:
            raise DatasetError(f"{name}: x_{split} must be uint8 pixels 0-255, got {x.dtype}; "
                               "convert with (x * 255).round().astype(np.uint8) if it holds floats in [0,1]")
        if x.shape[-1] not in (1, 3):
            raise DatasetError(f"{name}: x_{split} must be channels-last with 1 or 3 channels, got shape {x.shape}")
        if not isinstance(y, np.ndarray) or y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(f"{name}: y_{split} must be a 1-d integer array, got "
                               f"{getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}")
        if len(x) != len(y):
            raise DatasetError(f"{name}: x_{split} has {len(x)} images but y_{split} has {len(y)} labels")
        if len(y) == 0:
            raise DatasetError(f"{name}: the {split} split is empty")
        if y.min() < 0 or y.max() >= len(raw.classes):
            raise DatasetError(f"{name}: y_{split} has labels in [{y.min()}, {y.max()}] but there are "
                               f"{len(raw.classes)} classes; labels must lie in [0, {len(raw.classes) - 1}]")
    if raw.x_train.shape[1:] != raw.x_test.shape[1:]:
        raise DatasetError(f"{name}: train images {raw.x_train.shape[1:]} and test images "
                           f"{raw.x_test.shape[1:]} differ in shape")
    missing = sorted(set(range(len(raw.classes))) - set(np.unique(raw.y_train).tolist()))
    if missing:
        raise DatasetError(f"{name}: classes {[raw.classes[i] for i in missing]} have no training images")


def _to_tensor(x: np.ndarray, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div_(255.0)
    return t.sub_(mean.view(1, -1, 1, 1)).div_(std.view(1, -1, 1, 1))


def load_dataset(name: str = "digits", data_root: str | Path = "data", *, device: torch.device | str = "cpu",
                 val_fraction: float = 0.1, split_seed: int = 0, zca: bool = False, zca_eps: float = 0.1,
                 image_size: int | None = None, normalize: str = AUTO) -> Dataset:
    """Read, validate and normalise a dataset; carve a stratified validation split; fit ZCA on the rest.

    >>> ds = load_dataset("digits")
    >>> ds.train.x.shape[1:], ds.num_classes
    (torch.Size([1, 16, 16]), 10)
    """
    check_val_fraction(val_fraction)
    check_choice(normalize)
    raw = read_raw(name, data_root, image_size)
    _check_arrays(raw, name)
    y_train = raw.y_train.astype(np.int64)
    channels = raw.x_train.shape[-1]
    norm = resolve(normalize, raw.normalization, raw.x_train)
    mean, std = torch.tensor(norm.mean).float(), torch.tensor(norm.std).float()
    keep, held = stratified_split(y_train, val_fraction, split_seed)
    x_all = _to_tensor(raw.x_train, mean, std)
    train = Split(x_all[keep], torch.from_numpy(y_train[keep]))
    val = Split(x_all[held], torch.from_numpy(y_train[held]))
    test = Split(_to_tensor(raw.x_test, mean, std), torch.from_numpy(raw.y_test.astype(np.int64)))
    whitening = None
    if zca:
        whitening = ZCAWhitening.fit(train.x, eps=zca_eps)
        train, val, test = (Split(whitening(s.x), s.y) for s in (train, val, test))
    return Dataset(name=name, classes=list(raw.classes), channels=channels,
                   image_size=(raw.x_train.shape[1], raw.x_train.shape[2]),
                   # rounded from the float32 constants actually applied, as records always stored them
                   mean=tuple(round(float(v), 6) for v in mean), std=tuple(round(float(v), 6) for v in std),
                   normalization=norm.name,
                   train=train.to(device), val=val.to(device), test=test.to(device),
                   zca=whitening.to(device) if whitening else None, val_fraction=val_fraction,
                   split_seed=split_seed, train_sha256=content_hash(raw.x_train[keep], y_train[keep]))

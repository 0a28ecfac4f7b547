"""Readers that turn a dataset on disk (or bundled) into uint8 NHWC arrays plus labels and class names.

Each reader returns a `RawData`; validation, normalisation, splitting and ZCA happen once, in `loader.py`.
torchvision is imported lazily and only by the readers that need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ftd_nas.errors import DatasetError
from ftd_nas.plain_pickle import ARRAYS, RestrictedUnpickler
from ftd_nas.data.normalization import STANDARD, Normalization, declared

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class RawData:
    """Unnormalised arrays as read from disk: images uint8 [N,H,W,C], labels int64 [N]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    normalization: Normalization | None = None  # constants the dataset declares (normalization.py); else computed


def _require_torchvision(dataset: str):
    try:
        import torchvision  # noqa: F401
        import torchvision.datasets as tvd
    except Exception as exc:  # ImportError, or a CUDA-only wheel failing at import time
        raise DatasetError(
            f"dataset {dataset!r} needs torchvision to download or read it, and `import torchvision` failed "
            f"({type(exc).__name__}: {exc}). Install a torchvision build that matches your torch "
            "(pip install torchvision), or provide the data in a form ftd-nas reads itself "
            "(npz:PATH with x_train,y_train,x_test,y_test, or folder:PATH with one folder per class).") from exc
    return tvd


# ---------------------------------------------------------------- bundled and array files

def read_digits(root: Path, image_size: int | None) -> RawData:
    """scikit-learn's bundled 8x8 digits, upsampled to 16x16 so ConvNets of depth 1-4 accept them."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    from ftd_nas.data.split import stratified_split

    digits = load_digits()
    size = image_size or 16
    x = torch.from_numpy(digits.images / 16.0).float().unsqueeze(1)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    y = digits.target.astype(np.int64)
    train_idx, test_idx = stratified_split(y, 0.2, seed=0)  # fixed: part of the dataset's definition
    return RawData(x[train_idx], y[train_idx], x[test_idx], y[test_idx], [str(i) for i in range(10)])


def read_npz(path: Path, image_size: int | None) -> RawData:
    """Arrays x_train, y_train, x_test, y_test (uint8 NHWC or NHW), optional classes, and optional `mean` and `std`
    (per channel, pixel units 0-1): the constants the file declares for its normalisation."""
    if not path.is_file():
        raise DatasetError(f"npz file {str(path)!r} does not exist; expected an .npz with arrays "
                           "x_train, y_train, x_test, y_test (uint8 images NHWC) and optionally classes")
    try:
        arrays = np.load(path, allow_pickle=False)
        keys = set(arrays.files)
    except Exception as exc:
        raise DatasetError(f"cannot read {str(path)!r} as an npz archive: {exc}") from exc
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in keys]
    if missing:
        raise DatasetError(f"{str(path)!r} lacks arrays {missing}; it has {sorted(keys)}. Expected "
                           "x_train, y_train, x_test, y_test (uint8 NHWC images, integer labels)")
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    if x_train.ndim == 3:
        x_train, x_test = x_train[..., None], x_test[..., None]
    classes = [str(c) for c in arrays["classes"]] if "classes" in keys else None
    y_train, y_test = arrays["y_train"], arrays["y_test"]
    if classes is None:
        classes = [str(i) for i in range(int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1)]
    norm = None
    if "mean" in keys or "std" in keys:
        if not {"mean", "std"} <= keys:
            raise DatasetError(f"{str(path)!r} declares only one of `mean` and `std`; declare both (per channel, "
                               "pixel units 0-1) or neither (then its own statistics are used)")
        norm = declared(arrays["mean"], arrays["std"], str(path))
    return RawData(x_train, y_train, x_test, y_test, classes, norm)


# ---------------------------------------------------------------- CIFAR python batches

def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise DatasetError(f"missing {str(path)!r}")
    try:
        with open(path, "rb") as fh:
            data = RestrictedUnpickler(fh, ARRAYS, "containers, strings, numbers and numpy arrays (a CIFAR batch)",
                                       encoding="bytes").load()
    except Exception as exc:  # refused global, truncated or not a pickle at all
        raise DatasetError(f"{str(path)!r} is not a CIFAR python batch ftd-nas can read safely: {exc}. "
                           "Replace it with the file from the official 'python version' archive.") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{str(path)!r} holds a {type(data).__name__}, not a CIFAR batch dictionary")
    return data


def _cifar(root: Path, folder: str, train_files: Sequence[str], test_file: str, meta_file: str,
           label_key: bytes, names_key: bytes, tv_class: str) -> RawData:
    base = root / folder
    if not base.is_dir():
        tvd = _try_download(tv_class, root)
        if tvd is None or not base.is_dir():
            raise DatasetError(
                f"{tv_class} not found: expected the python-batch folder {str(base)!r} with "
                f"{', '.join(list(train_files) + [test_file, meta_file])}. Download and extract "
                f"the 'python version' archive from the CIFAR website into {str(root)!r} (--data-root), or "
                "install torchvision on a machine with a network so ftd-nas can download it.")

    def batches(names):
        dicts = [_unpickle(base / n) for n in names]
        x = np.concatenate([d[b"data"] for d in dicts]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = np.concatenate([np.asarray(d[label_key], dtype=np.int64) for d in dicts])
        return np.ascontiguousarray(x), y

    x_train, y_train = batches(train_files)
    x_test, y_test = batches([test_file])
    classes = [c.decode() for c in _unpickle(base / meta_file)[names_key]]
    return RawData(x_train, y_train, x_test, y_test, classes)


def _try_download(tv_class: str, root: Path):
    """Download through torchvision when it imports; None (caller explains) when it does not."""
    try:
        tvd = _require_torchvision(tv_class)
    except DatasetError:
        return None
    try:
        getattr(tvd, tv_class)(str(root), train=True, download=True)
    except Exception as exc:
        raise DatasetError(f"downloading {tv_class} into {str(root)!r} failed: {exc}") from exc
    return tvd


def read_cifar10(root: Path, image_size: int | None) -> RawData:
    raw = _cifar(root, "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch",
                 "batches.meta", b"labels", b"label_names", "CIFAR10")
    raw.normalization = STANDARD["cifar10"]
    return raw


def read_cifar100(root: Path, image_size: int | None) -> RawData:
    raw = _cifar(root, "cifar-100-python", ["train"], "test", "meta", b"fine_labels", b"fine_label_names",
                 "CIFAR100")
    raw.normalization = STANDARD["cifar100"]
    return raw


# ---------------------------------------------------------------- torchvision-only datasets

def _torchvision_reader(tv_class: str, split_kwargs: Callable[[bool], dict], labels_attr: str,
                        normalization: Normalization) -> Callable[[Path, int | None], RawData]:
    def read(root: Path, image_size: int | None) -> RawData:
        tvd = _require_torchvision(tv_class)
        parts = []
        for train in (True, False):
            try:
                ds = getattr(tvd, tv_class)(str(root), download=True, **split_kwargs(train))
            except Exception as exc:
                raise DatasetError(f"reading {tv_class} from {str(root)!r} failed: {exc}") from exc
            x = np.asarray(ds.data)
            x = x.transpose(0, 2, 3, 1) if x.ndim == 4 and x.shape[1] in (1, 3) else x[..., None]
            parts.append((np.ascontiguousarray(x), np.asarray(getattr(ds, labels_attr), dtype=np.int64)))
        classes = [str(c) for c in getattr(ds, "classes", range(10))]
        return RawData(*parts[0], *parts[1], classes, normalization)

    return read


read_mnist = _torchvision_reader("MNIST", lambda t: {"train": t}, "targets", STANDARD["mnist"])
read_fashion_mnist = _torchvision_reader("FashionMNIST", lambda t: {"train": t}, "targets", STANDARD["fashion-mnist"])
read_svhn = _torchvision_reader("SVHN", lambda t: {"split": "train" if t else "test"}, "labels", STANDARD["svhn"])


# ---------------------------------------------------------------- image folders

def _load_image(path: Path, size: int) -> np.ndarray:
    """RGB uint8 [size,size,3]: shorter side resized to `size`, then centre-cropped."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        w, h = img.size
        scale = size / min(w, h)
        img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_class_folders(root: Path, size: int, classes: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images of a class-per-folder tree; `classes` fixes the label order (else sorted folder names)."""
    if not root.is_dir():
        raise DatasetError(f"image folder {str(root)!r} does not exist")
    if classes is None:
        classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"{str(root)!r} has no class sub-folders; expected ROOT/<class>/<image files>")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = _image_files(root / name)
        if not files:
            raise DatasetError(f"class folder {str(root / name)!r} holds no images ({sorted(IMAGE_SUFFIXES)})")
        for f in files:
            try:
                images.append(_load_image(f, size))
            except Exception as exc:
                raise DatasetError(f"cannot read image {str(f)!r}: {exc}") from exc
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64), list(classes)


def read_folder(path: Path, image_size: int | None) -> RawData:
    """`folder:PATH`: PATH/train and PATH/test (or val) class folders, or one tree split 80/20 by seed 0."""
    from ftd_nas.data.split import stratified_split

    size = image_size or 32
    if not path.is_dir():
        raise DatasetError(f"folder {str(path)!r} does not exist; expected PATH/<class>/<images> or "
                           "PATH/train/<class>/... with PATH/test/<class>/... (or PATH/val/...)")
    test_dir = next((path / d for d in ("test", "val") if (path / d).is_dir()), None)
    if (path / "train").is_dir() and test_dir is not None:
        x_train, y_train, classes = read_class_folders(path / "train", size)
        x_test, y_test, _ = read_class_folders(test_dir, size, classes)
        return RawData(x_train, y_train, x_test, y_test, classes)
    x, y, classes = read_class_folders(path, size)
    train_idx, test_idx = stratified_split(y, 0.2, seed=0)
    return RawData(x[train_idx], y[train_idx], x[test_idx], y[test_idx], classes)


def read_tiny_imagenet(root: Path, image_size: int | None) -> RawData:
    """tiny-imagenet-200 as distributed: train/<wnid>/images/*, val/images + val_annotations.txt (the test split)."""
    base = root / "tiny-imagenet-200"
    ann = base / "val" / "val_annotations.txt"
    if not (base / "train").is_dir() or not ann.is_file():
        raise DatasetError(f"Tiny ImageNet not found: expected {str(base / 'train')!r} and {str(ann)!r}. "
                           "Download tiny-imagenet-200.zip and unzip it into --data-root.")
    size = image_size or 64
    x_train, y_train, classes = read_class_folders(base / "train", size)
    index = {c: i for i, c in enumerate(classes)}
    x_test, y_test = [], []
    for line in ann.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[1] in index:
            x_test.append(_load_image(base / "val" / "images" / fields[0], size))
            y_test.append(index[fields[1]])
    return RawData(x_train, y_train, np.stack(x_test), np.asarray(y_test, dtype=np.int64), classes,
                   STANDARD["imagenet"])


def _imagenet_subset(name: str) -> Callable[[Path, int | None], RawData]:
    def read(root: Path, image_size: int | None) -> RawData:
        base = root / name
        if not (base / "train").is_dir() or not (base / "val").is_dir():
            raise DatasetError(
                f"{name} not found: expected {str(base / 'train')!r} and {str(base / 'val')!r}, each with one "
                "folder per class (the ImageNet wnids of the subset). Copy those classes from ImageNet's train "
                "and val sets into that layout under --data-root.")
        size = image_size or 128
        x_train, y_train, classes = read_class_folders(base / "train", size)
        x_test, y_test, _ = read_class_folders(base / "val", size, classes)
        return RawData(x_train, y_train, x_test, y_test, classes, STANDARD["imagenet"])

    return read


IMAGENET_SUBSETS = ("imagenette", "imagewoof", "imagefruit", "imagemeow", "imagesquawk", "imageyellow")

DATASET_READERS: dict[str, Callable[[Path, int | None], RawData]] = {
    "digits": read_digits,
    "cifar10": read_cifar10,
    "cifar100": read_cifar100,
    "mnist": read_mnist,
    "fashion-mnist": read_fashion_mnist,
    "svhn": read_svhn,
    "tiny-imagenet": read_tiny_imagenet,
    **{name: _imagenet_subset(name) for name in IMAGENET_SUBSETS},
}

PATH_READERS: dict[str, Callable[[Path, int | None], RawData]] = {"npz": read_npz, "folder": read_folder}

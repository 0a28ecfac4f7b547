"""Import a published distilled set as a proxy file (`ftd-nas import`).

Accepted as their authors release them:
  .pt    tensors saved with torch.save: images [N,C,H,W], labels [N] (class indices) or [N, classes] (soft labels,
         probabilities or DATM's logits), an optional 0-dim learned lr (MTT/FTD/DATM's images_best.pt,
         labels_best.pt, lr_best.pt; several images/labels files, e.g. Tiny ImageNet's images_best_0..4.pt, are
         concatenated in order), or the DC/DSA/DM code's {'data': [[images, labels], ...]} with one pair per
         experiment (--experiment picks one).
  .npz   arrays `images` (NCHW or NHWC) and `labels` (indices, or one-hot / soft rows), as KIP releases them.

Every .pt is read with torch.load(weights_only=True): a file holding anything but tensors and plain containers is
refused, so an imported file never runs code. The user names the real data the set was distilled from and its
preprocessing (--dataset, --zca, ...); the proxy records that data's fingerprint, and evaluate and search check
the real data against it. Images whose statistics do not look like data preprocessed that way are reported.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path, PurePath

import numpy as np
import torch

from ftd_nas.data import Dataset, hard_labels
from ftd_nas.errors import ConfigError, InputError
from ftd_nas.models import ModelSpec
from ftd_nas.origins import ImportConfig
from ftd_nas.proxy import Proxy, ProxyRecord, content_problems, value_problems

log = logging.getLogger(__name__)


def load_tensor_file(path: str | os.PathLike):
    """A .pt file's content, read without running code (tensors and plain containers only)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{str(path)!r} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle naming other objects, or not a torch file at all
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"refusing {str(path)!r}: it is not a file of tensors that can be read without running "
                         f"code ({type(exc).__name__}: {first[:200]})") from None


def _numbers(dtype, what: str, path: str) -> None:
    """Refuse values that are not real numbers (text, booleans, complex numbers): no image or label is one."""
    real = dtype.kind in "fiu" if isinstance(dtype, np.dtype) else not (dtype.is_complex or dtype == torch.bool)
    if not real:
        form = "floats" if what == "images" else "integer class indices, or rows of floats (probabilities, logits)"
        raise InputError(f"the {what} in {path!r} are of type {dtype}, not numbers; save them as {form}")


def _concatenate(paths: list[str], values: list, what: str) -> torch.Tensor:
    """The tensors of a set split into several files, in order (checked first: torch.cat would fail obscurely)."""
    for path, value in zip(paths, values):
        if not isinstance(value, torch.Tensor):
            raise InputError(f"{path!r} holds a {type(value).__name__}, not a tensor")
        if value.dim() == 0:
            raise InputError(f"{path!r} holds a single number, not {what}")
        _numbers(value.dtype, what, path)
    if len({(v.dim(), tuple(v.shape[1:])) for v in values}) > 1:
        shapes = ", ".join(f"{PurePath(p).name} {tuple(v.shape)}" for p, v in zip(paths, values))
        raise InputError(f"the {what} files hold {what} of different shapes ({shapes}); the files of one set hold "
                         f"{what} of one shape: are some from another set (or resolution)?")
    return torch.cat(values)


def _experiment(path: str, pairs, experiment: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of one experiment of a DC/DSA/DM results file."""
    if not isinstance(pairs, (list, tuple)) or not 0 <= experiment < len(pairs):
        raise InputError(f"{path!r} holds {len(pairs) if isinstance(pairs, (list, tuple)) else 'no'} "
                         f"experiments; --experiment {experiment} does not exist")
    pair = pairs[experiment]
    if not (isinstance(pair, (list, tuple)) and len(pair) >= 2 and all(isinstance(v, torch.Tensor) for v in pair[:2])):
        raise InputError(f"experiment {experiment} of {path!r} is not a pair [images, labels] of tensors")
    for what, value in zip(("images", "labels"), pair):
        _numbers(value.dtype, what, path)
    return pair[0], pair[1]


def _from_pt(images: list[str], labels: list[str], experiment: int) -> tuple[torch.Tensor, torch.Tensor]:
    loaded = [load_tensor_file(p) for p in images]
    if len(loaded) == 1 and isinstance(loaded[0], dict) and "data" in loaded[0]:  # DC/DSA/DM results file
        return _experiment(images[0], loaded[0]["data"], experiment)
    if not labels:
        raise ConfigError("give the labels file(s) with --labels (e.g. labels_best.pt)")
    return _concatenate(images, loaded, "images"), _concatenate(labels, [load_tensor_file(p) for p in labels], "labels")


def _npz_array(arrays, key: str, what: str, path: str) -> torch.Tensor:
    try:
        value = arrays[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # numpy's refusal of an object array: unpickling one could run code
            raise InputError(f"array {key!r} of {path!r} holds Python objects, which ftd-nas never unpickles "
                             "(that could run code); save it as an array of numbers, e.g. "
                             f"np.savez(..., {key}=np.asarray({key}, dtype=np.float32))") from None
        raise InputError(f"cannot read array {key!r} of {path!r}: {exc}") from None
    except Exception as exc:  # a damaged member of the archive
        raise InputError(f"cannot read array {key!r} of {path!r}: {exc}") from None
    _numbers(value.dtype, what, path)
    return torch.from_numpy(np.ascontiguousarray(value))


def _from_npz(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        arrays = np.load(path, allow_pickle=False)
        keys = set(arrays.files)
    except Exception as exc:
        raise InputError(f"cannot read {path!r} as an npz archive: {exc}") from None
    x_key = next((k for k in ("images", "x", "x_train") if k in keys), None)
    y_key = next((k for k in ("labels", "y", "y_train") if k in keys), None)
    if x_key is None or y_key is None:
        raise InputError(f"{path!r} has arrays {sorted(keys)}; expected images and labels")
    x = _npz_array(arrays, x_key, "images", path).float()
    if x.dim() == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):  # NHWC, as KIP stores it
        x = x.permute(0, 3, 1, 2).contiguous()
    return x, _npz_array(arrays, y_key, "labels", path)


def _labels(y: torch.Tensor, num_classes: int, how: str) -> tuple[torch.Tensor, str]:
    """Hard labels as int64 [N]; soft rows as probabilities [N, classes] (logits through softmax)."""
    if y.dim() not in (1, 2) or (y.dim() == 2 and y.shape[1] != num_classes):
        raise InputError(f"labels of shape {tuple(y.shape)}: expected [N] or [N, {num_classes}] for this dataset")
    finite = torch.isfinite(y) if y.dim() == 1 else torch.isfinite(y).all(1)
    bad = (~finite).nonzero().flatten().tolist()
    if bad:  # before reading the rows: softmax would spread a NaN over its whole row, and auto would call it logits
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        raise InputError(f"label row {bad[0]} holds NaN or inf{more}: the file is damaged, or the set diverged when "
                         "it was made; use another copy of it")
    if y.dim() == 1:
        if y.dtype.is_floating_point and not torch.equal(y, y.round()):
            raise InputError("labels of one dimension must be class indices")
        return y.long(), "hard"
    y = y.float()
    one_hot = bool(((y == 0) | (y == 1)).all() and (y.sum(1) == 1).all())
    if one_hot:
        return y.argmax(1), "hard (one-hot)"
    looks_like_probabilities = bool((y >= 0).all() and torch.allclose(y.sum(1), torch.ones(len(y)), atol=1e-3))
    if how == "logits" or (how == "auto" and not looks_like_probabilities):
        return torch.softmax(y, dim=1), "soft (logits, softmax applied)"
    if not looks_like_probabilities:
        raise InputError("--soft-labels probabilities, but the label rows are not probability distributions; they "
                         "look like logits (DATM releases logits): use --soft-labels logits")
    return y, "soft (probabilities)"


def _learned_lr(path: str) -> float:
    value = load_tensor_file(path)
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or value.dtype.is_complex:
        raise InputError(f"{path!r} should hold one learned lr (a tensor of one number), got {value!r:.80}")
    return float(value)


# How to fix each kind of problem (`ftd_nas.proxy.Problem`) of a published set
ADVICE = {
    "shape": "is this set from another dataset (or resolution)? Name the data it was distilled from with --dataset "
             "(and --image-size)",
    "count": "give the labels files that go with the images files, in the same order",
    "empty": "check that --images and --labels name the set's files (and --experiment its experiment)",
    "labels": "class indices count from 0 to the number of classes minus one; is the set from a dataset with other "
              "classes, or are its labels counted from 1?",
    "soft_labels": "soft labels are one row per image of probabilities or logits; check --soft-labels",
    "nonfinite": "the file is damaged, or the set diverged when it was made; use another copy of it",
    "range": "the set does not look preprocessed like the real data (raw pixel values, or ZCA applied twice?); "
             "check --zca and the normalisation",
    "lr": "give --lr a positive number (or a learned-lr file holding one)",
}


def check_set(images: torch.Tensor, labels: torch.Tensor, lr: float, dataset: Dataset,
              lr_file: str | None = None) -> None:
    """Refuse, before anything is written, a set that loading, evaluating or searching on its proxy would refuse:
    the same checks (`ftd_nas.proxy`), with advice for a published set."""
    problems = content_problems(images, labels, (dataset.channels, *dataset.image_size), dataset.num_classes)
    problems += value_problems({"images": images}, lr, dataset)
    if problems:
        advice = dict(ADVICE)
        if lr_file:  # the lr came from a file: say which
            advice["lr"] = f"{lr_file!r} should hold one positive learned lr; or give --lr a number"
        raise InputError(f"cannot import this set for {dataset.name} (nothing was written): "
                         + "; ".join(f"{p.text}: {advice[p.kind]}" for p in problems))


def check_statistics(images: torch.Tensor, dataset: Dataset) -> list[str]:
    """Warnings when the set does not look like data preprocessed as declared (the commonest import mistake)."""
    real = dataset.train.x
    warnings = []
    for c in range(images.shape[1]):
        mean, std = float(images[:, c].mean()), float(images[:, c].std())
        real_mean, real_std = float(real[:, c].mean()), float(real[:, c].std())
        if abs(mean - real_mean) > 1.0 or not 0.2 < std / max(real_std, 1e-6) < 5:
            warnings.append(f"channel {c}: mean {mean:.2f}, std {std:.2f}, but the real data preprocessed as declared "
                            f"has mean {real_mean:.2f}, std {real_std:.2f}")
    if warnings:
        zca = "with ZCA" if dataset.zca is not None else "without ZCA"
        warnings.append(f"the set may not be preprocessed like the real data ({zca}, normalised by "
                        f"{list(dataset.mean)} / {list(dataset.std)}): check --zca and the normalisation; a published "
                        "set that evaluates near chance usually had ZCA missing or applied twice")
    return warnings


def import_distilled(images: list[str], labels: list[str], dataset: Dataset, config: ImportConfig,
                     lr_file: str | None = None, fmt: str | None = None):
    """Read a published set (see the module docstring) into a `Proxy` for `dataset`, checked against it."""
    started = time.perf_counter()
    if not images:
        raise ConfigError("give the images file(s) with --images")
    fmt = fmt or ("npz" if images[0].endswith(".npz") else "pt")
    if fmt == "npz" and (len(images) > 1 or labels):
        # an .npz holds its images and labels together: files given beside it would be silently left out
        raise ConfigError(f"an .npz set holds its own images and labels: give it alone with --images (ignored "
                          f"otherwise: {', '.join(PurePath(f).name for f in images[1:] + labels)})")
    x, y = _from_npz(images[0]) if fmt == "npz" else _from_pt(images, labels, config.experiment)
    x = x.detach().float()
    y, kind = _labels(y.detach(), dataset.num_classes, config.soft_labels)
    lr = config.lr if lr_file is None else _learned_lr(lr_file)
    check_set(x, y, lr, dataset, lr_file)
    for warning in check_statistics(x, dataset):
        log.warning("import: %s", warning)
    files = [PurePath(p).name for p in images + labels + ([lr_file] if lr_file else [])]
    config = ImportConfig(**{**config.to_dict(), "files": files, "lr": lr})
    counts = torch.bincount(hard_labels(y), minlength=dataset.num_classes)
    record = ProxyRecord(method=config.method, ipc=int(counts.max()), iterations=0,
                         model=ModelSpec().for_data(dataset.channels, dataset.image_size, dataset.num_classes),
                         data=dataset.fingerprint(), imported=config, seconds=time.perf_counter() - started,
                         created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    log.info("import: %d images, labels %s, lr %g", len(x), kind, lr)
    return Proxy(x, y, lr, record)

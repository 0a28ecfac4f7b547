"""The proxy file: a distilled dataset plus everything needed to use it with only the real dataset beside it.

One safetensors file: tensors `images` (the proxy: EMA images for FTD), `labels`, `syn_lr`, optionally
`raw_images` (FTD's final non-EMA images) and the ZCA matrices; JSON metadata holding a `ProxyRecord`
(method, IPC, iterations, network, data fingerprint, resolved configuration, provenance).

A proxy is immutable once distilled: evaluations are separate files beside it (see `ftd_nas/evaluation.py`),
and its identity (`Proxy.digest`) depends only on its tensors and settings, never on where it lies.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ftd_nas.data import Dataset, Split, ZCAWhitening, hard_labels
from ftd_nas.data.fingerprint import DataFingerprint, upgrade_v1_fingerprint
from ftd_nas.errors import InputError, NonFiniteError
from ftd_nas.io import atomic_path
from ftd_nas.models import ModelSpec
from ftd_nas.origins import DistillConfig, ImportConfig, SelectConfig
from ftd_nas.records import Record, RecordError, folder_label

META_KEY = "ftd_nas"
RANGE_FACTOR = 10.0  # values beyond this many times the real data's largest magnitude: a diverged distillation


class ProxyError(InputError):
    """A proxy file is unreadable or does not fit the data it is used with."""


def _proxy_v1_to_v2(old: dict) -> dict:
    prov = old.get("provenance", {})
    # v1 stored where the data and experts lay (data_config, provenance.experts); neither is kept or followed
    return {"method": old["method"], "ipc": old["ipc"], "iterations": old["iterations"], "model": old["model"],
            "data": upgrade_v1_fingerprint(old["dataset"], old.get("classes")), "distill": old["config"],
            "experts": {"folder": folder_label(prov.get("experts", "")), "count": prov.get("num_experts"),
                        "settings": prov.get("expert_settings")},
            "seconds": prov.get("seconds", 0.0), "environment": prov.get("environment", {}),
            "created": prov.get("created", "")}


@dataclass(frozen=True)
class ProxyRecord(Record):
    """The metadata of a proxy file."""

    FORMAT = "ftd-nas-proxy"
    UPGRADES = {1: _proxy_v1_to_v2}

    method: str  # ftd | mtt | dsa | dm (distilled) or random | herding | kcenter (selected real images)
    ipc: int
    iterations: int
    model: ModelSpec  # the network it was distilled with (the experts'), or whose embeddings chose a coreset
    data: DataFingerprint  # the real data it was made from: classes, shape, statistics, content hash
    distill: DistillConfig | None = None  # the resolved configuration of a distillation
    selection: SelectConfig | None = None  # the configuration of a coreset selection
    imported: ImportConfig | None = None  # how a published set was read
    experts: dict = field(default_factory=dict)  # provenance: folder name, count and settings of the experts
    seconds: float = 0.0
    environment: dict = field(default_factory=dict)
    created: str = ""

    def settings(self) -> dict:
        """What the proxy is, as opposed to how and when it was made."""
        made = {key: part.to_dict() for key, part in self._origin().items()}
        return {"method": self.method, "ipc": self.ipc, "iterations": self.iterations, "model": self.model.to_dict(),
                "data": self.data.settings(), **made}

    def _origin(self) -> dict:
        return {k: v for k, v in (("distill", self.distill), ("selection", self.selection),
                                  ("imported", self.imported)) if v is not None}

    def __post_init__(self) -> None:
        if len(self._origin()) != 1:
            raise RecordError("a proxy record holds exactly one of: a distillation, a selection or an import "
                              "configuration")


@dataclass
class Proxy:
    images: torch.Tensor
    labels: torch.Tensor
    syn_lr: float
    record: ProxyRecord
    raw_images: torch.Tensor | None = None
    # Only files written before 2026-12 carry their ZCA matrices (76 MB at 32x32x3, never read): kept so their
    # digest stays the same. The fingerprint (train_sha256, zca_eps) fixes the whitening, which evaluate and search
    # recompute from the real data they are given.
    zca: ZCAWhitening | None = None
    path: Path | None = field(default=None, compare=False)
    legacy_evaluations: list[dict] = field(default_factory=list, compare=False)  # kept inside v1 files

    @property
    def soft_labels(self) -> bool:
        return self.labels.dim() == 2

    @property
    def ipc(self) -> int:
        return int(torch.bincount(hard_labels(self.labels)).max())

    @property
    def classes(self) -> list[str]:
        return list(self.record.data.classes or [])

    def split(self, device: torch.device | str = "cpu", raw: bool = False) -> Split:
        images = self.raw_images if raw else self.images
        if images is None:
            raise ProxyError("this proxy has no raw (non-EMA) images")
        return Split(images.to(device), self.labels.to(device))

    def tensors(self) -> dict[str, torch.Tensor]:
        tensors = {"images": self.images, "labels": self.labels, "syn_lr": torch.tensor([self.syn_lr])}
        if self.raw_images is not None:
            tensors["raw_images"] = self.raw_images
        if self.zca is not None:
            tensors.update(self.zca.state_dict())
        return {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}

    def digest(self) -> str:
        """sha256 of the tensors and settings: the proxy's identity wherever the file lies or however it is named."""
        h = hashlib.sha256()
        for name, t in sorted(self.tensors().items()):
            h.update(f"{name}:{t.dtype}:{list(t.shape)}".encode())
            h.update(t.numpy().tobytes())
        h.update(json.dumps(self.record.settings(), sort_keys=True).encode())
        return h.hexdigest()

    def save(self, path: str | os.PathLike) -> None:
        for name, t in (("images", self.images), ("raw_images", self.raw_images)):
            if t is not None and not torch.isfinite(t).all():
                raise NonFiniteError(f"refusing to write a proxy whose {name} contain NaN or inf")
        with atomic_path(path) as tmp:
            save_file(self.tensors(), str(tmp), metadata={META_KEY: json.dumps(self.record.to_dict())})
        self.path = Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Proxy":
        path = Path(path)
        if not path.is_file():
            raise ProxyError(f"proxy file {str(path)!r} does not exist; make one with `ftd-nas distill`")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads((f.metadata() or {}).get(META_KEY, "{}"))
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:
            raise ProxyError(f"{str(path)!r} is not a readable proxy file (truncated or corrupt?): {exc}") from exc
        if "images" not in tensors or "labels" not in tensors or "syn_lr" not in tensors:
            raise ProxyError(f"{str(path)!r} is not an ftd-nas proxy file (tensors {sorted(tensors)})")
        legacy = meta.pop("evaluations", []) if meta.get("format_version") == 1 else []
        try:
            record = ProxyRecord.from_dict(meta, repr(str(path)))
        except RecordError as exc:
            raise ProxyError(str(exc)) from None
        zca = ZCAWhitening.from_state_dict(tensors) if "zca_transform" in tensors else None
        labels = tensors["labels"]
        if labels.dim() != 2 and (labels.is_floating_point() or labels.is_complex()) and labels.numel() and not bool(
                (torch.isfinite(labels) & (labels == labels.round())).all()):
            # .long() would truncate 2.7 to 2 and turn NaN into an arbitrary class: a wrong proxy, silently
            raise ProxyError(f"{str(path)!r} holds class labels that are not whole numbers (a {labels.dtype} "
                             "tensor with fractional or non-finite values); store class indices as integers, or "
                             "class probabilities as an [N, classes] tensor")
        labels = labels.float() if labels.dim() == 2 else labels.long()  # soft labels: class probabilities
        proxy = cls(tensors["images"], labels, float(tensors["syn_lr"][0]), record,
                    tensors.get("raw_images"), zca, path, legacy if isinstance(legacy, list) else [])
        proxy.check_shapes()
        return proxy

    def check_shapes(self) -> None:
        """Tensors that agree with each other and with the record (a file from elsewhere may not)."""
        data, where = self.record.data, repr(str(self.path)) if self.path else "the proxy"
        problems = [p.text for p in content_problems(self.images, self.labels, (data.channels, *data.image_size),
                                                     data.num_classes)]
        if self.raw_images is not None and self.raw_images.shape != self.images.shape:
            problems.append(f"raw_images have shape {tuple(self.raw_images.shape)}, images {tuple(self.images.shape)}")
        if problems:
            raise ProxyError(f"{where} is inconsistent: " + "; ".join(problems))

    def check_dataset(self, dataset: Dataset) -> None:
        """Refuse real data that differs from the data the proxy was distilled from, and a proxy whose values
        are not finite or lie far outside that data's range (a diverged distillation)."""
        what = f"the proxy {str(self.path)!r}" if self.path else "the proxy"
        self.record.data.check(dataset.fingerprint(), what)
        problems = value_problems({"images": self.images, "raw_images": self.raw_images}, self.syn_lr, dataset)
        if problems:
            advice = ("distill it again with a lower --lr-lr" if problems[0].kind == "lr" else
                      "it comes from a diverged distillation; distill it again with a lower --lr-img")
            raise NonFiniteError(f"{what}: {problems[0].text}; {advice}")


# ---------------------------------------------------------------------------------------------------------------
# What a proxy must be, stated once: loading a proxy file (`check_shapes`), evaluating or searching on it
# (`check_dataset`) and importing a published set (`ftd_nas/importer.py`) all ask these functions, so import never
# writes a file that evaluate or search would refuse. Each caller words its own advice, by the problem's kind.

class Problem(NamedTuple):
    """One reason tensors are not a usable proxy. kind: shape | empty | count | labels | soft_labels | nonfinite |
    range | lr, for the caller's advice; text: what is wrong, a clause that follows the name of the proxy or set."""

    kind: str
    text: str


def _rows(mask: torch.Tensor) -> str:
    """The first few row numbers where `mask` holds, for a message."""
    rows = mask.nonzero().flatten().tolist()
    return ", ".join(map(str, rows[:5])) + (f" (and {len(rows) - 5} more)" if len(rows) > 5 else "")


def content_problems(images: torch.Tensor, labels: torch.Tensor, image_shape: tuple[int, ...],
                     num_classes: int) -> list[Problem]:
    """Why `images` and `labels` (hard [N] or probabilities [N, classes]) are not a proxy for data of that image
    shape and number of classes; none when they are."""
    if images.dim() != 4 or tuple(images.shape[1:]) != tuple(image_shape):
        return [Problem("shape", f"images have shape {tuple(images.shape)}, expected "
                                 f"[N, {', '.join(map(str, image_shape))}]")]
    if len(images) == 0:
        return [Problem("empty", "there are no images")]  # nothing to train on: every use of it would fail
    if labels.shape not in ((len(images),), (len(images), num_classes)):
        return [Problem("count", f"{len(images)} images but labels of shape {tuple(labels.shape)}, expected "
                                 f"[{len(images)}] or [{len(images)}, {num_classes}]")]
    if labels.dim() == 2:
        # probabilities: what soft cross-entropy expects (an importer turns logits into them)
        bad = ~((labels >= 0).all(1) & ((labels.sum(1) - 1).abs() <= 1e-3))  # NaN fails both: a bad row
        if bool(bad.any()):
            return [Problem("soft_labels", f"soft label rows {_rows(bad)} are not probability distributions "
                                           "(non-negative, summing to 1)")]
    elif not (0 <= int(labels.min()) and int(labels.max()) < num_classes):
        return [Problem("labels", f"labels outside 0..{num_classes - 1} (they run from {int(labels.min())} to "
                                  f"{int(labels.max())})")]
    return []


def value_problems(images: dict[str, torch.Tensor | None], syn_lr: float, dataset: Dataset) -> list[Problem]:
    """Non-finite images (by name), images far outside the real data's range (beyond RANGE_FACTOR times its
    largest magnitude: what a diverged distillation, or a set not preprocessed like the data, looks like), and a
    learned lr that is not a finite positive number."""
    bound = RANGE_FACTOR * float(dataset.train.x.abs().max())
    problems = []
    for name, tensor in images.items():
        if tensor is None or tensor.numel() == 0:
            continue
        if not bool(torch.isfinite(tensor).all()):
            problems.append(Problem("nonfinite", f"{name} hold NaN or inf values"))
            continue
        largest = float(tensor.abs().max())
        if largest > bound:
            problems.append(Problem("range", f"{name} values reach {largest:.3g}, far outside the real data's range "
                                             f"(|x| <= {bound / RANGE_FACTOR:.3g})"))
    if not (syn_lr > 0 and math.isfinite(syn_lr)):
        problems.append(Problem("lr", f"the learned lr is {syn_lr}, not a finite positive number"))
    return problems

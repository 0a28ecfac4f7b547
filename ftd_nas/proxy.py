"""The proxy file: a distilled dataset plus everything needed to use it with only the real dataset beside it.

One safetensors file: tensors `images` (the proxy: EMA images for FTD), `labels`, `syn_lr`, optionally
`raw_images` (FTD's final non-EMA images) and the ZCA matrices; JSON metadata with class names, image size,
normalisation, model spec, method, resolved configuration, iteration count, provenance and evaluations.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ftd_nas.data import Dataset, Split, ZCAWhitening
from ftd_nas.errors import FtdNasError, NonFiniteError
from ftd_nas.io import atomic_path

FORMAT = "ftd-nas-proxy"
FORMAT_VERSION = 1
# Fingerprint fields that must agree between the proxy and the real data it is used with.
DATA_KEYS = ("name", "num_classes", "channels", "image_size", "mean", "std", "zca")


class ProxyError(FtdNasError):
    """A proxy file is unreadable or does not fit the data it is used with."""


@dataclass
class Proxy:
    images: torch.Tensor
    labels: torch.Tensor
    syn_lr: float
    meta: dict
    raw_images: torch.Tensor | None = None
    zca: ZCAWhitening | None = None
    path: Path | None = field(default=None, compare=False)

    @property
    def ipc(self) -> int:
        return int(torch.bincount(self.labels).max())

    @property
    def classes(self) -> list[str]:
        return self.meta["classes"]

    def split(self, device: torch.device | str = "cpu", raw: bool = False) -> Split:
        images = self.raw_images if raw else self.images
        if images is None:
            raise ProxyError("this proxy has no raw (non-EMA) images")
        return Split(images.to(device), self.labels.to(device))

    def save(self, path: str | os.PathLike) -> None:
        for name, t in (("images", self.images), ("raw_images", self.raw_images)):
            if t is not None and not torch.isfinite(t).all():
                raise NonFiniteError(f"refusing to write a proxy whose {name} contain NaN or inf")
        tensors = {"images": self.images, "labels": self.labels, "syn_lr": torch.tensor([self.syn_lr])}
        if self.raw_images is not None:
            tensors["raw_images"] = self.raw_images
        if self.zca is not None:
            tensors.update(self.zca.state_dict())
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **self.meta}
        with atomic_path(path) as tmp:
            save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp),
                      metadata={"ftd_nas": json.dumps(meta)})
        self.path = Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Proxy":
        path = Path(path)
        if not path.is_file():
            raise ProxyError(f"proxy file {str(path)!r} does not exist; make one with `ftd-nas distill`")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads((f.metadata() or {}).get("ftd_nas", "{}"))
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:
            raise ProxyError(f"{str(path)!r} is not a readable proxy file (truncated or corrupt?): {exc}") from exc
        if meta.get("format") != FORMAT or "images" not in tensors:
            raise ProxyError(f"{str(path)!r} is not an ftd-nas proxy file")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ProxyError(f"{str(path)!r} is proxy format v{meta.get('format_version')}; "
                             f"this ftd-nas reads v{FORMAT_VERSION}")
        zca = ZCAWhitening.from_state_dict(tensors) if "zca_transform" in tensors else None
        return cls(tensors["images"], tensors["labels"], float(tensors["syn_lr"][0]), meta,
                   tensors.get("raw_images"), zca, path)

    def check_dataset(self, dataset: Dataset) -> None:
        """Refuse real data that differs from the data the proxy was distilled from."""
        ours, theirs = self.meta["dataset"], dataset.fingerprint()
        diff = [f"{k}: {ours.get(k)!r} in the proxy, {theirs.get(k)!r} here" for k in DATA_KEYS
                if ours.get(k) != theirs.get(k)]
        if diff:
            raise ProxyError(f"the proxy was distilled from other data than {dataset.name!r}: " + "; ".join(diff))

    def record_evaluation(self, result: dict) -> None:
        """Append an evaluation to the metadata and rewrite the file atomically."""
        self.meta.setdefault("evaluations", []).append(result)
        if self.path is not None:
            self.save(self.path)

"""ZCA whitening as the CIFAR presets use it (kornia's ZCAWhitening, unbiased covariance, eps 0.1)."""

from __future__ import annotations

import os

import torch
from safetensors.torch import load_file, save_file

from ftd_nas.errors import DatasetError

MAX_ZCA_DIM = 16384  # a 3x64x64 image; beyond this the covariance no longer fits comfortably


class ZCAWhitening:
    """Whitening fitted on training images and applied to every split; invertible for display."""

    def __init__(self, mean: torch.Tensor, transform: torch.Tensor, inverse: torch.Tensor, eps: float):
        self.mean, self.transform, self.inverse, self.eps = mean, transform, inverse, float(eps)

    @classmethod
    def fit(cls, images: torch.Tensor, eps: float = 0.1) -> "ZCAWhitening":
        """Fit on images [N,C,H,W] (already normalised), in float64 for a stable eigendecomposition."""
        flat = images.reshape(len(images), -1).to(torch.float64)
        dim = flat.shape[1]
        if dim > MAX_ZCA_DIM:
            raise DatasetError(f"ZCA needs a {dim}x{dim} covariance; images this large (over {MAX_ZCA_DIM} "
                               "values) are not whitened in the paper's presets: drop --zca")
        if len(flat) < 2:
            raise DatasetError("ZCA needs at least two training images")
        mean = flat.mean(0)
        centred = flat - mean
        cov = centred.T @ centred / (len(flat) - 1)
        eigval, eigvec = torch.linalg.eigh(cov)
        eigval = eigval.clamp_min(0.0) + eps
        transform = (eigvec * eigval.rsqrt()) @ eigvec.T
        inverse = (eigvec * eigval.sqrt()) @ eigvec.T
        return cls(mean.float(), transform.float(), inverse.float(), eps)

    def to(self, device: torch.device | str) -> "ZCAWhitening":
        return ZCAWhitening(self.mean.to(device), self.transform.to(device), self.inverse.to(device), self.eps)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        flat = images.reshape(len(images), -1)
        return ((flat - self.mean) @ self.transform).reshape(images.shape)

    def invert(self, images: torch.Tensor) -> torch.Tensor:
        flat = images.reshape(len(images), -1)
        return (flat @ self.inverse + self.mean).reshape(images.shape)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"zca_mean": self.mean, "zca_transform": self.transform, "zca_inverse": self.inverse,
                "zca_eps": torch.tensor([self.eps], dtype=torch.float64)}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "ZCAWhitening":
        try:
            return cls(state["zca_mean"], state["zca_transform"], state["zca_inverse"], state["zca_eps"].item())
        except KeyError as exc:
            raise DatasetError(f"ZCA state is missing {exc.args[0]!r}") from exc

    def save(self, path: str | os.PathLike) -> None:
        from ftd_nas.io import atomic_path

        with atomic_path(path) as tmp:
            save_file({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, str(tmp))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ZCAWhitening":
        return cls.from_state_dict(load_file(str(path)))

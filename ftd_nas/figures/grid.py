"""PNG grids of images (one row per class), written with Pillow so it is cheap inside long loops."""

from __future__ import annotations

import os

import numpy as np
import torch

from ftd_nas.io import atomic_path


def image_grid(images: torch.Tensor, nrow: int, pad: int = 1, scale: int = 1) -> np.ndarray:
    """[N,C,H,W] in [0,1] -> uint8 [rows*(H+pad)+pad, nrow*(W+pad)+pad, 3], row-major."""
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    n, _, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    grid = np.ones((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = \
            images[i].permute(1, 2, 0).numpy()
    out = (grid * 255).round().astype(np.uint8)
    return out.repeat(scale, 0).repeat(scale, 1) if scale > 1 else out


def save_grid(path: str | os.PathLike, images: torch.Tensor, nrow: int, scale: int | None = None) -> None:
    """Save a grid PNG; small images are enlarged so a grid is readable on screen."""
    from PIL import Image

    h = images.shape[-2]
    scale = scale or max(1, 64 // h)
    with atomic_path(path) as tmp:
        Image.fromarray(image_grid(images, nrow, scale=scale)).save(tmp, format="PNG")

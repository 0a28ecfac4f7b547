"""Differentiable Siamese Augmentation (Zhao & Bilen 2021) as DC/MTT/FTD use it.

Each call picks ONE family from the strategy string and draws per-sample parameters. Every op is
differentiable with respect to the images. Passing the same `seed` replays the same draw on another
batch of the same size (the "Siamese" part); parameters are drawn from a CPU generator, so a seed gives
the same transform on every device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ftd_nas.errors import ConfigError

DEFAULT_STRATEGY = "color_crop_cutout_flip_scale_rotate"


@dataclass(frozen=True)
class DSAParams:
    """Magnitudes of the transforms (DSA's ParamDiffAug defaults)."""

    prob_flip: float = 0.5
    ratio_scale: float = 1.2
    ratio_rotate: float = 15.0  # degrees
    ratio_crop_pad: float = 0.125
    ratio_cutout: float = 0.5
    brightness: float = 1.0
    saturation: float = 2.0
    contrast: float = 0.5


def _rand(n: int, g: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, generator=g).to(device=x.device, dtype=x.dtype)


def _randint(low: int, high: int, n: int, g: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    return torch.randint(low, high, (n,), generator=g).to(x.device)


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, align_corners=True)


def color(x: torch.Tensor, g: torch.Generator, p: DSAParams) -> torch.Tensor:
    n = len(x)
    x = x + (_rand(n, g, x).view(-1, 1, 1, 1) - 0.5) * p.brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(n, g, x).view(-1, 1, 1, 1) * p.saturation) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, g, x).view(-1, 1, 1, 1) + p.contrast) + mean


def crop(x: torch.Tensor, g: torch.Generator, p: DSAParams) -> torch.Tensor:
    """Translate by up to ratio_crop_pad of the size, filling with zeros (pad-and-crop)."""
    n, _, h, w = x.shape
    sh, sw = int(h * p.ratio_crop_pad + 0.5), int(w * p.ratio_crop_pad + 0.5)
    ty = _randint(-sh, sh + 1, n, g, x).view(n, 1, 1)
    tx = _randint(-sw, sw + 1, n, g, x).view(n, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    rows = (rows + ty + 1).clamp(0, h + 1).expand(n, h, w)
    cols = (cols + tx + 1).clamp(0, w + 1).expand(n, h, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, g: torch.Generator, p: DSAParams) -> torch.Tensor:
    """Zero one square of side ratio_cutout * size per image, centred at a random pixel."""
    n, _, h, w = x.shape
    ch, cw = int(h * p.ratio_cutout + 0.5), int(w * p.ratio_cutout + 0.5)
    cy = _randint(0, h + (1 - ch % 2), n, g, x).view(n, 1, 1)
    cx = _randint(0, w + (1 - cw % 2), n, g, x).view(n, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    in_rows = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch)
    in_cols = (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
    mask = (~(in_rows & in_cols)).to(x.dtype)
    return x * mask.unsqueeze(1)


def flip(x: torch.Tensor, g: torch.Generator, p: DSAParams) -> torch.Tensor:
    return torch.where(_rand(len(x), g, x).view(-1, 1, 1, 1) < p.prob_flip, x.flip(3), x)


def scale(x: torch.Tensor, g: torch.Generator, p: DSAParams) -> torch.Tensor:
    n, r = len(x), p.ratio_scale
    sx = _rand(n, g, x) * (r - 1.0 / r) + 1.0 / r
    sy = _rand(n, g, x) * (r - 1.0 / r) + 1.0 / r
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 1, 1] = sx, sy
    return _affine(x, theta)


def rotate(x: torch.Tensor, g: torch.Generator, p: DSAParams) -> torch.Tensor:
    n = len(x)
    angle = (_rand(n, g, x) - 0.5) * 2 * p.ratio_rotate / 180 * math.pi
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                         torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1)
    return _affine(x, theta)


AUGMENT_FAMILIES: dict[str, Callable[[torch.Tensor, torch.Generator, DSAParams], torch.Tensor]] = {
    "color": color, "crop": crop, "cutout": cutout, "flip": flip, "scale": scale, "rotate": rotate,
}


def parse_strategy(strategy: str | None) -> list[str]:
    """'color_crop_...' -> ['color', 'crop', ...]; None, '' or 'none' -> [] (no augmentation)."""
    if not strategy or strategy.lower() == "none":
        return []
    families = strategy.split("_")
    unknown = [f for f in families if f not in AUGMENT_FAMILIES]
    if unknown:
        raise ConfigError(f"unknown DSA families {unknown} in {strategy!r}; choose from "
                          f"{', '.join(AUGMENT_FAMILIES)} joined by '_' (or 'none')")
    return families


def dsa(x: torch.Tensor, strategy: str | None = DEFAULT_STRATEGY, *, seed: int | None = None,
        generator: torch.Generator | None = None, params: DSAParams = DSAParams()) -> torch.Tensor:
    """Augment a batch [N,C,H,W] with one randomly chosen family.

    `seed` replays an exact draw (use the same seed for two batches to augment them alike);
    `generator` continues a seeded stream; with neither, torch's global CPU RNG is used.
    """
    families = parse_strategy(strategy)
    if not families:
        return x
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    elif generator is None:
        generator = torch.default_generator
    family = families[int(torch.randint(len(families), (1,), generator=generator))]
    return AUGMENT_FAMILIES[family](x, generator, params).contiguous()

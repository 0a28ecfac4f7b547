"""Differentiable Siamese Augmentation (Zhao & Bilen 2021) as DC/MTT/FTD use it.

Each call picks ONE family from the strategy string and draws per-sample parameters. Every op is
differentiable with respect to the images. Passing the same `seed` replays the same draw on another
batch of the same size (the "Siamese" part). A draw is one [k, N] block of uniforms from a CPU generator,
so a seed gives the same transform on every device, and a GPU step costs one asynchronous host-to-device
copy and no host synchronisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ftd_nas.errors import ConfigError
from ftd_nas.runtime import host_to_device

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


def _uniform_int(u: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Uniforms in [0, 1) -> integers in [low, high), shaped [N, 1, 1] for indexing."""
    return (u * (high - low)).floor().clamp(max=high - low - 1).long().view(-1, 1, 1) + low


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, align_corners=True)


def color(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    x = x + (u[0].view(-1, 1, 1, 1) - 0.5) * p.brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (u[1].view(-1, 1, 1, 1) * p.saturation) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (u[2].view(-1, 1, 1, 1) + p.contrast) + mean


def crop(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    """Translate by up to ratio_crop_pad of the size, filling with zeros (pad-and-crop)."""
    n, _, h, w = x.shape
    sh, sw = int(h * p.ratio_crop_pad + 0.5), int(w * p.ratio_crop_pad + 0.5)
    ty, tx = _uniform_int(u[0], -sh, sh + 1), _uniform_int(u[1], -sw, sw + 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    rows = (rows + ty + 1).clamp(0, h + 1).expand(n, h, w)
    cols = (cols + tx + 1).clamp(0, w + 1).expand(n, h, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    """Zero one square of side ratio_cutout * size per image, centred at a random pixel."""
    _, _, h, w = x.shape
    ch, cw = int(h * p.ratio_cutout + 0.5), int(w * p.ratio_cutout + 0.5)
    cy, cx = _uniform_int(u[0], 0, h + (1 - ch % 2)), _uniform_int(u[1], 0, w + (1 - cw % 2))
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    in_rows = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch)
    in_cols = (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
    mask = (~(in_rows & in_cols)).to(x.dtype)
    return x * mask.unsqueeze(1)


def flip(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    return torch.where(u[0].view(-1, 1, 1, 1) < p.prob_flip, x.flip(3), x)


def scale(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    r = p.ratio_scale
    s = u[:2] * (r - 1.0 / r) + 1.0 / r
    zero = torch.zeros_like(s[0])
    theta = torch.stack([torch.stack([s[0], zero, zero], 1), torch.stack([zero, s[1], zero], 1)], 1)
    return _affine(x, theta)


def rotate(x: torch.Tensor, u: torch.Tensor, p: DSAParams) -> torch.Tensor:
    angle = (u[0] - 0.5) * 2 * p.ratio_rotate / 180 * math.pi
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    return _affine(x, theta)


@dataclass(frozen=True)
class Family:
    """One DSA family: how many uniforms it draws per sample, and how it applies them to a batch."""

    draws: int
    apply: Callable[[torch.Tensor, torch.Tensor, DSAParams], torch.Tensor]


AUGMENT_FAMILIES: dict[str, Family] = {
    "color": Family(3, color), "crop": Family(2, crop), "cutout": Family(2, cutout),
    "flip": Family(1, flip), "scale": Family(2, scale), "rotate": Family(1, rotate),
}
MAX_DRAWS = max(f.draws for f in AUGMENT_FAMILIES.values())


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


def draw(families: list[str], n: int, generator: torch.Generator) -> tuple[str, torch.Tensor]:
    """Pick one family and its uniforms [MAX_DRAWS, n] (on the CPU) for a batch of n images."""
    family = families[int(torch.randint(len(families), (1,), generator=generator))]
    return family, torch.rand(MAX_DRAWS, n, generator=generator)


def apply(x: torch.Tensor, family: str, uniforms: torch.Tensor, params: DSAParams = DSAParams()) -> torch.Tensor:
    """Apply a drawn family to x; `uniforms` must already be on x's device."""
    return AUGMENT_FAMILIES[family].apply(x, uniforms.to(x.dtype), params).contiguous()


def dsa(x: torch.Tensor, strategy: str | None = DEFAULT_STRATEGY, *, seed: int | None = None,
        generator: torch.Generator | None = None, params: DSAParams = DSAParams(),
        shared: bool = False) -> torch.Tensor:
    """Augment a batch [N,C,H,W] with one randomly chosen family.

    `seed` replays an exact draw (use the same seed for two batches of the same size to augment them alike);
    `generator` continues a seeded stream; with neither, torch's global CPU RNG is used. `shared` draws one set
    of parameters for the whole batch (DSA's batch mode), so a real and a synthetic batch of different sizes get
    the same transform from the same seed, as gradient and distribution matching need.
    """
    families = parse_strategy(strategy)
    if not families:
        return x
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    elif generator is None:
        generator = torch.default_generator
    family, uniforms = draw(families, 1 if shared else len(x), generator)
    if shared:
        uniforms = uniforms.expand(-1, len(x)).contiguous()
    return apply(x, family, host_to_device(uniforms, x.device), params)

"""Name tables for normalisation, activation and pooling layers (DESIGN.md section 2)."""

from __future__ import annotations

from typing import Callable

from torch import nn

from ftd_nas.errors import ConfigError

# Each norm factory takes (channels, (height, width)) of the feature map it normalises.
NORM_LAYERS: dict[str, Callable[[int, tuple[int, int]], nn.Module]] = {
    "instancenorm": lambda c, hw: nn.GroupNorm(c, c, affine=True),
    "batchnorm": lambda c, hw: nn.BatchNorm2d(c),
    "layernorm": lambda c, hw: nn.LayerNorm([c, *hw], elementwise_affine=True),
    "groupnorm": lambda c, hw: nn.GroupNorm(4, c, affine=True),
    "none": lambda c, hw: nn.Identity(),
}

ACT_LAYERS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "leakyrelu": lambda: nn.LeakyReLU(0.01),
}

# Each pooling factory returns a module that halves height and width, or None for no pooling.
POOL_LAYERS: dict[str, Callable[[], nn.Module | None]] = {
    "avgpool": lambda: nn.AvgPool2d(kernel_size=2, stride=2),
    "maxpool": lambda: nn.MaxPool2d(kernel_size=2, stride=2),
    "none": lambda: None,
}


def _lookup(table: dict, kind: str, name: str):
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {kind} {name!r}; choose one of: {', '.join(table)}") from None


def get_norm_layer(name: str) -> Callable[[int, tuple[int, int]], nn.Module]:
    return _lookup(NORM_LAYERS, "normalisation", name)


def get_act_layer(name: str) -> Callable[[], nn.Module]:
    return _lookup(ACT_LAYERS, "activation", name)


def get_pool_layer(name: str) -> Callable[[], nn.Module | None]:
    return _lookup(POOL_LAYERS, "pooling", name)

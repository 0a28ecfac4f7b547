"""Networks built by name from a `ModelSpec`: the ConvNet family and cross-architecture models.

Each family is one registry entry in `families.py`; `ARCHITECTURES` is derived from it (the families a stored
ModelSpec can name).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ftd_nas.errors import ConfigError
from ftd_nas.models.convnet import ConvNet
from ftd_nas.models.cost import count_macs, count_params
from ftd_nas.models.families import FAMILIES, ModelFamily, get_family, spec_families
from ftd_nas.models.functional import ParamLayout, functional_forward
from ftd_nas.models.layers import ACT_LAYERS, NORM_LAYERS, POOL_LAYERS
from ftd_nas.models.spec import ModelSpec

ARCHITECTURES: dict[str, Callable[[ModelSpec], nn.Module]] = {name: f.network for name, f in spec_families().items()}


def build_model(spec: ModelSpec, seed: int | None = None, device: torch.device | str = "cpu") -> nn.Module:
    """Instantiate `spec`; with `seed` the initial weights are reproducible without touching global RNG state."""
    try:
        factory = ARCHITECTURES[spec.arch]
    except KeyError:
        raise ConfigError(f"unknown model {spec.arch!r}; choose one of: {', '.join(ARCHITECTURES)}") from None
    if seed is None:
        return factory(spec).to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory(spec).to(device)


__all__ = ["ACT_LAYERS", "ARCHITECTURES", "FAMILIES", "NORM_LAYERS", "POOL_LAYERS", "ConvNet", "ModelFamily",
           "ModelSpec", "ParamLayout", "build_model", "count_macs", "count_params", "functional_forward", "get_family"]

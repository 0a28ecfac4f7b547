"""The ConvNet family of DC/MTT/FTD: depth x [conv3x3 -> norm -> act -> pool], then one Linear."""

from __future__ import annotations

import torch
from torch import nn

from ftd_nas.errors import ConfigError
from ftd_nas.models.layers import get_act_layer, get_norm_layer, get_pool_layer
from ftd_nas.models.spec import ModelSpec


class ConvNet(nn.Module):
    def __init__(self, spec: ModelSpec):
        super().__init__()  # the spec's knobs are checked by ModelSpec against the family's axes (families.py)
        norm, act, pool = get_norm_layer(spec.norm), get_act_layer(spec.act), get_pool_layer(spec.pool)
        h, w = spec.image_size
        layers: list[nn.Module] = []
        in_ch = spec.channels
        for _ in range(spec.depth):
            layers += [nn.Conv2d(in_ch, spec.width, kernel_size=3, padding=1), norm(spec.width, (h, w)), act()]
            pool_layer = pool()
            if pool_layer is not None:
                layers.append(pool_layer)
                h, w = h // 2, w // 2
                if h < 1 or w < 1:
                    raise ConfigError(f"images of {spec.image_size[0]}x{spec.image_size[1]} are too small for "
                                      f"depth {spec.depth} with pooling; use a smaller --depth or --pool none")
            in_ch = spec.width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(spec.width * h * w, spec.num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))

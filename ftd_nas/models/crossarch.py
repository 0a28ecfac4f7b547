"""AlexNet, VGG11 and ResNet18 sized for small images, for cross-architecture evaluation of proxies.

They follow the DC/MTT variants (3x3-padded convs, no stem downsampling) with the norm layer taken from
the spec (instance norm by default); max-pooling stops once a feature map is 1 pixel wide, so small
inputs such as 16x16 digits still fit.
"""

from __future__ import annotations

import torch
from torch import nn

from ftd_nas.errors import ConfigError
from ftd_nas.models.layers import get_act_layer, get_norm_layer
from ftd_nas.models.spec import ModelSpec


def _conv_block(in_ch: int, out_ch: int, hw: tuple[int, int], spec: ModelSpec, kernel: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, kernel_size=kernel, padding=kernel // 2), get_norm_layer(spec.norm)(out_ch, hw),
            get_act_layer(spec.act)()]


def _maybe_pool(hw: tuple[int, int]) -> tuple[list[nn.Module], tuple[int, int]]:
    if min(hw) < 2:
        return [], hw
    return [nn.MaxPool2d(2, 2)], (hw[0] // 2, hw[1] // 2)


class AlexNet(nn.Module):
    """Five convs (128-192-256-192-192 channels) with three max-pools, then one Linear."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        hw = tuple(spec.image_size)
        layers: list[nn.Module] = []
        plan = [(spec.channels, 128, 5, True), (128, 192, 5, True), (192, 256, 3, False), (256, 192, 3, False),
                (192, 192, 3, True)]
        for in_ch, out_ch, kernel, pool in plan:
            layers += _conv_block(in_ch, out_ch, hw, spec, kernel)
            if pool:
                pool_layers, hw = _maybe_pool(hw)
                layers += pool_layers
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(192 * hw[0] * hw[1], spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


VGG11_PLAN = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class VGG11(nn.Module):
    def __init__(self, spec: ModelSpec):
        super().__init__()
        hw = tuple(spec.image_size)
        layers: list[nn.Module] = []
        in_ch = spec.channels
        for item in VGG11_PLAN:
            if item == "M":
                pool_layers, hw = _maybe_pool(hw)
                layers += pool_layers
            else:
                layers += _conv_block(in_ch, item, hw, spec)
                in_ch = item
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512 * hw[0] * hw[1], spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int, spec: ModelSpec):
        super().__init__()
        norm = get_norm_layer(spec.norm)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.norm1 = norm(out_ch, (0, 0))
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.norm2 = norm(out_ch, (0, 0))
        self.act = get_act_layer(spec.act)()
        self.shortcut = nn.Sequential()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), norm(out_ch, (0, 0)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.norm1(self.conv1(x)))
        return self.act(self.norm2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, spec: ModelSpec):
        super().__init__()
        if spec.norm == "layernorm":
            raise ConfigError("resnet18 supports norm instancenorm, batchnorm, groupnorm or none (not layernorm)")
        self.stem = nn.Sequential(nn.Conv2d(spec.channels, 64, 3, padding=1, bias=False),
                                  get_norm_layer(spec.norm)(64, (0, 0)), get_act_layer(spec.act)())
        blocks, in_ch = [], 64
        for out_ch, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [BasicBlock(in_ch, out_ch, stride, spec), BasicBlock(out_ch, out_ch, 1, spec)]
            in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(512, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.blocks(self.stem(x))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1))

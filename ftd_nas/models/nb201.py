"""The NAS-Bench-201 network (Dong & Yang, ICLR 2020; NATS-Bench's topology space), around one cell.

    stem: Conv3x3(channels -> C) -> BN
    N cells at C; reduction C -> 2C; N cells at 2C; reduction 2C -> 4C; N cells at 4C
    head: BN -> ReLU -> global average pool -> Linear(4C -> classes)

A reduction is a ResNet basic block with stride 2: ReLU -> Conv3x3 (stride 2) -> BN -> ReLU -> Conv3x3 -> BN,
plus a shortcut AvgPool2x2 -> Conv1x1. Every cell of a network is the same cell (`nb201_cells`: nodes 0..3,
node j the sum of op(i -> j)(node i) over i < j, node 3 the output); its operations:

    none          zeros
    skip_connect  identity
    nor_conv_1x1  ReLU -> Conv1x1 -> BN
    nor_conv_3x3  ReLU -> Conv3x3 -> BN
    avg_pool_3x3  3x3 average, stride 1, padding 1, padded pixels not counted (count_include_pad=False)

Choices, those of the benchmark's inference networks (xautodl/models/cell_infers, whose table we compare with,
not its weight-sharing search networks): every batch norm has learnable scale and shift (affine) and tracks
running statistics, so evaluation mode uses them; no convolution has a bias (a batch norm follows each one but
the shortcut's, which is summed with one); the ReLUs act on a copy (a node feeds several edges). The benchmark
uses C = 16, N = 5 on 3-channel 32x32 images; smaller C and N make a cheaper network of the same cell (a proxy).
"""

from __future__ import annotations

import torch
from torch import nn

from ftd_nas.errors import ConfigError
from ftd_nas.models.nb201_cells import EDGE_AXES, EDGES, NODES


class Zero(nn.Module):
    """The `none` operation: no signal along the edge."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out))


def make_op(name: str, channels: int) -> nn.Module:
    """One edge's operation; channels and image size are kept."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return relu_conv_bn(channels, channels, 1)
    if name == "nor_conv_3x3":
        return relu_conv_bn(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ConfigError(f"unknown NAS-Bench-201 operation {name!r}")


class Cell(nn.Module):
    """Nodes 0..3 over the six edges of `ops` (edge axis -> operation); returns node 3."""

    def __init__(self, ops: dict, channels: int):
        super().__init__()
        self.edges = nn.ModuleList(make_op(ops[axis], channels) for axis in EDGE_AXES)
        self.inputs = [[(k, source) for k, (node, source) in enumerate(EDGES) if node == j] for j in range(NODES)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for inputs in self.inputs[1:]:
            terms = [self.edges[k](nodes[source]) for k, source in inputs]
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            nodes.append(total)
        return nodes[-1]


class Reduction(nn.Module):
    """The ResNet basic block between stages: stride 2, `c_in` -> `c_out` channels."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.residual = nn.Sequential(relu_conv_bn(c_in, c_out, 3, stride=2), relu_conv_bn(c_out, c_out, 3))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class NB201Network(nn.Module):
    """The network of the module docstring, with `N` copies of the cell `ops` per stage and `C` stem channels."""

    def __init__(self, ops: dict, C: int, N: int, channels: int = 3, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        width = C
        for stage in range(3):
            if stage:
                layers.append(Reduction(width, 2 * width))
                width *= 2
            layers += [Cell(ops, width) for _ in range(N)]
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU())
        self.classifier = nn.Linear(width, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The globally pooled features the classifier reads (4C per image)."""
        return self.head(self.cells(self.stem(x))).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def build_nb201(params: dict, channels: int, image_size: tuple[int, int], num_classes: int) -> NB201Network:
    """A candidate of an nb201 space (six edge axes, C, N; checked by the family's axes) for data of this shape."""
    if any(side % 4 for side in image_size):
        raise ConfigError(f"nb201 halves the image twice, so its height and width must be multiples of 4 (got "
                          f"{image_size[0]}x{image_size[1]})")
    return NB201Network(params, params["C"], params["N"], channels, num_classes)

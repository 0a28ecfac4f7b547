"""naswot on a network whose binary activation codes can be written down."""

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from ftd_nas.errors import ConfigError
from ftd_nas.zero_cost import REGISTRY, score_network
from ftd_nas.zero_cost.activations import agreement_kernel

# the identity then a rectifier: an image's code is its sign pattern
IMAGES = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])  # codes 11, 10, 00


def rectified_identity(inplace: bool = False) -> nn.Module:
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(2)), layer.bias.zero_()
    return nn.Sequential(layer, nn.ReLU(inplace=inplace))


def config(n: int):
    return replace(REGISTRY["naswot"], batch_size=n)


@pytest.mark.parametrize("inplace", [False, True])
def test_codes_kernel_and_score_by_hand(inplace):
    # N_A = 2 units; Hamming distances 11-10: 1, 11-00: 2, 10-00: 1
    kernel = agreement_kernel(rectified_identity(inplace), IMAGES, bn="train", dtype=torch.float32)
    assert kernel.tolist() == [[2, 1, 0], [1, 2, 1], [0, 1, 2]]
    # det = 2 (4 - 1) - 1 (2 - 0) = 4
    assert score_network(rectified_identity(inplace), config(3), IMAGES) == pytest.approx(math.log(4), abs=1e-12)


def test_two_images_with_one_code_make_the_kernel_singular():
    images = torch.tensor([[1.0, 1.0], [2.0, 3.0]])
    assert score_network(rectified_identity(), config(2), images) == -math.inf


def test_a_network_without_rectifiers_is_refused():
    with pytest.raises(ConfigError, match="has none"):
        score_network(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()), config(3), IMAGES)

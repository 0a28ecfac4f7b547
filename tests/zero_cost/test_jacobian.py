"""jacov on networks whose input Jacobians are known: a linear layer (the same Jacobian for every image) and a
rectifier whose Jacobians are the images' sign patterns."""

import math
from dataclasses import replace

import torch
from torch import nn

from ftd_nas.zero_cost import REGISTRY, score_network
from ftd_nas.zero_cost.jacobian import K, jacobian_rows

EXACT = dict(bn="eval", dtype="float64")


def term(sigma: float) -> float:
    return math.log(sigma + K) + 1 / (sigma + K)


def test_a_linear_network_has_one_jacobian_for_every_image():
    # f(x) = W x + b: every row is 1^T W, so the correlation matrix is all ones: eigenvalues N once and 0 N-1 times
    torch.manual_seed(0)
    net, images = nn.Linear(4, 3), torch.randn(5, 4)
    rows = jacobian_rows(net, images, bn="eval", dtype=torch.float64)
    assert torch.allclose(rows, net.weight.sum(0).double().expand(5, 4))
    score = score_network(net, replace(REGISTRY["jacov"], batch_size=5, **EXACT), images)
    assert math.isclose(score, -(term(5) + 4 * term(0)), rel_tol=1e-6)


def sum_of_rectified() -> nn.Module:
    """f(x) = sum_i relu(x_i) with chosen weights: its Jacobian is the image's pattern of positive pixels."""
    first, last = nn.Linear(4, 4), nn.Linear(4, 1)
    with torch.no_grad():
        first.weight.copy_(torch.eye(4)), first.bias.zero_(), last.weight.fill_(1.0), last.bias.zero_()
    return nn.Sequential(first, nn.ReLU(), last)


def test_rectified_jacobians_by_hand():
    # J = [1, 1, 0, 0] and [1, 1, 1, 0]: centred [.5, .5, -.5, -.5] and [.25, .25, .25, -.75], correlation
    # 0.5 / (1 * sqrt(.75)) = 1 / sqrt(3); a 2 x 2 correlation matrix has eigenvalues 1 +- r
    images = torch.tensor([[1.0, 2.0, -1.0, -3.0], [0.5, 1.0, 2.0, -1.0]])
    score = score_network(sum_of_rectified(), replace(REGISTRY["jacov"], batch_size=2, **EXACT), images)
    r = 1 / math.sqrt(3)
    assert math.isclose(score, -(term(1 + r) + term(1 - r)), rel_tol=1e-9)


def test_an_image_the_network_ignores_has_no_correlation_and_no_score():
    images = torch.tensor([[1.0, 2.0, -1.0, -3.0], [-1.0, -1.0, -1.0, -1.0]])  # the second's Jacobian is 0
    assert math.isnan(score_network(sum_of_rectified(), replace(REGISTRY["jacov"], batch_size=2, **EXACT), images))

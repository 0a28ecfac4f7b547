"""synflow, snip and grad_norm against scores computed by hand on linear and two-layer networks."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from ftd_nas.zero_cost import REGISTRY, score_network

W = [[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]]
B = [0.5, -1.0]


def linear(weight, bias=None) -> nn.Linear:
    weight = torch.tensor(weight)
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(torch.tensor(bias))
    return layer


def config(name: str, **changes):
    return replace(REGISTRY[name], **changes)


def test_synflow_of_a_linear_layer_is_the_sum_of_its_absolute_weights():
    # R = sum_o (sum_i |W_oi| * 1 + |b_o|), so dR/dW_oi = dR/db_o = 1 and |theta * dR/dtheta| = |theta|
    net = linear(W, B)
    assert score_network(net, "synflow", input_shape=(3,)) == 21.0
    assert score_network(net, config("synflow", weights="all"), input_shape=(3,)) == 21.0 + 1.5


def test_synflow_of_a_two_layer_network_by_hand():
    # |W1| = [[1, 2], [3, 4]], |W2| = [1, 2]; on ones: h = |W1| 1 = [3, 7], R = |W2| h = 17.
    # Layer 1: sum_ji |W1_ji| |W2_j| = 3 * 1 + 7 * 2 = 17; layer 2: sum_j |W2_j| h_j = 17: each layer conserves R.
    net = nn.Sequential(linear([[1.0, -2.0], [3.0, 4.0]]), nn.ReLU(), linear([[-1.0, 2.0]]))
    assert score_network(net, "synflow", input_shape=(2,)) == 34.0


def test_synflow_does_not_overflow_a_deep_network_in_float64():
    # 30 layers of 16 x 16 weights 2.0 on ones: each multiplies by 32, so R = 16 * 32**30 = 2**154 (float32 ends at
    # about 2**128) and every layer's share is R: the score is 30 * 2**154, exact in float64
    layers = [linear([[2.0] * 16] * 16) for _ in range(30)]
    net = nn.Sequential(*layers)
    assert score_network(net, "synflow", input_shape=(16,)) == 30 * 2.0 ** 154
    assert math.isinf(score_network(net, config("synflow", dtype="float32"), input_shape=(16,)))


def _hand_gradient(weight, bias, x, y):
    """dL/dW and dL/db of the mean cross-entropy of a linear layer: (softmax(z) - onehot(y)) / N, times x."""
    w, b, x = np.array(weight), np.array(bias), np.array(x)
    z = x @ w.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(len(b))[y]) / len(x)
    return dz.T @ x, dz.sum(0)


X = [[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [-1.0, 1.0, 1.0]]
Y = [0, 1, 1]


def test_snip_and_grad_norm_against_the_hand_derived_gradient():
    g_w, g_b = _hand_gradient(W, B, X, Y)
    images, labels = torch.tensor(X), torch.tensor(Y)
    snip = config("snip", batch_size=3, dtype="float64")
    assert score_network(linear(W, B), snip, images, labels) == pytest.approx(np.abs(np.array(W) * g_w).sum(), 1e-12)
    assert score_network(linear(W, B), replace(snip, weights="all"), images, labels) == pytest.approx(
        np.abs(np.array(W) * g_w).sum() + np.abs(np.array(B) * g_b).sum(), 1e-12)
    norm = config("grad_norm", batch_size=3, dtype="float64")
    assert score_network(linear(W, B), norm, images, labels) == pytest.approx(np.linalg.norm(g_w), 1e-12)
    assert score_network(linear(W, B), replace(norm, weights="all"), images, labels) == pytest.approx(
        np.linalg.norm(g_w) + np.linalg.norm(g_b), 1e-12)


class UnusedBranch(nn.Module):
    """A used linear layer and one the forward pass never reaches (as a `none` edge of a cell)."""

    def __init__(self):
        super().__init__()
        self.used, self.unused = linear(W, B), linear(W, B)

    def forward(self, x):
        return self.used(x)


@pytest.mark.parametrize("name", ["synflow", "snip", "grad_norm"])
def test_a_parameter_without_gradient_contributes_nothing(name):
    images, labels = torch.tensor(X), torch.tensor(Y)
    changes = {} if name == "synflow" else {"batch_size": 3}
    for weights in ("layers", "all"):
        chosen = config(name, weights=weights, **changes)
        assert score_network(UnusedBranch(), chosen, images, labels) == score_network(linear(W, B), chosen, images,
                                                                                       labels)

"""Parameter, multiply-add and training-memory counts against hand computations."""

import torch
from torch import nn

from ftd_nas.models.cost import count_macs, count_params, training_memory_estimate


def test_counts_of_a_small_network_by_hand():
    net = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 5))
    assert count_params(net) == (3 * 9 * 2 + 2) + (32 * 5 + 5)
    assert count_macs(net, (3, 4, 4)) == (2 * 4 * 4) * 3 * 9 + 5 * 32
    # 3 copies of the float32 weights (weights, gradients, momentum) + each layer's output per image x batch
    outputs = 2 * 16 + 2 * 16 + 32 + 5
    assert training_memory_estimate(net, (3, 4, 4), batch_size=10) == 3 * 4 * count_params(net) + 10 * 4 * outputs
    assert net.training  # the probe leaves the mode as it found it
    assert not any(m._forward_hooks for m in net.modules())
    net.eval()
    count_macs(net, (3, 4, 4))
    assert not net.training and torch.is_grad_enabled()

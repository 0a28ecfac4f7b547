"""What every scorer does before it scores: a private copy of the network in the stated mode and precision, and
the parameters a gradient score is summed over.

Scoring never touches the caller's network: forward passes in train mode move batch-norm running statistics,
backward passes fill `.grad`, and synflow rewrites the weights; all of that happens on a deep copy.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

WEIGHT_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)  # the layers whose weight tensors `weights="layers"` sums


def scoring_copy(net: nn.Module, bn: str, dtype: torch.dtype) -> nn.Module:
    """A deep copy of `net` in train mode (bn="train": batch statistics of the minibatch) or eval mode
    (bn="eval": running statistics, which for an untrained network are mean 0 and variance 1), cast to `dtype`,
    without gradients. The mode is the whole network's, so any dropout follows it (the caller seeds it)."""
    clone = copy.deepcopy(net)
    clone.train(bn == "train")
    clone.to(dtype)
    clone.zero_grad(set_to_none=True)
    return clone


def summed_parameters(net: nn.Module, weights: str) -> list[torch.Tensor]:
    """The tensors a gradient score sums over: weights="layers", the weight of every convolution and linear layer
    (Abdelfattah et al., 2021: the published correlations are of these); weights="all", every trainable
    parameter (biases and normalisation scales too)."""
    if weights == "layers":
        return [m.weight for m in net.modules() if isinstance(m, WEIGHT_LAYERS) and m.weight.requires_grad]
    return [p for p in net.parameters() if p.requires_grad]


def total(values: list[torch.Tensor]) -> float:
    """The sum of per-tensor terms, accumulated in float64 (0.0 for none)."""
    return float(sum((v.detach().to(torch.float64) for v in values), torch.zeros((), dtype=torch.float64)))


"""Scores from the parameters' gradient after one pass: synflow, snip and grad_norm, as Abdelfattah et al.,
"Zero-Cost Proxies for Lightweight NAS" (ICLR 2021), use them to rank untrained networks.

Each is a sum over the parameters `weights` selects (`common.summed_parameters`); a parameter that no gradient
reached (a branch the candidate does not use) contributes 0. All three run on a private copy of the network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ftd_nas.zero_cost.common import scoring_copy, summed_parameters, total


def synflow(net: nn.Module, images: torch.Tensor, *, bn: str = "eval", dtype: torch.dtype = torch.float64,
            weights: str = "layers") -> float:
    """Synaptic flow (Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic
    flow", NeurIPS 2020): every parameter replaced by its absolute value, R = the sum of the
    network's output for `images` (an all-ones input: no data), score = sum over parameters of |theta * dR/dtheta|.

    With non-negative weights and input every rectifier passes, so R is a path norm: the product of the layers'
    magnitudes, which overflows float32 in deep networks; hence float64. In eval mode an untrained network's
    batch norm is a fixed affine map (running mean 0, variance 1) and keeps that meaning; in train mode it would
    normalise the constant input away. Buffers (running statistics) are left as they are.
    """
    clone = scoring_copy(net, bn, dtype)
    with torch.no_grad():
        for p in clone.parameters():
            p.abs_()
    clone(images.to(dtype)).sum().backward()
    return total([(p * p.grad).abs().sum() for p in summed_parameters(clone, weights) if p.grad is not None])


def snip(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, bn: str = "train",
         dtype: torch.dtype = torch.float32, weights: str = "layers") -> float:
    """Connection sensitivity (Lee et al., "SNIP: single-shot network pruning based on connection sensitivity",
    ICLR 2019, before its normalisation): L = the mean cross-entropy on a labelled minibatch, score = sum over
    parameters of |theta * dL/dtheta| (the gradient of L by a multiplicative mask at 1)."""
    clone = scoring_copy(net, bn, dtype)
    F.cross_entropy(clone(images.to(dtype)), labels).backward()
    return total([(p * p.grad).abs().sum() for p in summed_parameters(clone, weights) if p.grad is not None])


def grad_norm(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, bn: str = "train",
              dtype: torch.dtype = torch.float32, weights: str = "layers") -> float:
    """Gradient norm (Abdelfattah et al., 2021): L = the mean cross-entropy on a labelled minibatch,
    score = the sum over parameter tensors (layers) of the Euclidean norm of dL/dtheta."""
    clone = scoring_copy(net, bn, dtype)
    F.cross_entropy(clone(images.to(dtype)), labels).backward()
    return total([p.grad.norm() for p in summed_parameters(clone, weights) if p.grad is not None])

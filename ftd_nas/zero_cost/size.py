"""The size baselines every training-free proxy is compared with, and often loses to (Abdelfattah et al., 2021;
Mellor et al., 2021): a candidate's trainable parameters and the multiply-accumulates of one forward pass."""

from __future__ import annotations

from torch import nn

from ftd_nas.models.cost import count_macs


def params(net: nn.Module) -> float:
    """The number of trainable parameters (those with requires_grad; shared tensors counted once)."""
    return float(sum(p.numel() for p in net.parameters() if p.requires_grad))


def flops(net: nn.Module, input_shape: tuple[int, ...]) -> float:
    """Multiply-accumulates of one forward pass of one image of `input_shape` (C, H, W), as `count_macs` counts
    them: hooks on convolution and linear layers (output elements x inputs per output); biases, normalisation,
    activations, pooling and additions are not counted. The network's mode is restored and its weights untouched."""
    return float(count_macs(net, tuple(input_shape)))

"""What a network costs: parameters and multiply-adds of one forward pass (recorded with every candidate)."""

from __future__ import annotations

import torch
from torch import nn


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of convolutions and linear layers for one input of `input_shape` (C, H, W)."""
    total = 0

    def conv(module: nn.Conv2d, _, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    def linear(module: nn.Linear, _, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    hooks = [m.register_forward_hook(conv) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear) for m in model.modules() if isinstance(m, nn.Linear)]
    _probe(model, input_shape, hooks)
    return total


def _probe(model: nn.Module, input_shape: tuple[int, ...], hooks: list) -> None:
    """One evaluation-mode forward pass of a single zero input through the hooked model; the hooks are removed."""
    was_training = model.training
    model.eval()
    try:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()


@torch.no_grad()
def training_memory_estimate(model: nn.Module, input_shape: tuple[int, ...], batch_size: int) -> int:
    """Bytes one SGD training step holds: weights, gradients and momentum, plus every layer's output for a batch
    (kept for the backward pass). A lower bound of what the allocator reserves; CUDA measures the real peak."""
    activations = 0

    def keep(_, __, output) -> None:
        nonlocal activations
        if isinstance(output, torch.Tensor):
            activations += output.numel() * output.element_size()

    _probe(model, input_shape, [m.register_forward_hook(keep) for m in model.modules() if not list(m.children())])
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return 3 * weights + batch_size * activations

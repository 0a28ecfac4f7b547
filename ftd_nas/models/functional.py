"""Functional use of a network over one flat parameter vector, with a stable parameter order.

Trajectories store parameters as rows of a [epochs+1, P] matrix and distillation differentiates through
student updates of that vector; `ParamLayout` maps between the vector and the module's named parameters.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


class ParamLayout:
    """Names, shapes and offsets of a module's parameters, in `named_parameters()` order."""

    def __init__(self, model: nn.Module):
        self.names = [name for name, _ in model.named_parameters()]
        self.shapes = [tuple(p.shape) for _, p in model.named_parameters()]
        self.numels = [p.numel() for _, p in model.named_parameters()]

    @property
    def num_params(self) -> int:
        return sum(self.numels)

    def flatten(self, model: nn.Module) -> torch.Tensor:
        """The module's current parameters as one detached vector (a copy, never an alias)."""
        params = dict(model.named_parameters())
        return torch.cat([params[n].detach().reshape(-1) for n in self.names]).clone()

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of `flat` shaped like each parameter; gradients flow back into `flat`."""
        if flat.dim() != 1 or flat.numel() != self.num_params:
            raise ValueError(f"expected a flat vector of {self.num_params} parameters, got shape {tuple(flat.shape)}")
        return {n: chunk.view(s) for n, chunk, s in zip(self.names, flat.split(self.numels), self.shapes)}

    @torch.no_grad()
    def load_into(self, model: nn.Module, flat: torch.Tensor) -> None:
        """Copy a flat vector into the module's parameters in place."""
        params = dict(model.named_parameters())
        for name, value in self.unflatten(flat.to(next(model.parameters()).device)).items():
            params[name].copy_(value)


def functional_forward(model: nn.Module, layout: ParamLayout, flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Run `model` on `x` with parameters taken from `flat` (buffers, e.g. BN statistics, from the module)."""
    tensors = dict(model.named_buffers())
    tensors.update(layout.unflatten(flat))
    return functional_call(model, tensors, (x,))

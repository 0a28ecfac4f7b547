"""Gradient matching (DC, Zhao et al. 2021; with DSA augmentation, Zhao & Bilen 2021), one screen.

For a network w, the synthetic images S_c of each class c are moved so that the gradient of the loss on
them matches the gradient on a real batch R_c of that class, both augmented with the same DSA draw:

    D(w) = sum_c sum_layers sum_rows ( 1 - cos( grad_w CE(R_c), grad_w CE(S_c) ) )

per parameter tensor reshaped to [out_units, rest]; 1-d tensors (biases, norm scales) count 0. Each
iteration starts from a fresh network; `outer_loop` times it takes one image step on D, then (but after the
last) trains the network for `inner_loop` epochs on the synthetic set, so later steps match gradients of a
network partway through training on the proxy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def layer_distance(g_real: torch.Tensor, g_syn: torch.Tensor) -> torch.Tensor:
    """DC's distance between one parameter tensor's two gradients: sum over output units of 1 - cos."""
    if g_real.dim() == 1:
        return g_real.new_zeros(())
    a, b = g_real.reshape(g_real.shape[0], -1), g_syn.reshape(g_syn.shape[0], -1)
    return (1 - (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1) + 1e-6)).sum()


def match_distance(grads_real: list[torch.Tensor], grads_syn: list[torch.Tensor]) -> torch.Tensor:
    return sum(layer_distance(r, s) for r, s in zip(grads_real, grads_syn))


def class_gradients(net: nn.Module, x: torch.Tensor, y: torch.Tensor, create_graph: bool) -> tuple[torch.Tensor, ...]:
    """Gradients of the mean cross-entropy on (x, y) w.r.t. the network's parameters."""
    loss = F.cross_entropy(net(x), y)
    return torch.autograd.grad(loss, [p for p in net.parameters()], create_graph=create_graph)


def gradient_matching_loss(net: nn.Module, real: list[torch.Tensor], syn: list[torch.Tensor],
                           augment) -> torch.Tensor:
    """Sum over classes c of D between real[c] and syn[c] (class c's batches); `augment(c, x)` applies class c's
    shared DSA draw. Differentiable w.r.t. the synthetic images only."""
    loss = syn[0].new_zeros(())
    for c, (x_real, x_syn) in enumerate(zip(real, syn)):
        y_real = torch.full((len(x_real),), c, dtype=torch.long, device=x_real.device)
        y_syn = torch.full((len(x_syn),), c, dtype=torch.long, device=x_syn.device)
        g_real = [g.detach() for g in class_gradients(net, augment(c, x_real), y_real, create_graph=False)]
        g_syn = class_gradients(net, augment(c, x_syn), y_syn, create_graph=True)
        loss = loss + match_distance(g_real, g_syn)
    return loss

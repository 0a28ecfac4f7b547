"""Trajectory matching (MTT, Cazenavette et al. 2022), the loss FTD distils with.

From expert snapshot theta_t, a functional student takes N SGD steps on (augmented) synthetic batches
with the learnable step size syn_lr:   theta_{k+1} = theta_k - syn_lr * grad CE(f(DSA(x_k); theta_k), y_k)
and the loss is the normalised distance to the expert's later snapshot theta*_{t+M}:
    L = ||theta_N - theta*_{t+M}||^2 / ||theta*_t - theta*_{t+M}||^2.
Gradients w.r.t. the images and syn_lr pass through all N steps (second-order terms included).

Two ways to get them, with identical results:
  full        keep the graph of every step (as the reference code); memory grows linearly in N.
  checkpoint  keep only theta_0..theta_N; the backward pass recomputes one step at a time and applies its
              vector-Jacobian product, so memory stays nearly flat in N.
Each step's augmentation uses a recorded seed, so a recomputed step sees exactly the same transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ftd_nas.augment import dsa
from ftd_nas.models import ParamLayout, functional_forward
from ftd_nas.runtime import host_to_device


@dataclass
class StudentPlan:
    """The random choices of one unroll: synthetic indices and augmentation seed per step."""

    batches: list[torch.Tensor]
    seeds: list[int]

    def to(self, device: torch.device) -> "StudentPlan":
        """The plan with its batch indices on `device`, sent in one non-blocking copy."""
        if all(b.device == device for b in self.batches):
            return self
        moved = host_to_device(torch.cat(self.batches), device).split([len(b) for b in self.batches])
        return StudentPlan(list(moved), self.seeds)


def plan_unroll(num_images: int, syn_steps: int, batch_syn: int, gen: torch.Generator) -> StudentPlan:
    """Batches cycle through fresh permutations of the synthetic set; each step gets its own DSA seed."""
    batches, pool = [], []
    for _ in range(syn_steps):
        if not pool:
            pool = list(torch.randperm(num_images, generator=gen).split(batch_syn))
        batches.append(pool.pop(0))
    seeds = torch.randint(0, 2**62, (syn_steps,), generator=gen).tolist()
    return StudentPlan(batches, seeds)


def _step(model: nn.Module, layout: ParamLayout, theta: torch.Tensor, images: torch.Tensor, labels: torch.Tensor,
          syn_lr: torch.Tensor, idx: torch.Tensor, seed: int, dsa_strategy: str | None,
          create_graph: bool) -> torch.Tensor:
    """One student SGD step; with create_graph the result stays differentiable w.r.t. everything."""
    x = images[idx]
    if dsa_strategy:
        x = dsa(x, dsa_strategy, seed=seed)
    ce = F.cross_entropy(functional_forward(model, layout, theta, x), labels[idx])
    (grad,) = torch.autograd.grad(ce, theta, create_graph=create_graph)
    return theta - syn_lr * grad


def match_trajectory(model: nn.Module, layout: ParamLayout, images: torch.Tensor, labels: torch.Tensor,
                     syn_lr: torch.Tensor, start: torch.Tensor, target: torch.Tensor, plan: StudentPlan,
                     dsa_strategy: str | None, unroll: str = "full") -> torch.Tensor:
    """Matching loss (a detached scalar); accumulates d loss / d images and d loss / d syn_lr into .grad."""
    plan = plan.to(images.device)
    denom = (start - target).square().sum()
    if unroll == "full":
        theta = start.detach().requires_grad_(True)
        for idx, seed in zip(plan.batches, plan.seeds):
            theta = _step(model, layout, theta, images, labels, syn_lr, idx, seed, dsa_strategy, True)
        loss = (theta - target).square().sum() / denom
        loss.backward()
        return loss.detach()
    if unroll != "checkpoint":
        raise ValueError(f"unroll must be 'full' or 'checkpoint', got {unroll!r}")
    # Forward: first-order steps only, remembering every theta_k.
    thetas = [start.detach()]
    for idx, seed in zip(plan.batches, plan.seeds):
        theta = thetas[-1].detach().requires_grad_(True)
        thetas.append(_step(model, layout, theta, images.detach(), labels, syn_lr.detach(), idx, seed,
                            dsa_strategy, False).detach())
    loss = (thetas[-1] - target).square().sum() / denom
    adjoint = 2.0 * (thetas[-1] - target) / denom  # d loss / d theta_N
    # Backward: recompute step k with its graph, pull the adjoint back through it, accumulate leaf grads.
    for k in range(len(plan.batches) - 1, -1, -1):
        theta = thetas[k].clone().requires_grad_(True)
        nxt = _step(model, layout, theta, images, labels, syn_lr, plan.batches[k], plan.seeds[k], dsa_strategy, True)
        nxt.backward(adjoint, inputs=[theta, images, syn_lr])
        adjoint = theta.grad
    return loss.detach()

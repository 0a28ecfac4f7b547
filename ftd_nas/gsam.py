"""GSAM (Zhuang et al. 2022) with ASAM's adaptive perturbation, as FTD trains its flat experts.

Per batch (two forward/backward passes):
  1. g   = grad L(w)
  2. e   = rho * w^2 * g / (|| |w| * g || + 1e-12);  w <- w + e      (adaptive ascent step)
  3. g_p = grad L(w + e)
  4. g_perp = g - (g . g_p / ||g_p||^2) g_p                          (part of g orthogonal to g_p)
  5. d   = g_p - alpha * g_perp
  6. w <- w - e, then the base optimizer steps along d.
alpha = 0 is SAM (with adaptive perturbation); rho = 0 is the base optimizer.
"""

from __future__ import annotations

from typing import Callable

import torch


class GSAM(torch.optim.Optimizer):
    """Wraps a base optimizer; `step(closure)` needs a closure that zeroes grads, runs backward and returns the loss."""

    def __init__(self, params, base_optimizer: torch.optim.Optimizer, rho: float = 0.01, alpha: float = 0.0):
        if rho < 0:
            raise ValueError(f"rho must be >= 0, got {rho}")
        super().__init__(params, dict(rho=rho, alpha=alpha))
        self.base = base_optimizer
        self.param_groups = self.base.param_groups  # share lr etc. with the base optimizer
        for group in self.param_groups:
            group.setdefault("rho", rho)
            group.setdefault("alpha", alpha)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        if closure is None:
            raise ValueError("GSAM needs a closure that recomputes the loss and gradients")
        with torch.enable_grad():
            loss = closure()
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        grads = [p.grad.clone() for p in params]
        rho, alpha = self.param_groups[0]["rho"], self.param_groups[0]["alpha"]
        scale = rho / (torch.linalg.vector_norm(torch.stack([(p.abs() * g).norm() for p, g in zip(params, grads)]))
                       + 1e-12)
        perturbations = [p.square() * g * scale for p, g in zip(params, grads)]
        torch._foreach_add_(params, perturbations)
        with torch.enable_grad():
            closure()
        grads_p = [p.grad for p in params]
        dot = sum((g * gp).sum() for g, gp in zip(grads, grads_p))
        coef = dot / (sum(gp.square().sum() for gp in grads_p) + 1e-12)
        torch._foreach_sub_(params, perturbations)
        for g, gp in zip(grads, grads_p):
            gp.sub_(alpha * (g - coef * gp))  # p.grad <- g_p - alpha * g_perp
        self.base.step()
        return loss

    def state_dict(self) -> dict:
        return self.base.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        self.base.load_state_dict(state_dict)

"""naswot: how differently an untrained network's rectifiers split the images of a minibatch (Mellor et al.,
"Neural Architecture Search without Training", ICML 2021, the second version of arXiv:2006.04647).

Each image's binary code c_i has one bit per rectified unit of the whole network: 1 where the unit's input is
positive. K[i, j] = N_A - d_H(c_i, c_j), the number of units (of N_A) on which images i and j agree, and the score
is log |det K|: high when the codes are far apart, so that the network separates the images from the start; -inf
when two images share a code.
"""

from __future__ import annotations

import torch
from torch import nn

from ftd_nas.errors import ConfigError
from ftd_nas.zero_cost.common import scoring_copy

# Units a code bit is read from: every rectifier (Mellor et al.'s code hooks each module whose type names "ReLU").
# A rectifier's output is positive exactly where its input is, so an in-place one is read correctly too.
RECTIFIERS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)


@torch.no_grad()
def agreement_kernel(net: nn.Module, images: torch.Tensor, *, bn: str, dtype: torch.dtype) -> torch.Tensor:
    """K = N_A - Hamming distance between the images' codes, summed layer by layer in float64 (the counts exceed
    float32's exact integers in large networks), from one forward pass of the minibatch."""
    clone = scoring_copy(net, bn, dtype)
    n = len(images)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=images.device)

    def count(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        code = (output.reshape(n, -1) > 0).to(torch.float64)
        kernel.add_(code @ code.T + (1 - code) @ (1 - code).T)  # agreements on 1s and on 0s

    rectifiers = [m for m in clone.modules() if isinstance(m, RECTIFIERS)]
    if not rectifiers:
        names = ", ".join(r.__name__ for r in RECTIFIERS)
        raise ConfigError(f"naswot reads binary codes from rectifier modules ({names}) and this "
                          f"{type(net).__name__} has none (a functional relu is invisible to it)")
    hooks = [m.register_forward_hook(count) for m in rectifiers]
    try:
        clone(images.to(dtype))
    finally:
        for hook in hooks:
            hook.remove()
    return kernel


def naswot(net: nn.Module, images: torch.Tensor, *, bn: str = "train", dtype: torch.dtype = torch.float32) -> float:
    """Mellor et al.'s v2 score of a minibatch: log |det K| of the codes' agreement kernel (`agreement_kernel`),
    by `torch.linalg.slogdet` (K's determinant itself overflows)."""
    return float(torch.linalg.slogdet(agreement_kernel(net, images, bn=bn, dtype=dtype)).logabsdet)

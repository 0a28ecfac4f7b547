"""jacov: how differently an untrained network's output responds to each image of a minibatch (Mellor et al.,
"Neural Architecture Search without Training", first version, arXiv:2006.04647v1, 2020).

The paper's intuition: a network that can tell images apart has input Jacobians that are uncorrelated across
images. Its score of the correlation matrix's eigenvalues sigma_i is -sum_i [log(sigma_i + k) + 1 / (sigma_i + k)]
with k = 1e-5. Each term is smallest at sigma_i + k = 1, and the eigenvalues of an N x N correlation matrix sum
to N, so the score peaks (at about -N) when the Jacobians are uncorrelated; higher is better.
"""

from __future__ import annotations

import torch
from torch import nn

from ftd_nas.zero_cost.common import scoring_copy

K = 1e-5  # the paper's small constant: keeps log and 1/x finite at a zero eigenvalue


def jacobian_rows(net: nn.Module, images: torch.Tensor, *, bn: str, dtype: torch.dtype) -> torch.Tensor:
    """One row per image: the gradient with respect to that image of the network's output summed over the batch
    and the classes, from one backward pass for the whole minibatch (as Mellor et al.'s code computes it). With
    bn="eval" images do not interact and row i is exactly d(sum_c f_c(x_i))/dx_i; with bn="train" the batch
    statistics couple the images and the row also carries the other images' dependence on x_i."""
    clone = scoring_copy(net, bn, dtype)
    x = images.detach().to(dtype).requires_grad_(True)
    clone(x).sum().backward()
    return x.grad.reshape(len(x), -1)


def correlation_score(rows: torch.Tensor) -> float:
    """-sum_i [log(sigma_i + k) + 1 / (sigma_i + k)] over the eigenvalues sigma_i of the rows' correlation
    matrix, in float64 (NaN when a row is constant: its correlation is undefined)."""
    corr = torch.corrcoef(rows.to(torch.float64))
    sigma = torch.linalg.eigvalsh(corr) if torch.isfinite(corr).all() else torch.full((len(rows),), float("nan"))
    return float(-(torch.log(sigma + K) + 1 / (sigma + K)).sum())


def jacov(net: nn.Module, images: torch.Tensor, *, bn: str = "train", dtype: torch.dtype = torch.float32) -> float:
    """Mellor et al.'s v1 score of a minibatch: `correlation_score` of the input Jacobians (`jacobian_rows`)."""
    return correlation_score(jacobian_rows(net, images, bn=bn, dtype=dtype))

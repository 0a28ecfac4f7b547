"""Distribution matching (DM, Zhao & Bilen 2023), one screen.

Each iteration, a freshly initialised network whose parameters are never trained embeds a real batch and the
synthetic images of every class, both augmented with the same DSA draw; the loss is the squared distance
between the mean embeddings:

    L = sum_c || mean embed(R_c) - mean embed(S_c) ||^2        (real side detached)

With batch normalisation, all classes go through the network in one batch (as the DM code does), so the
normalisation statistics are those of the whole batch, not of one class.
"""

from __future__ import annotations

import torch
from torch import nn


def distribution_matching_loss(net: nn.Module, real: list[torch.Tensor], syn: list[torch.Tensor], augment,
                               one_batch: bool = False) -> torch.Tensor:
    """Sum over classes of the squared distance of mean embeddings; `augment(c, x)` applies class c's draw."""
    real = [augment(c, x) for c, x in enumerate(real)]
    syn = [augment(c, x) for c, x in enumerate(syn)]
    if one_batch:
        with torch.no_grad():
            emb_real = net.embed(torch.cat(real)).split([len(x) for x in real])
        emb_syn = net.embed(torch.cat(syn)).split([len(x) for x in syn])
    else:
        with torch.no_grad():
            emb_real = [net.embed(x) for x in real]
        emb_syn = [net.embed(x) for x in syn]
    return sum(((r.mean(0) - s.mean(0)) ** 2).sum() for r, s in zip(emb_real, emb_syn))

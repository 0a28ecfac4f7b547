"""The two forms of labels a split may carry: class indices [N], or soft labels [N, classes].

Soft labels (probabilities per class, as some published distilled sets carry) train with soft cross-entropy:
`F.cross_entropy` takes either form of target, so one training loop serves both. This lives with the data, not
the loop, because a proxy file reads its labels without training anything.
"""

from __future__ import annotations

import torch


def hard_labels(y: torch.Tensor) -> torch.Tensor:
    """Class indices of hard labels [N], or the most likely class of soft labels [N, classes]."""
    return y if y.dim() == 1 else y.argmax(1)

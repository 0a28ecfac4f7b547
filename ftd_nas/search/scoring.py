"""How a training-free proxy (`--proxy zc:NAME`) scores a candidate instead of training it: the network is built
as a trained search builds it (same factory, same seed), scored on one minibatch drawn from the real training
split with the same seed, and recorded like a trained candidate, its score in `proxy_score`.

The seed of a candidate's repeat decides both its initialisation and its minibatch, so repeats are independent
draws of both. A candidate's seconds are the scoring alone, as a trained candidate's are its training alone.
"""

from __future__ import annotations

import math
import time

import torch

from ftd_nas.data import Dataset, Split
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.search.factories import build_candidate, cost
from ftd_nas.search.recipe import TrainingSource
from ftd_nas.search.results import PROXY_SCORE
from ftd_nas.search.space import SearchSpace
from ftd_nas.zero_cost import score_network


def minibatch(split: Split, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` images of `split` and their labels, drawn uniformly without replacement from `seed` (not balanced
    by class: the published scores use one batch of a shuffled loader)."""
    if size > len(split):
        raise ConfigError(f"the scorer's minibatch of {size} images is larger than the training split "
                          f"({len(split)} images)")
    idx = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))[:size].to(split.x.device)
    return split.x[idx], split.y[idx]


def score_candidate(params: dict, source: TrainingSource, dataset: Dataset, space: SearchSpace, seed: int,
                    device: torch.device) -> dict:
    """What a zc trial records: the candidate's score, the seconds it took, and the candidate's cost. A score
    that is not finite (a NaN correlation, a singular naswot kernel) fails the candidate with the reason."""
    config = source.scorer
    shape = (dataset.channels, dataset.image_size, dataset.num_classes)
    net = build_candidate(space, params, shape, seed=seed, device=device)
    images, labels = minibatch(source.split, config.batch_size, seed) if config.input == "real" else (None, None)
    started = time.perf_counter()
    score = score_network(net, config, images, labels, (dataset.channels, *dataset.image_size), seed)
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    if not math.isfinite(score):
        raise NonFiniteError(f"{config.scorer} scored {score} ({config.describe()})")
    return {PROXY_SCORE: score, "seconds": seconds, **cost(net, shape)}

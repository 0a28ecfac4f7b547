"""What a search and its plan (`--plan`) share before any candidate trains: the space, the device, the real data,
what candidates train on, and the candidates of the space for this data.

The proxy file is read once here and handed on: its fingerprint fixes the real data's preprocessing, and its
tensors are what candidates train on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from ftd_nas.data import Dataset
from ftd_nas.errors import ConfigError, InputError
from ftd_nas.runtime import resolve_device
from ftd_nas.search.factories import admissible, require_trusted
from ftd_nas.search.recipe import TrainingSource, search_data, source_proxy, training_source
from ftd_nas.search.space import SearchSpace, load_space

if TYPE_CHECKING:
    from ftd_nas.search.runner import SearchConfig


@dataclass
class SearchSetup:
    config: "SearchConfig"
    space: SearchSpace
    device: torch.device
    dataset: Dataset
    source: TrainingSource

    @classmethod
    def prepare(cls, config: "SearchConfig", dataset: Dataset | None = None,
                space: SearchSpace | None = None) -> "SearchSetup":
        """Load what `config` names (the real data only when `dataset` is not given)."""
        space = space if space is not None else load_space(config.space)
        require_trusted(space)  # before any work: a factory named by a file the user did not trust is refused
        device = resolve_device(config.device)
        proxy = source_proxy(config.proxy)
        if dataset is None:
            dataset = search_data(config.proxy, proxy, config.dataset, config.data_root, config.zca,
                                  config.val_fraction, config.split_seed, device, config.normalize)
        source = training_source(config.proxy, dataset, config.recipe.seed, proxy)
        return cls(config, space, device, dataset, source)

    @property
    def shape(self) -> tuple[int, tuple[int, int], int]:
        return self.dataset.channels, self.dataset.image_size, self.dataset.num_classes

    def candidates(self) -> list[dict]:
        """The space for this data (exclusions and parameter / multiply-add limits applied), restricted to
        `config.only` when given (ids outside it refused)."""
        candidates = admissible(self.space, self.shape)
        if not candidates:  # a search of nothing would end at once as "finished"
            self.refuse_empty()
        if self.config.only is not None:
            chosen = set(self.config.only)
            unknown = chosen - {self.space.candidate_id(p) for p in candidates}
            if unknown:
                raise ConfigError(f"candidates {sorted(unknown)[:3]} are not in space {self.space.name!r}")
            candidates = [p for p in candidates if self.space.candidate_id(p) in chosen]
        return candidates

    def refuse_empty(self) -> None:
        """No candidate of the space is left for this data: say why (its exclusions, or its limits for the data's
        shape) instead of searching nothing."""
        space, (channels, size, classes) = self.space, self.shape
        where = f"space {space.name!r}" + (f" ({space.source})" if space.source else "")
        limits = {k: v for k, v in space.constraints.items() if k in ("max_params", "max_macs")}
        if not space.candidates():
            raise InputError(f"{where} has no candidate: its exclusions leave none; edit the space")
        raise InputError(f"no candidate of {where} is within its limits {limits} for {self.dataset.name} "
                         f"({channels}x{size[0]}x{size[1]}, {classes} classes): all {len(space)} have more parameters "
                         "or multiply-adds; raise the limits, or search a smaller space")

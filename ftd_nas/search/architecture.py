"""A chosen architecture as a file (`pick.json`, written by verify) and trained weights beside their spec.

`ArchitectureRecord` names a candidate of a search space: its model family and parameters, and the data shape it
is built for. A built-in family of the ConvNet's knobs gives a `ModelSpec`, so
`ftd_nas.models.build_model(record.spec())` rebuilds it from Python; one with axes of its own (nb201) is rebuilt
from its axis values by its entry (`build`). A user's factory (package.module:function) is imported only when
the caller says the file is trusted (`train --spec FILE --trust-factory`): a file from elsewhere must not choose
code to run.

`WeightsRecord` is the metadata of a weights file (safetensors) written by `ftd-nas train --save`: the
architecture, the data fingerprint, the training configuration and the accuracies.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ftd_nas.data.fingerprint import DataFingerprint
from ftd_nas.errors import ConfigError, InputError
from ftd_nas.io import atomic_path
from ftd_nas.models import FAMILIES, ModelSpec
from ftd_nas.models.families import spec_families
from ftd_nas.records import Record, RecordError
from ftd_nas.search.space import SearchSpace


@dataclass(frozen=True)
class ArchitectureRecord(Record):
    """One candidate of a search space, as a file: pick.json."""

    FORMAT = "ftd-nas-architecture"

    model: str  # a built-in family (convnet, alexnet, vgg11, resnet18) or a user's package.module:function
    params: dict  # the candidate's axis values
    channels: int
    image_size: tuple[int, int]
    num_classes: int
    candidate: str = ""
    data: DataFingerprint | None = None
    source: dict = field(default_factory=dict)  # provenance: the search run and how the candidate was chosen

    def __post_init__(self) -> None:
        if ":" not in self.model and self.model not in FAMILIES:
            raise ConfigError(f"model {self.model!r} is not a known model family ({', '.join(FAMILIES)}) nor a "
                              "factory written package.module:function")
        if self.builtin:  # every value checked here (a ModelSpec would take an unknown key for a crash)
            family = FAMILIES[self.model]
            unknown = [axis for axis in self.params if axis not in family.axes]
            if unknown:
                raise ConfigError(f"the {self.model} architecture has no axes {unknown} (its axes: "
                                  f"{', '.join(family.axes)})")
            missing = [axis for axis in family.axes if axis not in self.params]
            if missing and self.model not in spec_families():  # a ModelSpec has defaults for the missing ones
                raise ConfigError(f"the {self.model} architecture lacks axes {missing}")
            for axis, value in self.params.items():
                problem = family.check_value(axis, value)
                if problem:
                    raise ConfigError(f"the {self.model} architecture's {axis} {value!r} {problem}")

    @property
    def builtin(self) -> bool:
        return ":" not in self.model

    def spec(self) -> ModelSpec:
        """The ModelSpec of a built-in family (so `build_model(record.spec())` rebuilds the network)."""
        if not self.builtin:
            raise ConfigError(f"{self.model!r} is a user's factory, not a built-in family: build it with "
                              "build(trust_factory=True)")
        if self.model not in spec_families():
            raise ConfigError(f"{self.model!r} has axes of its own, not a ModelSpec's: build it with build()")
        return ModelSpec(arch=self.model, **self.params).for_data(self.channels, self.image_size, self.num_classes)

    def build(self, seed: int = 0, trust_factory: bool = False) -> nn.Module:
        from ftd_nas.models import build_model
        from ftd_nas.search.factories import build_candidate

        if self.model in spec_families():
            return build_model(self.spec(), seed=seed)
        # a user's factory is imported only for a file the user trusts (`require_trusted`, in build_candidate)
        space = SearchSpace(name="pick", axes={k: [v] for k, v in self.params.items()}, model=self.model,
                            source="the architecture file", trusted=trust_factory)
        return build_candidate(space, self.params, (self.channels, self.image_size, self.num_classes), seed=seed)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "ArchitectureRecord":
        path = Path(path)
        if not path.is_file():
            raise InputError(f"architecture file {str(path)!r} does not exist; `ftd-nas verify` writes pick.json")
        try:
            return cls.from_dict(json.loads(path.read_text()), repr(str(path)))
        except ValueError as exc:
            raise InputError(f"{str(path)!r} is not an architecture file: {exc}") from None


@dataclass(frozen=True)
class WeightsRecord(Record):
    """The metadata of a trained network's weights file."""

    FORMAT = "ftd-nas-weights"

    architecture: ArchitectureRecord
    data: DataFingerprint
    train: dict  # the training configuration
    val_acc: float | None = None
    test_acc: float | None = None
    environment: dict = field(default_factory=dict)
    created: str = ""


def save_weights(path: str | os.PathLike, net: nn.Module, record: WeightsRecord) -> None:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"ftd_nas": json.dumps(record.to_dict())})


def load_weights(path: str | os.PathLike, trust_factory: bool = False) -> tuple[nn.Module, WeightsRecord]:
    """The trained network of a weights file, rebuilt from its architecture, and the file's record."""
    try:
        with safe_open(str(path), framework="pt") as f:
            record = WeightsRecord.from_dict(json.loads((f.metadata() or {}).get("ftd_nas", "{}")), repr(str(path)))
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except RecordError:
        raise
    except Exception as exc:
        raise InputError(f"{str(path)!r} is not a readable weights file: {exc}") from None
    net = record.architecture.build(trust_factory=trust_factory)
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise InputError(f"{str(path)!r} does not fit its architecture (missing {missing[:3]}, unexpected "
                         f"{unexpected[:3]})")
    return net, record


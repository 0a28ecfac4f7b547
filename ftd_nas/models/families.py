"""Model families: one registry entry per family, declaring its axes and their validation, how a candidate of a
search space is built and named, and what the family's networks can do.

A family is what a space file's `model:` names and what a stored `ModelSpec.arch` names. Its entry says:

    axes        axis name -> check of one value (None when valid, else what is wrong); a space of the family
                may name only these axes
    rule        a check across axes of one candidate (e.g. groupnorm needs a width divisible by its 4 groups)
    build       a candidate's network from its axis values and the data's shape
    network     the network of a stored ModelSpec (experts, distillation, evaluation); None when the family
                is only searched over
    embeds      its networks have `embed(x)`, the features before the classifier (DM and the coresets use it)
    complete    a space must name (or pin) every axis
    settings    axes that size every candidate of a space alike (e.g. a network's width): a space gives each one
                value, so they need no place in a candidate's id
    candidate_id  a candidate's name from its axis values (e.g. a benchmark's own name, so results join its
                table); None for the generic one (`ftd_nas.search.space.candidate_id`)
    isomorphism a key equal for candidates that compute the same function, by the family's rule; a space with
                `unique: true` keeps one candidate per key (the one with the smallest id); None when the family
                has no such rule

Adding a family: write its network module under `ftd_nas/models/`, then one `register(ModelFamily(...))` below.
Search spaces, the search, verify, `--model`, DM and the coresets read everything else from the entry.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, Hashable

from torch import nn

from ftd_nas.checks import is_whole
from ftd_nas.errors import ConfigError
from ftd_nas.models.convnet import ConvNet
from ftd_nas.models.crossarch import VGG11, AlexNet, ResNet18
from ftd_nas.models.layers import ACT_LAYERS, NORM_LAYERS, POOL_LAYERS
from ftd_nas.models.nb201 import build_nb201
from ftd_nas.models.nb201_cells import EDGE_AXES, OPS, cell_string, unique_string
from ftd_nas.models.spec import ModelSpec

Check = Callable[[object], "str | None"]
MAX_DEPTH = 8  # ConvNet blocks; with pooling a 32x32 image allows 5, `pool: none` more


def whole_number(low: int, high: int | None = None) -> Check:
    """An axis check: an integer in [low, high] (no upper bound when high is None); booleans are not numbers."""
    def check(value) -> str | None:
        if is_whole(value) and value >= low and (high is None or value <= high):
            return None
        return f"must be an integer from {low} to {high}" if high is not None else "must be a positive integer"
    return check


def one_of(table) -> Check:
    return lambda value: None if value in table else f"must be one of {', '.join(table)}"


@dataclass(frozen=True)
class ModelFamily:
    name: str
    summary: str
    axes: dict[str, Check]
    build: Callable[[dict, int, tuple[int, int], int], nn.Module]
    network: Callable[[ModelSpec], nn.Module] | None = None
    rule: Callable[[dict], str | None] = lambda params: None
    embeds: bool = False
    complete: bool = False
    settings: tuple[str, ...] = ()
    candidate_id: Callable[[dict], str] | None = None
    isomorphism: Callable[[dict], Hashable] | None = None

    def check_value(self, axis: str, value) -> str | None:
        """What is wrong with one axis value, or None; an axis the family does not have is an error too."""
        if axis not in self.axes:
            return f"is not an axis of {self.name} (axes: {', '.join(self.axes)})"
        return self.axes[axis](value)


FAMILIES: dict[str, ModelFamily] = {}
# The ModelSpec fields that describe an architecture (the others name it or describe the data): the only axes a
# family built from a ModelSpec can have, since a stored spec has nowhere else to keep a value.
SPEC_KNOBS = {f.name for f in fields(ModelSpec)} - {"arch", "channels", "image_size", "num_classes"}


def register(family: ModelFamily) -> ModelFamily:
    if family.name in FAMILIES:
        raise ConfigError(f"model family {family.name!r} is registered twice")
    if family.network is not None and not set(family.axes) <= SPEC_KNOBS:
        raise ConfigError(f"model family {family.name!r}: a network built from a ModelSpec has only ModelSpec's "
                          f"knobs ({', '.join(sorted(SPEC_KNOBS))}) as axes, not "
                          f"{', '.join(sorted(set(family.axes) - SPEC_KNOBS))}")
    unknown = [a for a in family.settings if a not in family.axes]
    if unknown:
        raise ConfigError(f"model family {family.name!r}: settings {unknown} are not among its axes")
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> ModelFamily:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(FAMILIES)}") from None


def require_embedding(arch: str, why: str) -> None:
    """Refuse a family whose networks have no `embed(x)` for a method that needs one (`why` says which)."""
    family = get_family(arch)
    if not family.embeds:
        able = [name for name, f in spec_families().items() if f.embeds]
        raise ConfigError(f"{why}: use --model {' or '.join(able)}, not {arch} (its networks have no embedding)")


def spec_families() -> dict[str, ModelFamily]:
    """The families a stored ModelSpec can name (`--model`, experts, distillation, evaluation)."""
    return {name: f for name, f in FAMILIES.items() if f.network is not None}


# The ConvNet's five knobs, shared by the families built from a ModelSpec (the others ignore width, depth, pool).
SPEC_AXES: dict[str, Check] = {
    "depth": whole_number(1, MAX_DEPTH),
    "width": whole_number(1),
    "act": one_of(ACT_LAYERS),
    "norm": one_of(NORM_LAYERS),
    "pool": one_of(POOL_LAYERS),
}


def _groups_divide_width(params: dict) -> str | None:
    if params.get("norm") == "groupnorm" and isinstance(params.get("width"), int) and params["width"] % 4:
        return f"groupnorm uses 4 groups, so the width must be a multiple of 4 (got {params['width']})"
    return None


def _from_spec(arch: str) -> Callable[[dict, int, tuple[int, int], int], nn.Module]:
    def build(params: dict, channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
        from ftd_nas.models import build_model
        from ftd_nas.models.spec import ModelSpec

        return build_model(ModelSpec(arch=arch, **params).for_data(channels, image_size, num_classes))
    return build


register(ModelFamily("convnet", "DC/MTT/FTD ConvNet: depth x [conv3x3, norm, act, pool], one Linear", SPEC_AXES,
                     _from_spec("convnet"), ConvNet, rule=_groups_divide_width, embeds=True, complete=True))
register(ModelFamily("alexnet", "AlexNet for small images (cross-architecture evaluation)", SPEC_AXES,
                     _from_spec("alexnet"), AlexNet, rule=_groups_divide_width))
register(ModelFamily("vgg11", "VGG11 for small images (cross-architecture evaluation)", SPEC_AXES,
                     _from_spec("vgg11"), VGG11, rule=_groups_divide_width))
register(ModelFamily("resnet18", "ResNet18 for small images (cross-architecture evaluation)", SPEC_AXES,
                     _from_spec("resnet18"), ResNet18, rule=_groups_divide_width))


def _nb201_class(params: dict) -> Hashable:
    """Cells in one of the benchmark's isomorphism classes, in networks of one size."""
    return unique_string(params), params["C"], params["N"]


NB201_AXES: dict[str, Check] = {**{axis: one_of(OPS) for axis in EDGE_AXES}, "C": whole_number(1),
                                "N": whole_number(1)}

register(ModelFamily("nb201", "NAS-Bench-201 cell network: N cells per stage at C, 2C, 4C channels (benchmark: "
                     "C 16, N 5)", NB201_AXES, build_nb201, embeds=True, complete=True, settings=("C", "N"),
                     candidate_id=cell_string, isomorphism=_nb201_class))

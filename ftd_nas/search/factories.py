"""Models of a search space's candidates: a built-in family by name, or a user's factory.

A space file's `model:` names the family. Built-in: the entries of `ftd_nas/models/families.py` (convnet,
alexnet, vgg11, resnet18, nb201), each building a candidate from its declared axes. A user's factory, written
package.module:function, is imported only from a `trusted` space: one parsed from a space file the user passes,
or read from a file (a run's run.json, a pick.json) that the user says they trust (--trust-factory). Importing
runs that module's code, so a name read from a received file is never imported on its own (`require_trusted`,
checked here before any import and by every command before any work). A factory is called as

    function(params: dict, channels: int, image_size: tuple[int, int], num_classes: int) -> torch.nn.Module

with the candidate's axis values. Every candidate's parameter count and multiply-adds are recorded with its
scores, and a space's max_params / max_macs constraints are checked on them.
"""

from __future__ import annotations

import importlib
from typing import Callable

import torch
from torch import nn

from ftd_nas.errors import ConfigError, UntrustedCodeError
from ftd_nas.models import count_macs, count_params, get_family
from ftd_nas.search.space import SearchSpace


def require_trusted(space: SearchSpace) -> None:
    """Refuse a space that names a user's factory unless the user gave or trusted it (see the module's text)."""
    if ":" in space.model and not space.trusted:
        raise UntrustedCodeError(
            f"{space.source or 'the space'} names the model factory {space.model!r}: importing it would run that "
            "module's code, and ftd-nas imports a factory only from a space file you pass (--space) or a file you "
            "say you trust; if you trust where this file came from, pass --trust-factory")


def model_factory(space: SearchSpace) -> Callable[..., nn.Module]:
    """The factory a space names (imports a user's module: only for a `trusted` space)."""
    name = space.model
    if ":" not in name:
        return get_family(name).build
    require_trusted(space)
    module, _, function = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"the space's model factory {name!r} cannot be imported ({type(exc).__name__}: {exc}); "
                          "is its package on PYTHONPATH?") from None
    if not callable(factory):
        raise ConfigError(f"the space's model factory {name!r} is not a function")
    return factory


def build_candidate(space: SearchSpace, params: dict, shape: tuple[int, tuple[int, int], int], seed: int = 0,
                    device: torch.device | str = "cpu") -> nn.Module:
    """The candidate's network for data of `shape` (channels, image size, classes), initialised from `seed`."""
    factory = model_factory(space)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            net = factory(dict(params), *shape)
        except ConfigError:
            raise
        except Exception as exc:  # a user's factory refusing a combination is a failed candidate, not a crash
            raise ConfigError(f"model {space.model!r} cannot build {space.candidate_id(params)}: "
                              f"{type(exc).__name__}: {exc}") from None
    if not isinstance(net, nn.Module):
        raise ConfigError(f"model factory {space.model!r} returned a {type(net).__name__}, not a torch.nn.Module")
    return net.to(device)


def cost(net: nn.Module, shape: tuple[int, tuple[int, int], int]) -> dict[str, int]:
    channels, image_size, _ = shape
    return {"num_params": count_params(net), "macs": count_macs(net, (channels, *image_size))}


def over_limits(space: SearchSpace, params: dict, shape: tuple[int, tuple[int, int], int]) -> str | None:
    """Why a candidate breaks the space's max_params / max_macs constraints for data of `shape`, if it does."""
    limits = {k: space.constraints[k] for k in ("max_params", "max_macs") if k in space.constraints}
    if not limits:
        return None
    try:
        measured = cost(build_candidate(space, params, shape), shape)
    except UntrustedCodeError:
        raise
    except ConfigError:  # cannot be built: queued all the same, to fail with its reason when trained
        return None
    for key, limit in limits.items():
        value = measured["num_params" if key == "max_params" else "macs"]
        if value > limit:
            return f"{value:,} {'parameters' if key == 'max_params' else 'multiply-adds'} > {key} {limit:,}"
    return None


def admissible(space: SearchSpace, shape: tuple[int, tuple[int, int], int]) -> list[dict]:
    """The space's candidates within its parameter and multiply-add limits for data of `shape`."""
    return [p for p in space.candidates() if over_limits(space, p, shape) is None]

"""The training-free scorers by name, each with the one configuration it runs with, and `score_network`, which
runs a configuration on a network.

A configuration states every choice the literature leaves open (batch size, batch-norm mode, input, precision,
which parameters are summed), so that a run's identity and a report can name them; the defaults below are the
published codes' choices (Abdelfattah et al.'s `SamsungLabs/zero-cost-nas`, Mellor et al.'s
`BayesWatch/nas-without-training`) except where a docstring says otherwise. Adding a scorer is one `Rule` in
`RULES`: its function, what it reads and what makes sense for it, and its default configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from ftd_nas.checks import check_seed
from ftd_nas.errors import ConfigError
from ftd_nas.records import Part
from ftd_nas.zero_cost.activations import naswot
from ftd_nas.zero_cost.gradients import grad_norm, snip, synflow
from ftd_nas.zero_cost.jacobian import jacov
from ftd_nas.zero_cost.size import flops, params

BN_MODES = ("train", "eval")
INPUTS = ("real", "noise", "ones", "none")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
WEIGHTS = ("layers", "all")
OPTIONS = ("bn", "dtype", "weights")  # the choices a scorer may read besides its input


@dataclass(frozen=True)
class Rule:
    """One scorer: its function, what it reads, the inputs that make sense for it, and its default configuration."""

    function: Callable[..., float]
    reads: str  # "labels" (images and labels) | "images" | "shape" (only the input's size) | "nothing"
    inputs: tuple[str, ...]  # of INPUTS
    options: tuple[str, ...]  # of OPTIONS: the keyword arguments its function takes from the configuration
    default: dict = field(default_factory=dict)  # its configuration's fields besides `scorer`
    min_batch: int = 1  # images a minibatch needs (a correlation or a kernel of several images needs 2)


RULES: dict[str, Rule] = {
    # Tanaka et al. 2020: data-free, so one all-ones image; eval mode (see `synflow`); float64 against overflow
    "synflow": Rule(synflow, "images", ("ones",), OPTIONS,
                    dict(batch_size=1, bn="eval", input="ones", dtype="float64", weights="layers")),
    # Lee et al. 2019 / Abdelfattah et al. 2021: one labelled minibatch of 64, batch statistics, float32
    "snip": Rule(snip, "labels", ("real",), OPTIONS,
                 dict(batch_size=64, bn="train", input="real", dtype="float32", weights="layers")),
    "grad_norm": Rule(grad_norm, "labels", ("real",), OPTIONS,
                      dict(batch_size=64, bn="train", input="real", dtype="float32", weights="layers")),
    # Mellor et al. v1 (as Abdelfattah et al. ran it): a minibatch of 64, batch statistics
    "jacov": Rule(jacov, "images", ("real", "noise"), ("bn", "dtype"),
                  dict(batch_size=64, bn="train", input="real", dtype="float32"), min_batch=2),
    # Mellor et al. v2: a minibatch of 128 (their default), batch statistics
    "naswot": Rule(naswot, "images", ("real", "noise"), ("bn", "dtype"),
                   dict(batch_size=128, bn="train", input="real", dtype="float32"), min_batch=2),
    "params": Rule(params, "nothing", ("none",), (), dict(input="none")),
    "flops": Rule(flops, "shape", ("none",), (), dict(input="none")),
}


@dataclass(frozen=True)
class ZeroCostConfig(Part):
    """How one training-free scorer is run; every field it does not read is None.

    scorer: a name of `RULES` (synflow, snip, grad_norm, jacov, naswot, params, flops).
    batch_size: images in the input batch (>= 1; >= 2 for jacov and naswot); None when the input is "none".
    bn: the network's mode while scoring: "train" (batch norm uses the minibatch's statistics, as in training) or
        "eval" (its running statistics: mean 0 and variance 1 in an untrained network, so a fixed affine map).
        Dropout, if any, follows the mode and is seeded.
    input: "real" (a minibatch of the real training split, with its labels), "noise" (standard normal images of
        the data's shape, drawn from the seed), "ones" (all-ones images: synflow's data-free input) or "none"
        (the scorer reads no image values: params nothing, flops only the input's size).
    dtype: "float32" or "float64": the network copy's and the input's precision during the passes (the sums,
        correlations and determinants are always taken in float64).
    weights: which parameters a gradient score (synflow, snip, grad_norm) sums over: "layers" (the weight tensors
        of convolution and linear layers, as the published correlations were computed) or "all" (every trainable
        parameter: biases and normalisation scales too).
    """

    scorer: str
    batch_size: int | None = None
    bn: str | None = None
    input: str = "none"
    dtype: str | None = None
    weights: str | None = None

    def __post_init__(self) -> None:
        rule = RULES.get(self.scorer)
        if rule is None:
            raise ConfigError(f"unknown training-free scorer {self.scorer!r}; choose {', '.join(RULES)}")
        if self.input not in rule.inputs:
            raise ConfigError(f"{self.scorer} takes input {' or '.join(map(repr, rule.inputs))}, not {self.input!r} "
                              f"(inputs: {', '.join(INPUTS)})")
        if self.input == "none":
            if self.batch_size is not None:
                raise ConfigError(f"{self.scorer} reads no images: leave batch_size unset, not {self.batch_size!r}")
        elif not (isinstance(self.batch_size, int) and not isinstance(self.batch_size, bool)
                  and self.batch_size >= rule.min_batch):
            raise ConfigError(f"{self.scorer} needs a batch_size of at least {rule.min_batch} images, "
                              f"got {self.batch_size!r}")
        choices = {"bn": BN_MODES, "dtype": tuple(DTYPES), "weights": WEIGHTS}
        for name in OPTIONS:
            value = getattr(self, name)
            if name not in rule.options:
                if value is not None:
                    raise ConfigError(f"{self.scorer} has no {name} choice: leave it unset, not {value!r}")
            elif value not in choices[name]:
                raise ConfigError(f"{self.scorer}'s {name} must be one of {', '.join(choices[name])}, got {value!r}")

    @property
    def rule(self) -> Rule:
        return RULES[self.scorer]

    def describe(self) -> str:
        """The choices in one line, e.g. 'synflow: batch 1 of ones, bn eval, float64, weights layers'."""
        if self.input == "none":
            return f"{self.scorer}: no input" if self.rule.reads == "nothing" else f"{self.scorer}: the input's size"
        parts = [f"batch {self.batch_size} of {self.input}"]
        parts += [f"{name} {getattr(self, name)}" for name in OPTIONS if getattr(self, name) is not None]
        return f"{self.scorer}: " + ", ".join(parts)


REGISTRY: dict[str, ZeroCostConfig] = {name: ZeroCostConfig(name, **rule.default) for name, rule in RULES.items()}


def zero_cost_config(name: str) -> ZeroCostConfig:
    """The registry's configuration of scorer `name`; an unknown name is refused with the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown training-free scorer {name!r}; choose {', '.join(REGISTRY)}") from None


def make_input(config: ZeroCostConfig, images: torch.Tensor | None, input_shape: tuple[int, ...],
               device: torch.device, seed: int) -> torch.Tensor:
    """The batch a configuration scores: the given real images, or noise or ones of `input_shape`."""
    if config.input == "real":
        if images is None or len(images) != config.batch_size:
            got = "none" if images is None else f"{len(images)}"
            raise ConfigError(f"{config.scorer} scores a real minibatch of {config.batch_size} images; got {got}")
        return images.to(device)
    shape = (config.batch_size, *input_shape)
    if config.input == "ones":
        return torch.ones(shape, device=device)
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(device)


def score_network(net: nn.Module, config: ZeroCostConfig | str, images: torch.Tensor | None = None,
                  labels: torch.Tensor | None = None, input_shape: tuple[int, ...] | None = None,
                  seed: int = 0) -> float:
    """The score of `net` (higher = predicted better) under `config` (or the registry's configuration of that
    name). `images` and `labels`: the real minibatch, for input "real"; otherwise `input_shape` (C, H, W), or the
    shape of `images`, sizes the input. The network is left as it was (every pass runs on a copy), and the score
    is the same for the same seed: it seeds the noise input and any randomness in the network (dropout)."""
    config = zero_cost_config(config) if isinstance(config, str) else config
    check_seed("seed", seed)
    rule = config.rule
    if rule.reads == "nothing":
        return rule.function(net)
    if input_shape is None:
        if images is None:
            raise ConfigError(f"{config.scorer} needs the input's shape: give input_shape (C, H, W) or images")
        input_shape = tuple(images.shape[1:])
    if rule.reads == "shape":
        return rule.function(net, tuple(input_shape))
    device = next((p.device for p in net.parameters()), torch.device("cpu"))
    options = {name: DTYPES[config.dtype] if name == "dtype" else getattr(config, name) for name in rule.options}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        x = make_input(config, images, input_shape, device, seed)
        if rule.reads == "labels":
            if labels is None or len(labels) != len(x):
                raise ConfigError(f"{config.scorer} needs the labels of its {len(x)} images")
            return rule.function(net, x, labels.to(device), **options)
        return rule.function(net, x, **options)


__all__ = ["REGISTRY", "RULES", "Rule", "ZeroCostConfig", "score_network", "zero_cost_config"]

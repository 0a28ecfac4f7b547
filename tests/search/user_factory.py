"""A user's model family for the space-factory tests: an MLP whose width depends on conditional axes."""

from torch import nn


def tiny_mlp(params: dict, channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    hidden = params["hidden"] * params.get("width_multiplier", 1)
    layers = [nn.Flatten(), nn.Linear(channels * image_size[0] * image_size[1], hidden)]
    if params["norm"] == "batch":
        layers.append(nn.BatchNorm1d(hidden))
    return nn.Sequential(*layers, nn.ReLU(), nn.Linear(hidden, num_classes))


def not_a_model(params: dict, channels: int, image_size: tuple[int, int], num_classes: int):
    return "a string"

"""Differentiable augmentation applied identically to real and synthetic images."""

from ftd_nas.augment.dsa import AUGMENT_FAMILIES, DEFAULT_STRATEGY, DSAParams, apply, draw, dsa, parse_strategy

__all__ = ["AUGMENT_FAMILIES", "DEFAULT_STRATEGY", "DSAParams", "apply", "draw", "dsa", "parse_strategy"]

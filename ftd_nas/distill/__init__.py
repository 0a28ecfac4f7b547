"""Dataset distillation by trajectory matching: FTD (flat experts + EMA images) and MTT.

The distillation loop is imported on first use, so that the proxy file format (which records a
`DistillConfig`) can be read without it.
"""

from importlib import import_module

from ftd_nas.distill.config import DistillConfig, resolve_config
from ftd_nas.distill.matching import match_trajectory, plan_unroll

_LAZY = {"Distiller": "ftd_nas.distill.distiller", "distill": "ftd_nas.distill.distiller"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ftd_nas.distill' has no attribute {name!r}")


__all__ = ["DistillConfig", "Distiller", "distill", "match_trajectory", "plan_unroll", "resolve_config"]

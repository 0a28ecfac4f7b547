"""Configuration of one distillation run, resolved from the paper's preset plus user overrides.

`DistillConfig` itself lives in `ftd_nas/origins.py`: a proxy file records it, and reading one must not import
the distillation.
"""

from __future__ import annotations

from dataclasses import fields

from ftd_nas.distill.presets import preset
from ftd_nas.errors import ConfigError
from ftd_nas.origins import DistillConfig
from ftd_nas.proxy_methods import DISTILLED, lookup


def resolve_config(dataset: str, ipc: int, method: str = "ftd", family: str | None = None,
                   **overrides) -> DistillConfig:
    """The paper's preset for (dataset, ipc, method) with every non-None override applied."""
    values, source = preset(dataset, ipc, method, family)
    known = {f.name for f in fields(DistillConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise ConfigError(f"unknown distillation settings {sorted(unknown)}")
    kwargs = {k: v for k, v in values.items() if k in known}
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    if not lookup(method, DISTILLED).keeps_ema:
        kwargs["ema_decay"] = None
    return DistillConfig(method=method, ipc=ipc, preset=source, family=family, **kwargs)

"""Every method that makes a proxy, one entry each: the table all others (CLI choices, presets, strategies, which
methods need experts, the config fields shown for a run, display names) are derived from.

A method is `distilled` (synthetic images optimised against the real data or expert trajectories; `ftd-nas
distill`) or `selected` (real training images chosen as a coreset; `ftd-nas select`). Its name is what proxy
files and evaluation records store, so a name never changes once files carry it.

Adding a method is one entry in `REGISTRY` below: its strategy (for a distilled method a class with the interface
of `ftd_nas/distill/methods.py`; for a selected one a function `(embeddings, k, gen) -> indices`), the optimizer
of the experts it matches (or None), a preset function `(dataset, ipc, family) -> (values, source)` (None when it
has no setting for that dataset and IPC, which is an error, never another method's preset), and the
`DistillConfig` fields of its own. The CLI, the config's validation and the reports then know it.

Strategies and presets are named as "module:attribute" and imported on first use, so that the CLI can list the
methods without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from ftd_nas.errors import ConfigError

DISTILLED, SELECTED = "distilled", "selected"


def _resolve(ref: str) -> Any:
    module, _, attribute = ref.partition(":")
    return getattr(import_module(module), attribute)


@dataclass(frozen=True)
class ProxyMethod:
    name: str  # as stored in proxy files: never renamed
    display: str  # as tables and figures show it
    kind: str  # DISTILLED | SELECTED
    summary: str  # a phrase for --help
    strategy_ref: str  # "module:attribute" of what does the work
    experts: str | None = None  # the optimizer whose expert trajectories it matches; None: it needs no experts
    preset_ref: str | None = None  # distilled: "module:function" giving its hyperparameters for a dataset and IPC
    fields: tuple[str, ...] = ()  # distilled: the DistillConfig fields it uses besides the common ones
    embeds: bool = False  # selected: it chooses by the embeddings of a network trained on the real data

    @property
    def strategy(self) -> Any:
        return _resolve(self.strategy_ref)

    @property
    def keeps_ema(self) -> bool:
        """Whether the proxy is an EMA of the images (FTD): the method has its own decay."""
        return "ema_decay" in self.fields

    def preset(self, dataset: str, ipc: int, family: str | None = None) -> tuple[dict, str]:
        """Its hyperparameters for `dataset` (or an explicit preset `family`) at `ipc`, and where they are from."""
        found = _resolve(self.preset_ref)(dataset, ipc, family) if self.preset_ref else None
        if found is None:
            raise ConfigError(f"--method {self.name} has no preset for {dataset} IPC {ipc}; methods with one: "
                              f"{', '.join(names(DISTILLED))}")
        return found


REGISTRY: dict[str, ProxyMethod] = {m.name: m for m in (
    ProxyMethod("ftd", "FTD", DISTILLED, "trajectory matching of GSAM experts, EMA images",
                "ftd_nas.distill.methods:TrajectoryMatching", experts="gsam",
                preset_ref="ftd_nas.distill.presets:ftd_preset",
                fields=("syn_steps", "expert_epochs", "max_start_epoch", "batch_syn", "lr_lr", "lr_teacher", "unroll",
                        "ema_decay")),
    ProxyMethod("mtt", "MTT", DISTILLED, "trajectory matching of SGD experts",
                "ftd_nas.distill.methods:TrajectoryMatching", experts="sgd",
                preset_ref="ftd_nas.distill.presets:mtt_preset",
                fields=("syn_steps", "expert_epochs", "max_start_epoch", "batch_syn", "lr_lr", "lr_teacher", "unroll")),
    ProxyMethod("dsa", "DSA", DISTILLED, "gradient matching", "ftd_nas.distill.methods:GradientMatching",
                preset_ref="ftd_nas.distill.presets:dsa_preset",
                fields=("lr_net", "batch_real", "outer_loop", "inner_loop")),
    ProxyMethod("dm", "DM", DISTILLED, "distribution matching", "ftd_nas.distill.methods:DistributionMatching",
                preset_ref="ftd_nas.distill.presets:dm_preset", fields=("lr_net", "batch_real")),
    ProxyMethod("random", "Random", SELECTED, "a random subset", "ftd_nas.coresets:random_subset"),
    ProxyMethod("herding", "Herding", SELECTED, "herding of embeddings", "ftd_nas.coresets:herding", embeds=True),
    ProxyMethod("kcenter", "K-Center", SELECTED, "k-center greedy on embeddings", "ftd_nas.coresets:kcenter",
                embeds=True),
)}


def names(kind: str | None = None) -> tuple[str, ...]:
    """The methods of one kind (all when None), in registry order."""
    return tuple(name for name, m in REGISTRY.items() if kind in (None, m.kind))


def lookup(name: str, kind: str | None = None) -> ProxyMethod:
    """The entry of `name`; a ConfigError naming the choices when it is unknown (or of another kind)."""
    method = REGISTRY.get(name)
    if method is None or kind not in (None, method.kind):
        raise ConfigError(f"--method must be one of {', '.join(names(kind))}, got {name!r}")
    return method


def display_name(name: str) -> str:
    """How tables show a method; an imported set's own method name (datm, ...) is shown as it is."""
    method = REGISTRY.get(name)
    return method.display if method else name

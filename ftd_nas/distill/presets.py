"""Distillation hyperparameters from the papers.

FTD's presets are Table 7 of Du et al. 2023. MTT's differ only where the MTT code does: no EMA, CIFAR-10/50
and CIFAR-100/10 without ZCA, CIFAR-100/50 with batch_syn 125. DSA's and DM's are those of the DC/DSA and DM
code (VICO-UoE/DatasetCondensation): gradient matching with outer/inner loops by IPC, image lr 0.1, network lr
0.01, real batch 256, 1,000 iterations; distribution matching with image lr 1.0, real batch 256, 20,000
iterations. Neither uses ZCA.
"""

from __future__ import annotations

from ftd_nas.errors import ConfigError
from ftd_nas.proxy_methods import DISTILLED, lookup

FIELDS = ("syn_steps", "expert_epochs", "max_start_epoch", "batch_syn", "lr_img", "lr_lr", "lr_teacher", "alpha",
          "ema_decay")

# (family, ipc): syn_steps, expert_epochs, max_start_epoch, batch_syn (None = all), lr_img, lr_lr, lr_teacher,
#                GSAM alpha of the experts, EMA decay
FTD_TABLE7: dict[tuple[str, int], tuple] = {
    ("cifar10", 1): (50, 2, 2, None, 100, 1e-7, 0.01, 0.3, 0.9999),
    ("cifar10", 10): (30, 2, 20, None, 100, 1e-5, 0.001, 0.3, 0.9995),
    ("cifar10", 50): (30, 2, 40, None, 1000, 1e-5, 0.01, 1.0, 0.999),
    ("cifar100", 1): (40, 3, 20, None, 1000, 1e-5, 0.01, 1.0, 0.9995),
    ("cifar100", 10): (20, 2, 40, None, 1000, 1e-5, 0.01, 1.0, 0.9995),
    ("cifar100", 50): (80, 2, 40, 1000, 1000, 1e-5, 0.01, 1.0, 0.999),
    ("tiny-imagenet", 1): (30, 2, 10, None, 10000, 1e-4, 0.01, 1.0, 0.999),
    ("tiny-imagenet", 10): (20, 2, 40, 500, 10000, 1e-4, 0.01, 1.0, 0.999),
}
IMAGENET_SUBSET = (20, 2, 10, None, 10000, 1e-4, 0.01, 1.0, 0.999)
ZCA_FAMILIES = {"cifar10", "cifar100"}
MTT_NO_ZCA = {("cifar10", 50), ("cifar100", 10)}
MTT_BATCH_SYN = {("cifar100", 50): 125}
# For datasets the papers never distilled (digits, npz:, folder:): CIFAR-10/10 settings, scaled-down start epochs.
GENERIC = (20, 2, 10, None, 100, 1e-5, 0.01, 1.0, 0.999)

MODEL_DEPTH = {"cifar10": 3, "cifar100": 3, "tiny-imagenet": 4}


def family_of(dataset: str) -> str | None:
    from ftd_nas.data.readers import IMAGENET_SUBSETS

    name = dataset.lower()
    if name in ("cifar10", "cifar100", "tiny-imagenet"):
        return name
    if name in IMAGENET_SUBSETS:
        return "imagenet-subset"
    return None


# DC/DSA `get_loops`: IPC -> (outer_loop, inner_loop)
DSA_LOOPS = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}
DSA_PRESET = {"lr_img": 0.1, "lr_net": 0.01, "batch_real": 256, "iterations": 1000, "ema_decay": None, "zca": False}
DM_PRESET = {"lr_img": 1.0, "lr_net": 0.01, "batch_real": 256, "iterations": 20000, "ema_decay": None, "zca": False}


def preset(dataset: str, ipc: int, method: str = "ftd", family: str | None = None) -> tuple[dict, str]:
    """The paper's settings of `method` for `dataset` (or an explicit `family`) at `ipc`, and a line saying where
    they are from; each method's own preset function is named by its registry entry."""
    return lookup(method, DISTILLED).preset(dataset, ipc, family)


def dsa_preset(dataset: str, ipc: int, family: str | None = None) -> tuple[dict, str]:
    cfg = dict(DSA_PRESET)
    nearest = min(DSA_LOOPS, key=lambda k: (abs(k - ipc), k))
    cfg["outer_loop"], cfg["inner_loop"] = DSA_LOOPS[nearest]
    missing = "" if nearest == ipc else f"; the code defines no loops for IPC {ipc}"
    return cfg, f"DSA code's preset (loops of IPC {nearest}{missing})"


def dm_preset(dataset: str, ipc: int, family: str | None = None) -> tuple[dict, str]:
    return dict(DM_PRESET), "DM code's preset"


def ftd_preset(dataset: str, ipc: int, family: str | None = None) -> tuple[dict, str]:
    family = family or family_of(dataset)
    if family == "imagenet-subset":
        values, source = IMAGENET_SUBSET, f"FTD preset for ImageNet subsets (IPC {ipc})"
    elif family is not None and (family, ipc) in FTD_TABLE7:
        values, source = FTD_TABLE7[(family, ipc)], f"FTD Table 7, {family} IPC {ipc}"
    elif family is not None and family not in MODEL_DEPTH:
        raise ConfigError(f"unknown preset family {family!r}; choose cifar10, cifar100, tiny-imagenet, "
                          "imagenet-subset (or leave it out for the generic preset)")
    else:
        values, source = GENERIC, (f"generic preset (the papers give no setting for {dataset} IPC {ipc}; "
                                   "override any value, or pick one with --preset)")
    cfg = dict(zip(FIELDS, values))
    cfg["zca"] = family in ZCA_FAMILIES
    return cfg, source


def mtt_preset(dataset: str, ipc: int, family: str | None = None) -> tuple[dict, str]:
    """FTD's preset with MTT's differences (no EMA, no GSAM, ZCA and batch_syn where the MTT code differs)."""
    cfg, source = ftd_preset(dataset, ipc, family)
    family = family or family_of(dataset)
    cfg["ema_decay"] = None
    cfg["alpha"] = None
    if (family, ipc) in MTT_NO_ZCA:
        cfg["zca"] = False
    cfg["batch_syn"] = MTT_BATCH_SYN.get((family, ipc), cfg["batch_syn"])
    return cfg, source.replace("FTD Table 7", "MTT (FTD Table 7 with MTT's differences)")

import pytest

from ftd_nas.distill import resolve_config
from ftd_nas.distill.presets import METHODS, preset
from ftd_nas.errors import ConfigError
from ftd_nas.origins import DistillConfig


def test_every_method_with_presets_is_one_a_record_may_name():
    assert tuple(DistillConfig.METHOD_FIELDS) == METHODS


def test_ftd_cifar10_ipc10_is_table7():
    cfg = resolve_config("cifar10", 10, "ftd")
    assert (cfg.syn_steps, cfg.expert_epochs, cfg.max_start_epoch, cfg.batch_syn) == (30, 2, 20, None)
    assert (cfg.lr_img, cfg.lr_lr, cfg.lr_teacher, cfg.ema_decay) == (100, 1e-5, 0.001, 0.9995)
    assert cfg.iterations == 5000 and "Table 7" in cfg.preset


def test_mtt_differences():
    assert resolve_config("cifar10", 50, "mtt").ema_decay is None
    assert preset("cifar10", 50, "mtt")[0]["zca"] is False and preset("cifar10", 50, "ftd")[0]["zca"] is True
    assert resolve_config("cifar100", 50, "mtt").batch_syn == 125
    assert resolve_config("cifar100", 50, "ftd").batch_syn == 1000


def test_overrides_family_and_generic_fallback():
    cfg = resolve_config("npz:x.npz", 10, "ftd", "cifar10", syn_steps=7, iterations=3)
    assert cfg.syn_steps == 7 and cfg.iterations == 3 and cfg.max_start_epoch == 20
    assert "generic" in resolve_config("digits", 10).preset
    assert resolve_config("imagewoof", 1).lr_img == 10000
    with pytest.raises(ConfigError, match="unknown preset family"):
        resolve_config("digits", 10, "ftd", "svhn")
    with pytest.raises(ConfigError, match="lr-img must be > 0"):
        resolve_config("digits", 10, lr_img=-1.0)

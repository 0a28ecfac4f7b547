"""The method registry: every table is derived from it, and an unknown method or a missing preset is an error."""

import argparse
import dataclasses
import subprocess
import sys

import pytest

from ftd_nas import proxy_methods
from ftd_nas.cli import distill as distill_cli
from ftd_nas.coresets import SelectConfig
from ftd_nas.distill import DistillConfig, resolve_config
from ftd_nas.distill.presets import preset
from ftd_nas.errors import ConfigError
from ftd_nas.proxy_methods import DISTILLED, REGISTRY, SELECTED, ProxyMethod, display_name, lookup, names


def toy_preset(dataset, ipc, family=None):
    """A test-only method's preset: it knows IPC 1 only."""
    return ({"lr_img": 3.0, "lr_net": 0.02, "ema_decay": None, "zca": False}, "toy preset") if ipc == 1 else None


TOY = ProxyMethod("toy", "Toy", DISTILLED, "a test-only method", "ftd_nas.distill.methods:DistributionMatching",
                  preset_ref=f"{__name__}:toy_preset", fields=("lr_net",))


def distill_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    distill_cli.register(parser.add_subparsers())
    return parser


def test_names_are_those_proxy_files_store_and_each_kind_is_listed_in_order():
    assert names(DISTILLED) == ("ftd", "mtt", "dsa", "dm")
    assert names(SELECTED) == ("random", "herding", "kcenter")
    assert display_name("kcenter") == "K-Center" and display_name("datm") == "datm"  # imported sets: as named


def test_every_entry_resolves_and_names_only_real_config_fields():
    config_fields = {f.name for f in dataclasses.fields(DistillConfig)}
    for method in REGISTRY.values():
        assert callable(method.strategy), method.name
        assert set(method.fields) <= config_fields - set(DistillConfig.COMMON), method.name
        assert method.experts in (None, "gsam", "sgd")
        if method.kind == DISTILLED:
            assert method.preset("cifar10", 10)[1]
        else:
            assert method.preset_ref is None and not method.fields and method.experts is None
    assert [n for n in names(DISTILLED) if lookup(n).experts] == ["ftd", "mtt"]
    assert [n for n in names(DISTILLED) if lookup(n).keeps_ema] == ["ftd"]


def test_unknown_methods_are_errors_that_list_the_choices():
    with pytest.raises(ConfigError, match="must be one of ftd, mtt, dsa, dm, got 'datm'"):
        preset("cifar10", 10, "datm")
    with pytest.raises(ConfigError, match="must be one of ftd, mtt, dsa, dm, got 'datm'"):
        resolve_config("cifar10", 10, "datm")
    with pytest.raises(ConfigError, match="must be one of ftd, mtt, dsa, dm, got 'herding'"):
        DistillConfig(method="herding")  # a selection method is no distillation method
    with pytest.raises(ConfigError, match="must be one of random, herding, kcenter, got 'ftd'"):
        SelectConfig(method="ftd")


def test_a_method_without_a_preset_is_an_error_never_ftds(monkeypatch):
    monkeypatch.setitem(REGISTRY, "toy", TOY)
    assert resolve_config("digits", 1, "toy").lr_img == 3.0
    with pytest.raises(ConfigError, match="--method toy has no preset for digits IPC 10"):
        resolve_config("digits", 10, "toy")
    monkeypatch.setitem(REGISTRY, "toy", dataclasses.replace(TOY, preset_ref=None))
    with pytest.raises(ConfigError, match="--method toy has no preset"):
        preset("cifar10", 10, "toy")


def test_one_entry_makes_a_method_known_to_the_cli_and_the_config(monkeypatch):
    with pytest.raises(SystemExit):
        distill_parser().parse_args(["distill", "--out", "p", "--method", "toy"])
    monkeypatch.setitem(REGISTRY, "toy", TOY)
    args = distill_parser().parse_args(["distill", "--out", "p", "--method", "toy", "--dataset", "digits"])
    assert args.method == "toy"
    assert distill_cli._data_and_model(args)[1] == "digits"  # no experts asked for: the entry names none
    cfg = resolve_config("digits", 1, "toy", iterations=2)
    assert cfg.method == "toy" and cfg.ema_decay is None
    assert list(cfg.relevant())[-1] == "lr_net" and "outer_loop" not in cfg.relevant()
    assert display_name("toy") == "Toy"


def test_the_cli_asks_for_experts_exactly_when_the_entry_names_their_optimizer(monkeypatch):
    monkeypatch.setitem(REGISTRY, "toy", dataclasses.replace(TOY, experts="sgd"))
    args = distill_parser().parse_args(["distill", "--out", "p", "--method", "toy"])
    with pytest.raises(ConfigError, match="--method toy matches expert trajectories: give --experts"):
        distill_cli._data_and_model(args)


def test_importing_the_registry_imports_no_torch():
    code = "import sys, ftd_nas.proxy_methods; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0

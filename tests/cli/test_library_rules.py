"""Every rule the CLI enforces is the library's: the Python API refuses the same values, naming the same option.

tests/cli/test_bad_inputs.py drives these through the command line; here each is refused by the config (or
library call) the CLI builds, and the CLI's argparse bounds are checked to be the library's own constants.
"""

import argparse
import math

import pytest

from ftd_nas.errors import ConfigError


@pytest.mark.parametrize("kwargs, option", [
    ({"val_fraction": 0.96}, "--val-fraction"), ({"val_fraction": -0.1}, "--val-fraction"),
    ({"image_size": 3}, "--image-size"), ({"image_size": 1025}, "--image-size"),
    ({"split_seed": -1}, "--split-seed"), ({"split_seed": 2**63}, "--split-seed"),
    ({"zca_eps": 0.0}, "--zca-eps"), ({"zca_eps": math.inf}, "--zca-eps"),
])
def test_data_config_refuses_what_the_cli_refuses(kwargs, option):
    from ftd_nas.data import DataConfig

    with pytest.raises(ConfigError, match=option):
        DataConfig(**kwargs)


def test_data_config_accepts_the_cli_bounds():
    from ftd_nas.data import DataConfig
    from ftd_nas.data.loader import MAX_IMAGE_SIZE, MAX_VAL_FRACTION, MIN_IMAGE_SIZE

    DataConfig(val_fraction=MAX_VAL_FRACTION, image_size=MIN_IMAGE_SIZE, split_seed=2**63 - 1)
    DataConfig(image_size=MAX_IMAGE_SIZE)


def test_load_dataset_refuses_the_same_val_fraction():
    from ftd_nas.data import load_dataset

    with pytest.raises(ConfigError, match="--val-fraction"):
        load_dataset("digits", val_fraction=0.99)


@pytest.mark.parametrize("build, option", [
    (lambda: __import__("ftd_nas.train", fromlist=["TrainConfig"]).TrainConfig(momentum=1.5), "momentum"),
    (lambda: __import__("ftd_nas.search", fromlist=["SearchRecipe"]).SearchRecipe(momentum=1.5), "momentum"),
    (lambda: __import__("ftd_nas.train", fromlist=["TrainConfig"]).TrainConfig(seed=-1), "seed"),
    (lambda: __import__("ftd_nas.search", fromlist=["SearchRecipe"]).SearchRecipe(seed=-1), "--seed"),
    (lambda: __import__("ftd_nas.coresets", fromlist=["SelectConfig"]).SelectConfig(seed=-1), "--seed"),
    (lambda: __import__("ftd_nas.evaluation", fromlist=["EvalConfig"]).EvalConfig(seed=-1), "--seed"),
])
def test_training_configs_refuse_what_the_cli_refuses(build, option):
    with pytest.raises(ConfigError, match=option):
        build()


def test_verify_config_refuses_what_the_cli_refuses():
    from ftd_nas.search.verify import VerifyConfig

    with pytest.raises(ConfigError, match="--sample-seed"):
        VerifyConfig(seed=-1)
    with pytest.raises(ConfigError, match="--until-width"):
        VerifyConfig(until_width=2.5, budget=100)
    VerifyConfig(until_width=2.0, budget=100)


def test_distill_config_refuses_an_ema_decay_the_cli_refuses():
    from ftd_nas.distill import resolve_config
    from ftd_nas.origins import MAX_EMA_DECAY

    resolve_config("digits", 1, "ftd", ema_decay=MAX_EMA_DECAY)
    with pytest.raises(ConfigError, match="--ema-decay"):
        resolve_config("digits", 1, "ftd", ema_decay=0.9999999)


def test_distill_inputs_per_method():
    from ftd_nas.distill.methods import check_inputs
    from ftd_nas.models import ModelSpec

    with pytest.raises(ConfigError, match="--experts DIR"):
        check_inputs("ftd", None, None)
    with pytest.raises(ConfigError, match="network from its experts"):
        check_inputs("mtt", "experts", ModelSpec(width=4))
    with pytest.raises(ConfigError, match="drop --experts"):
        check_inputs("dm", "experts", ModelSpec())
    check_inputs("ftd", "experts", None)
    check_inputs("dsa", None, ModelSpec())


def test_search_config_refuses_zca_with_a_proxy_file():
    from ftd_nas.search import SearchConfig

    with pytest.raises(ConfigError, match="--zca"):
        SearchConfig(proxy="p.safetensors", zca=True)
    SearchConfig(proxy="random:2", zca=True)


def test_plan_refuses_what_the_cli_refuses():
    from ftd_nas.search import SearchConfig
    from ftd_nas.search.plan import plan_search

    with pytest.raises(ConfigError, match="--plan-sample"):
        plan_search(SearchConfig(), sample=0)
    with pytest.raises(ConfigError, match="--plan-epochs"):
        plan_search(SearchConfig(), epochs=0)


def test_select_refuses_to_replace_another_selection(tmp_path, digits):
    from ftd_nas.coresets import SelectConfig, existing_selection, select_coreset

    config = SelectConfig(method="random", ipc=1)
    out = tmp_path / "s.safetensors"
    assert existing_selection(out, config, digits) is None
    select_coreset(config, digits).save(out)
    assert existing_selection(out, config, digits) is not None  # the same selection: nothing to do
    with pytest.raises(ConfigError, match="--overwrite"):
        existing_selection(out, SelectConfig(method="random", ipc=1, seed=1), digits)
    assert existing_selection(out, SelectConfig(method="random", ipc=1, seed=1), digits, overwrite=True) is None


@pytest.mark.parametrize("parse, low_ok, high_bad", [
    ("VAL_FRACTION", "0.95", "0.951"), ("IMAGE_SIZE", "1024", "1025"), ("SEED", str(2**63 - 1), str(2**63)),
])
def test_cli_types_read_the_library_bounds(parse, low_ok, high_bad):
    from ftd_nas.cli import common

    kind = getattr(common, parse)
    kind(low_ok)
    with pytest.raises(argparse.ArgumentTypeError):
        kind(high_bad)

import itertools

import pytest
import torch
from torch import nn

from ftd_nas.errors import ConfigError
from ftd_nas.records import RecordError
from ftd_nas.models import ACT_LAYERS, NORM_LAYERS, POOL_LAYERS, ModelSpec, build_model, count_params


def test_default_convnet_has_the_papers_parameter_count():
    assert count_params(build_model(ModelSpec())) == 320_010


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_every_norm_act_pool_combination_builds_for_16px_images(depth):
    x = torch.randn(2, 1, 16, 16)
    for norm, act, pool in itertools.product(NORM_LAYERS, ACT_LAYERS, POOL_LAYERS):
        spec = ModelSpec(width=8, depth=depth, norm=norm, act=act, pool=pool, channels=1, image_size=(16, 16))
        assert build_model(spec)(x).shape == (2, 10), (norm, act, pool)


def test_block_structure_follows_the_name_tables():
    net = build_model(ModelSpec(width=8, depth=2, norm="instancenorm", act="leakyrelu", pool="maxpool"))
    kinds = [type(m) for m in net.features]
    assert kinds == [nn.Conv2d, nn.GroupNorm, nn.LeakyReLU, nn.MaxPool2d] * 2
    norm = net.features[1]
    assert norm.num_groups == norm.num_channels == 8  # instance norm = one group per channel
    assert net.features[2].negative_slope == 0.01
    assert net.classifier.in_features == 8 * 8 * 8


def test_feature_size_without_pooling_keeps_full_resolution():
    net = build_model(ModelSpec(width=4, depth=2, pool="none", norm="layernorm"))
    assert net.classifier.in_features == 4 * 32 * 32
    assert net.features[1].normalized_shape == (4, 32, 32)


@pytest.mark.parametrize("field, value, listed", [
    ("norm", "weightnorm", "instancenorm"), ("act", "gelu", "leakyrelu"), ("pool", "lppool", "avgpool"),
    ("arch", "transformer", "resnet18"),
])
def test_unknown_layer_names_list_the_valid_ones(field, value, listed):
    with pytest.raises(ConfigError, match=listed):
        build_model(ModelSpec(**{field: value}))


def test_images_too_small_for_depth_fail_clearly():
    with pytest.raises(ConfigError, match="too small"):
        build_model(ModelSpec(depth=5, image_size=(16, 16)))


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(ModelSpec(width=8), seed=7)
    after = torch.rand(1)
    b = build_model(ModelSpec(width=8), seed=7)
    c = build_model(ModelSpec(width=8), seed=8)
    assert torch.equal(before, after)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


def test_spec_round_trips_through_a_dict():
    spec = ModelSpec(width=16, norm="batchnorm", image_size=(16, 16))
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(RecordError, match="unknown fields"):
        ModelSpec.from_dict({**spec.to_dict(), "dropout": 0.5})
    with pytest.raises(RecordError, match="unknown --norm 'weightnorm'"):
        ModelSpec.from_dict({**spec.to_dict(), "norm": "weightnorm"})

"""The registry: every configuration is valid and named; a bad one is refused with a clear message; every
scorer leaves the network as it was and repeats itself for a seed."""

import copy
from dataclasses import replace

import pytest
import torch

from ftd_nas.errors import ConfigError
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.zero_cost import REGISTRY, ZeroCostConfig, score_network, zero_cost_config

SHAPE = (3, 8, 8)


def test_the_registry_names_every_scorer_and_its_choices():
    assert list(REGISTRY) == ["synflow", "snip", "grad_norm", "jacov", "naswot", "params", "flops"]
    for name, config in REGISTRY.items():
        assert config.scorer == name and config.describe().startswith(name)
        assert ZeroCostConfig.from_dict(config.to_dict()) == config
    assert REGISTRY["synflow"].describe() == "synflow: batch 1 of ones, bn eval, dtype float64, weights layers"


@pytest.mark.parametrize("name, changes, message", [
    ("nope", {}, "unknown training-free scorer 'nope'; choose synflow, snip"),
    ("synflow", {"input": "real"}, "synflow takes input 'ones', not 'real'"),
    ("snip", {"input": "noise"}, "snip takes input 'real'"),
    ("snip", {"batch_size": 0}, "snip needs a batch_size of at least 1"),
    ("jacov", {"batch_size": 1}, "jacov needs a batch_size of at least 2"),
    ("naswot", {"batch_size": True}, "naswot needs a batch_size"),
    ("params", {"batch_size": 8}, "params reads no images"),
    ("flops", {"bn": "eval"}, "flops has no bn choice"),
    ("jacov", {"weights": "all"}, "jacov has no weights choice"),
    ("grad_norm", {"bn": "frozen"}, "grad_norm's bn must be one of train, eval, got 'frozen'"),
    ("synflow", {"dtype": "float16"}, "synflow's dtype must be one of float32, float64"),
])
def test_a_bad_configuration_is_refused(name, changes, message):
    base = REGISTRY.get(name, REGISTRY["params"]).to_dict()
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        ZeroCostConfig(**{**base, "scorer": name, **changes})


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="choose synflow, snip, grad_norm, jacov, naswot, params, flops"):
        zero_cost_config("zen")


def _network(training: bool):
    net = build_model(ModelSpec(width=4, depth=2, norm="batchnorm", channels=3, image_size=SHAPE[1:],
                                num_classes=3), seed=1)
    return net.train(training)


def _batch(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *SHAPE, generator=g), torch.randint(0, 3, (n,), generator=g)


def _score(net, config, seed=0):
    images, labels = _batch(config.batch_size or 1)
    return score_network(net, config, images if config.input == "real" else None, labels, SHAPE, seed)


@pytest.mark.parametrize("name", list(REGISTRY))
@pytest.mark.parametrize("training", [True, False])
def test_scoring_leaves_the_network_unchanged(name, training):
    net = _network(training)
    before = copy.deepcopy(net.state_dict())
    _score(net, REGISTRY[name])
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and running statistics
    assert net.training == training and all(m.training == training for m in net.modules())
    assert all(p.grad is None and p.requires_grad and p.dtype == torch.float32 for p in net.parameters())
    assert not any(m._forward_hooks for m in net.modules())


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_same_seed_gives_the_same_score(name):
    config = REGISTRY[name]
    assert _score(_network(True), config, seed=3) == _score(_network(True), config, seed=3)


def test_noise_input_is_drawn_from_the_seed():
    config = replace(REGISTRY["jacov"], input="noise", batch_size=8)
    net = _network(True)
    assert _score(net, config, seed=1) == _score(net, config, seed=1) != _score(net, config, seed=2)


def test_a_real_minibatch_must_be_the_configured_size():
    images, labels = _batch(5)
    with pytest.raises(ConfigError, match="snip scores a real minibatch of 64 images; got 5"):
        score_network(_network(True), "snip", images, labels)
    with pytest.raises(ConfigError, match="snip needs the labels of its 5 images"):
        score_network(_network(True), replace(REGISTRY["snip"], batch_size=5), images)

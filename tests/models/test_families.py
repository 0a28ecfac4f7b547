"""Model families as registry entries: their own axes and validation, capabilities declared, not probed."""

import pytest
from torch import nn

from ftd_nas.errors import ConfigError, InputError
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.models.families import FAMILIES, ModelFamily, get_family, one_of, require_embedding, whole_number
from ftd_nas.models.nb201_cells import parse_cell_string
from ftd_nas.search.factories import build_candidate
from ftd_nas.search.space import parse_space


@pytest.fixture
def toy_family(monkeypatch):
    """A family with axes of its own (not the ConvNet's knobs), added by one entry."""
    def build(params, channels, image_size, num_classes):
        return nn.Sequential(nn.Flatten(), nn.Linear(channels * image_size[0] * image_size[1], params["hidden"]),
                             nn.ReLU() if params["act"] == "relu" else nn.Tanh(), nn.Linear(params["hidden"],
                                                                                            num_classes))
    family = ModelFamily("mlp-toy", "a two-layer perceptron", {"hidden": whole_number(1, 64),
                                                               "act": one_of(["relu", "tanh"])}, build,
                         rule=lambda p: "hidden 3 is unlucky" if p.get("hidden") == 3 else None)
    monkeypatch.setitem(FAMILIES, family.name, family)
    return family


def test_a_new_family_is_one_entry_with_its_own_axes(toy_family):
    space = parse_space("model: mlp-toy\naxes:\n  hidden: [4, 8]\n  act: [relu, tanh]\n", "toy.yaml")
    assert space.family is toy_family and len(space) == 4
    net = build_candidate(space, {"hidden": 8, "act": "tanh"}, (1, (4, 4), 3))
    assert net[1].out_features == 8 and net[-1].out_features == 3


@pytest.mark.parametrize("text, message", [
    ("model: mlp-toy\naxes:\n  hidden: [4, 65]\n  act: [relu]\n", "hidden value 65 must be an integer from 1 to 64"),
    ("model: mlp-toy\naxes:\n  hidden: [4]\n  depth: [1]\n", "unknown axis 'depth'; axes are hidden, act"),
    ("model: mlp-toy\naxes:\n  hidden: [3]\n  act: [relu]\n", "hidden 3 is unlucky"),
])
def test_a_family_validates_spaces_with_its_own_checks(toy_family, text, message):
    with pytest.raises(InputError, match=message):
        parse_space(text, "toy.yaml")


def test_the_convnet_family_keeps_its_axes_and_candidate_ids():
    family = get_family("convnet")
    assert list(family.axes) == ["depth", "width", "act", "norm", "pool"] and family.complete and family.embeds
    space = parse_space("axes:\n  depth: [1]\n  width: [8]\n  act: [relu]\n  norm: [none]\n  pool: [avgpool]\n")
    from ftd_nas.search.space import candidate_id
    assert [candidate_id(p) for p in space.candidates()] == ["d1-w8-relu-none-avgpool"]


def test_model_spec_refuses_what_the_cli_refuses():
    # depth <= 8 used to live in the CLI and the space parser only
    with pytest.raises(ConfigError, match="--depth 9: must be an integer from 1 to 8"):
        ModelSpec(depth=9)
    with pytest.raises(ConfigError, match="multiple of 4"):
        ModelSpec(norm="groupnorm", width=6)
    assert isinstance(build_model(ModelSpec(norm="groupnorm", width=8, depth=1, image_size=(8, 8))), nn.Module)


def test_an_embedding_is_a_declared_capability():
    require_embedding("convnet", "--method dm matches embeddings")
    with pytest.raises(ConfigError, match="--method dm matches embeddings: use --model convnet, not vgg11"):
        require_embedding("vgg11", "--method dm matches embeddings")
    # the declaration says what the network does
    for name, family in FAMILIES.items():
        if family.network is not None:
            net = build_model(ModelSpec(arch=name, width=8, depth=1, image_size=(16, 16)))
            assert hasattr(net, "embed") == family.embeds, name


def test_nb201_is_one_entry_with_axes_settings_and_names_of_its_own():
    family = get_family("nb201")
    assert list(family.axes) == ["edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2", "C", "N"]
    assert family.settings == ("C", "N") and family.complete and family.network is None
    assert family.check_value("edge_2_1", "nor_conv_5x5").startswith("must be one of none, skip_connect")
    assert family.check_value("C", 0) == "must be a positive integer"
    params = {axis: "skip_connect" for axis in list(family.axes)[:6]} | {"C": 4, "N": 1}
    net = family.build(params, 3, (8, 8), 10)
    assert family.embeds == hasattr(net, "embed")  # the declaration says what the network does
    assert family.candidate_id(params).startswith("|skip_connect~0|+|skip_connect~0|skip_connect~1|+")
    one, other = ({**parse_cell_string(text), "C": 4, "N": 1} for text in (  # the same sum, written two ways
        "|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
        "|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|skip_connect~1|none~2|"))
    assert family.isomorphism(one) == family.isomorphism(other) != family.isomorphism({**one, "C": 8})


def test_only_families_of_a_model_specs_knobs_have_a_model_spec_network():
    with pytest.raises(ConfigError, match="only ModelSpec's knobs .* not C, edge_1_0"):
        from ftd_nas.models.families import NB201_AXES, register
        register(ModelFamily("nb201-spec", "x", {"edge_1_0": NB201_AXES["edge_1_0"], "C": NB201_AXES["C"]},
                             lambda *a: None, network=lambda spec: None))
    with pytest.raises(ConfigError, match="use --model convnet, not vgg11"):  # nb201 embeds, but is no --model
        require_embedding("vgg11", "--method dm matches embeddings")

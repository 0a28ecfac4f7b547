"""The NAS-Bench-201 network: the benchmark's sizes, the cell's wiring, its operations by hand."""

import pytest
import torch
from torch import nn

from ftd_nas.errors import ConfigError
from ftd_nas.models import count_macs, count_params
from ftd_nas.models.nb201 import Cell, NB201Network, Reduction, build_nb201, make_op
from ftd_nas.models.nb201_cells import EDGE_AXES, parse_cell_string


def cell(**edges) -> dict:
    """Six edge axes: the ones given, `none` on the rest."""
    return {axis: edges.get(axis, "none") for axis in EDGE_AXES}


def every_edge(op: str) -> dict:
    return {axis: op for axis in EDGE_AXES}


@pytest.mark.parametrize("ops, published_millions, published_mflops", [
    (cell(edge_1_0="skip_connect", edge_3_1="avg_pool_3x3"), 0.073306, 7.78305),  # only none, skip and pool
    (every_edge("nor_conv_3x3"), 1.531546, 220.11969),
])
def test_the_smallest_and_largest_cells_have_the_benchmarks_size_on_cifar10(ops, published_millions,
                                                                              published_mflops):
    """NAS-Bench-201's range on CIFAR-10 (C 16, N 5, 10 classes): 0.073 M to 1.531 M parameters as the paper
    prints it; its API's exact values, which we match to the parameter, are the ones given here."""
    net = NB201Network(ops, C=16, N=5, channels=3, num_classes=10)
    params = count_params(net)
    assert params == round(published_millions * 1e6)
    assert f"{params / 1e6:.3g}" == f"{published_millions:.3g}"  # the brief's three significant digits
    # the benchmark's FLOPs are our multiply-adds plus the classifier's 10 bias additions
    assert count_macs(net, (3, 32, 32)) + 10 == round(published_mflops * 1e6)


def test_a_small_network_classifies_and_embeds_a_batch():
    net = build_nb201({**parse_cell_string("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+"
                                           "|skip_connect~0|none~1|nor_conv_3x3~2|"), "C": 4, "N": 1}, 3, (32, 32), 10)
    x = torch.randn(2, 3, 32, 32)
    assert net(x).shape == (2, 10) and net.embed(x).shape == (2, 16)  # 4C features before the classifier
    assert [type(m) for m in net.cells] == [Cell, Reduction, Cell, Reduction, Cell]  # N = 1 cell per stage


def test_every_batch_norm_learns_its_affine_and_tracks_statistics_as_the_benchmarks_inference_networks():
    net = NB201Network(every_edge("nor_conv_1x1"), C=4, N=1)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(m.affine and m.track_running_stats for m in norms)
    assert all(m.bias is None for m in net.modules() if isinstance(m, nn.Conv2d))


def test_none_is_zeros_and_a_cell_of_none_outputs_zeros():
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(make_op("none", 4)(x), torch.zeros_like(x))
    assert torch.equal(Cell(every_edge("none"), 4)(x), torch.zeros_like(x))


@pytest.mark.parametrize("edges, factor", [
    ({"edge_3_0": "skip_connect"}, 1),  # straight to the output
    ({"edge_1_0": "skip_connect", "edge_3_1": "skip_connect"}, 1),  # through node 1
    ({"edge_1_0": "skip_connect", "edge_2_1": "skip_connect", "edge_3_2": "skip_connect"}, 1),  # through 1 and 2
    ({"edge_1_0": "skip_connect", "edge_2_0": "skip_connect", "edge_2_1": "skip_connect", "edge_3_2": "skip_connect"},
     2),  # node 2 sums two paths
    (every_edge("skip_connect"), 4),  # node 1 = x, node 2 = 2x, node 3 = x + x + 2x
    ({"edge_1_0": "skip_connect", "edge_2_0": "skip_connect"}, 0),  # nothing reaches node 3
])
def test_a_node_sums_its_incoming_edges(edges, factor):
    x = torch.randn(1, 2, 4, 4)
    assert torch.allclose(Cell(cell(**edges), 2)(x), factor * x)


def test_the_average_pool_leaves_padding_out_at_the_border():
    x = torch.arange(9.0).reshape(1, 1, 3, 3)  # 0 1 2 / 3 4 5 / 6 7 8
    y = make_op("avg_pool_3x3", 1)(x)
    assert y[0, 0, 0, 0].item() == pytest.approx((0 + 1 + 3 + 4) / 4)  # a corner: 4 real pixels, not 9
    assert y[0, 0, 0, 1].item() == pytest.approx((0 + 1 + 2 + 3 + 4 + 5) / 6)  # an edge: 6
    assert y[0, 0, 1, 1].item() == pytest.approx(4.0)  # the centre: all 9


def test_the_convolutions_are_relu_conv_bn_of_their_kernel():
    for name, kernel in (("nor_conv_1x1", 1), ("nor_conv_3x3", 3)):
        relu, conv, norm = make_op(name, 4)
        assert isinstance(relu, nn.ReLU) and not relu.inplace  # a node feeds several edges: never in place
        assert conv.kernel_size == (kernel, kernel) and conv.stride == (1, 1) and isinstance(norm, nn.BatchNorm2d)


def test_an_image_the_two_reductions_cannot_halve_is_refused():
    with pytest.raises(ConfigError, match="multiples of 4 .*30x30"):
        build_nb201({**every_edge("skip_connect"), "C": 4, "N": 1}, 3, (30, 30), 10)

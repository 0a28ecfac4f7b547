"""params and flops of a small convolutional network counted by hand."""

from torch import nn

from ftd_nas.zero_cost import score_network


def small_convnet() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False), nn.Flatten(), nn.Linear(64, 10))


def test_params_counts_the_trainable_parameters():
    net = small_convnet()
    # conv 3*4*9 + 4, batch norm 4 + 4, grouped conv 4 * (4/2) * 9, linear 64*10 + 10
    expected = (108 + 4) + 8 + 72 + 650
    assert score_network(net, "params") == expected
    net[1].requires_grad_(False)  # frozen: not trainable
    assert score_network(net, "params") == expected - 8


def test_flops_counts_multiply_accumulates_of_convolutions_and_linear_layers():
    # conv: 4*8*8 outputs x 3*9 inputs each; grouped conv on 4x4: 4*4*4 outputs x (4/2)*9; linear: 10 x 64
    expected = 256 * 27 + 64 * 18 + 640
    assert score_network(small_convnet(), "flops", input_shape=(3, 8, 8)) == expected

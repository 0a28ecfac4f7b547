import pytest
import torch

from ftd_nas.errors import ConfigError
from ftd_nas.models import ModelSpec, build_model


@pytest.mark.parametrize("arch", ["alexnet", "vgg11", "resnet18"])
@pytest.mark.parametrize("channels, size", [(3, 32), (1, 16)])
def test_cross_architecture_models_fit_small_images(arch, channels, size):
    spec = ModelSpec(arch=arch, channels=channels, image_size=(size, size), num_classes=7)
    net = build_model(spec)
    out = net(torch.randn(2, channels, size, size))
    assert out.shape == (2, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_cross_architecture_models_use_instance_norm_by_default():
    net = build_model(ModelSpec(arch="vgg11"))
    norms = [m for m in net.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert len(norms) == 8 and all(m.num_groups == m.num_channels for m in norms)


def test_resnet_rejects_layernorm():
    with pytest.raises(ConfigError, match="resnet18 supports"):
        build_model(ModelSpec(arch="resnet18", norm="layernorm"))

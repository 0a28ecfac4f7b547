import pytest
import torch
import torch.nn.functional as F

from ftd_nas.models import ModelSpec, ParamLayout, build_model, functional_forward


@pytest.fixture
def net():
    return build_model(ModelSpec(width=8, depth=2, image_size=(8, 8)), seed=0)


def test_functional_forward_equals_module_forward(net):
    layout = ParamLayout(net)
    x = torch.randn(5, 3, 8, 8)
    assert torch.allclose(functional_forward(net, layout, layout.flatten(net), x), net(x), atol=1e-6)


def test_functional_gradient_equals_module_gradient(net):
    layout = ParamLayout(net)
    x, y = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 2, 3, 4, 5])
    flat = layout.flatten(net).requires_grad_(True)
    (grad_flat,) = torch.autograd.grad(F.cross_entropy(functional_forward(net, layout, flat, x), y), flat)
    F.cross_entropy(net(x), y).backward()
    grad_module = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    assert torch.allclose(grad_flat, grad_module, atol=1e-6)


def test_parameter_order_is_named_parameters_order_and_stable(net):
    layout = ParamLayout(net)
    assert layout.names == [n for n, _ in net.named_parameters()]
    assert layout.names == ParamLayout(build_model(ModelSpec(width=8, depth=2, image_size=(8, 8)), seed=1)).names
    assert layout.num_params == sum(p.numel() for p in net.parameters())


def test_flatten_copies_instead_of_aliasing_live_weights(net):
    # The reference code's trajectory bug: snapshots that alias the weights change as training goes on.
    layout = ParamLayout(net)
    snapshot = layout.flatten(net)
    with torch.no_grad():
        next(net.parameters()).add_(1.0)
    assert not torch.equal(snapshot, layout.flatten(net))


def test_load_into_round_trips_and_wrong_size_fails(net):
    layout = ParamLayout(net)
    target = torch.randn(layout.num_params)
    layout.load_into(net, target)
    assert torch.equal(layout.flatten(net), target)
    with pytest.raises(ValueError, match=f"{layout.num_params} parameters"):
        layout.unflatten(torch.zeros(layout.num_params + 1))

import pytest
import torch
import torch.nn.functional as F

from ftd_nas.distill import match_trajectory, plan_unroll
from ftd_nas.models import ModelSpec, ParamLayout, build_model

STRATEGY = "color_crop_cutout_flip_scale_rotate"


def _problem(dtype=torch.float32, norm="instancenorm"):
    torch.manual_seed(0)
    spec = ModelSpec(width=8, depth=2, norm=norm, image_size=(8, 8), num_classes=3)
    model = build_model(spec, seed=0).to(dtype)
    layout = ParamLayout(model)
    start = layout.flatten(model)
    target = start + 0.01 * torch.randn_like(start)
    images = torch.randn(12, 3, 8, 8, dtype=dtype)
    labels = torch.arange(12) % 3
    return model, layout, start, target, images, labels


def _grads(unroll, steps=6, batch=5, strategy=STRATEGY, dtype=torch.float32, lr=0.01):
    model, layout, start, target, images0, labels = _problem(dtype)
    images = images0.clone().requires_grad_(True)
    syn_lr = torch.tensor(lr, dtype=dtype, requires_grad=True)
    plan = plan_unroll(12, steps, batch, torch.Generator().manual_seed(1))
    loss = match_trajectory(model, layout, images, labels, syn_lr, start, target, plan, strategy, unroll)
    return loss, images.grad, syn_lr.grad


def test_checkpoint_unroll_gives_the_same_gradients_as_full():
    loss_f, img_f, lr_f = _grads("full")
    loss_c, img_c, lr_c = _grads("checkpoint")
    assert torch.allclose(loss_f, loss_c, rtol=1e-6)
    assert torch.allclose(img_f, img_c, rtol=1e-4, atol=1e-7 * img_f.abs().max())
    assert torch.allclose(lr_f, lr_c, rtol=1e-4)
    assert img_f.abs().max() > 0 and lr_f != 0


def test_one_step_loss_matches_a_hand_computation():
    model, layout, start, target, images, labels = _problem()
    model.zero_grad()
    F.cross_entropy(model(images), labels).backward()
    grad = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    expected = (start - 0.05 * grad - target).square().sum() / (start - target).square().sum()
    plan = plan_unroll(12, 1, 12, torch.Generator().manual_seed(0))
    loss = match_trajectory(model, layout, images.clone().requires_grad_(True), labels,
                            torch.tensor(0.05, requires_grad=True), start, target, plan, None, "full")
    assert loss == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("unroll", ["full", "checkpoint"])
def test_syn_lr_gradient_matches_finite_differences(unroll):
    loss, _, lr_grad = _grads(unroll, steps=3, strategy=None, dtype=torch.float64, lr=0.05)
    eps = 1e-6
    plus = _grads(unroll, steps=3, strategy=None, dtype=torch.float64, lr=0.05 + eps)[0]
    minus = _grads(unroll, steps=3, strategy=None, dtype=torch.float64, lr=0.05 - eps)[0]
    assert float(lr_grad) == pytest.approx(float(plus - minus) / (2 * eps), rel=1e-5)


def test_batches_cycle_through_permutations_of_the_synthetic_set():
    plan = plan_unroll(10, 5, 4, torch.Generator().manual_seed(0))
    assert [len(b) for b in plan.batches] == [4, 4, 2, 4, 4]
    assert sorted(torch.cat(plan.batches[:3]).tolist()) == list(range(10))
    assert len(set(plan.seeds)) == 5

import pytest
import torch

from ftd_nas.augment import AUGMENT_FAMILIES, DEFAULT_STRATEGY, apply, draw, dsa, parse_strategy
from ftd_nas.augment.dsa import _uniform_int
from ftd_nas.errors import ConfigError

GEOMETRIC = ["crop", "cutout", "flip", "scale", "rotate"]  # linear in the image for a fixed draw


def _batch(n=8, seed=0):
    return torch.randn(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("family", list(AUGMENT_FAMILIES))
def test_gradients_reach_the_images(family):
    x = _batch().requires_grad_(True)
    dsa(x, family, seed=0).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("family", list(AUGMENT_FAMILIES))
def test_same_seed_replays_the_same_per_sample_draw_on_another_batch(family):
    a = _batch(seed=1)
    b = a.clone()
    b[0] = _batch(n=1, seed=2)[0]  # b differs from a in its first sample only
    out_a, out_b = dsa(a, family, seed=42), dsa(b, family, seed=42)
    assert torch.allclose(out_a[1:], out_b[1:])
    assert not torch.allclose(out_a[0], out_b[0])


@pytest.mark.parametrize("family", GEOMETRIC)
def test_same_seed_is_the_same_linear_transform(family):
    a, b = _batch(seed=3), _batch(seed=4)
    assert torch.allclose(dsa(a + b, family, seed=9), dsa(a, family, seed=9) + dsa(b, family, seed=9), atol=1e-5)


def test_no_seed_gives_different_draws():
    x = _batch(n=32)
    assert not torch.equal(dsa(x), dsa(x))


def test_parameters_are_drawn_per_sample():
    x = _batch(n=1).repeat(16, 1, 1, 1)
    for family in ["crop", "scale", "rotate", "color"]:
        out = dsa(x, family, seed=0)
        assert len({tuple(o.flatten()[:64].tolist()) for o in out}) > 1, family


@pytest.mark.parametrize("family", list(AUGMENT_FAMILIES))
def test_shapes_and_value_ranges_stay_sane(family):
    x = torch.rand(16, 3, 16, 16)
    out = dsa(x, family, seed=5)
    assert out.shape == x.shape and torch.isfinite(out).all()
    if family in ("flip", "crop", "cutout"):  # pixels are moved or zeroed, never invented
        allowed = set(x.flatten().tolist()) | {0.0}
        assert set(out.flatten().tolist()) <= allowed
    if family in ("scale", "rotate"):  # bilinear resampling with zero padding stays within [0, max]
        assert out.min() >= -1e-6 and out.max() <= x.max() + 1e-6
    if family == "flip":
        flipped = (out == x.flip(3)).flatten(1).all(1)
        kept = (out == x).flatten(1).all(1)
        assert (flipped | kept).all()
    if family == "cutout":  # a square of about half the side is zeroed in each image
        zeroed = (out == 0).all(1).flatten(1).sum(1)
        assert ((zeroed >= 16) & (zeroed <= 64)).all()
    if family == "color":
        assert out.abs().max() < 10


def test_one_family_per_call():
    x = torch.rand(8, 3, 16, 16) + 1.0  # strictly positive, so cutout shows as zeros
    for seed in range(20):
        out = dsa(x, "cutout_flip", seed=seed)
        has_zeros = bool((out == 0).any())
        is_flip_or_same = bool(((out == x) | (out == x.flip(3))).flatten(1).all(1).all())
        assert has_zeros != is_flip_or_same


def test_strategy_parsing():
    assert parse_strategy(DEFAULT_STRATEGY) == ["color", "crop", "cutout", "flip", "scale", "rotate"]
    assert parse_strategy("none") == [] and parse_strategy(None) == []
    x = _batch()
    assert dsa(x, "none") is x
    with pytest.raises(ConfigError, match="unknown DSA families"):
        parse_strategy("color_jitter")


def test_a_draw_applied_separately_is_the_seeded_call():
    x = _batch(n=12, seed=6)
    for seed in range(12):  # covers every family
        family, uniforms = draw(parse_strategy(DEFAULT_STRATEGY), len(x), torch.Generator().manual_seed(seed))
        assert torch.equal(apply(x, family, uniforms), dsa(x, seed=seed))


def test_integer_draws_cover_their_range_and_never_reach_the_top():
    below_one = torch.nextafter(torch.tensor(1.0), torch.tensor(0.0))
    u = torch.cat([torch.linspace(0, 1, 1001)[:-1], below_one.view(1)])
    values = _uniform_int(u, -4, 5).flatten()
    assert values.min() == -4 and values.max() == 4 and len(values.unique()) == 9
    assert _uniform_int(below_one.view(1), 0, 9).item() == 8


def test_a_shared_draw_gives_batches_of_any_size_the_same_transform():
    x = torch.randn(8, 3, 16, 16)
    big = dsa(x, "crop_scale_rotate_flip_color_cutout", seed=5, shared=True)
    small = dsa(x[:3], "crop_scale_rotate_flip_color_cutout", seed=5, shared=True)
    assert torch.allclose(big[:3], small, atol=1e-6)  # the first three images got exactly the same transform
    single = torch.stack([dsa(x[i:i + 1], "crop_scale_rotate_flip_color_cutout", seed=5, shared=True)[0]
                          for i in range(8)])
    assert torch.allclose(big, single, atol=1e-5)  # every image of the batch too

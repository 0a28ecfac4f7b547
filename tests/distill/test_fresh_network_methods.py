"""DSA (gradient matching) and DM (distribution matching): their cores, and runs that improve on real images."""

import json

import pytest
import torch
from torch import nn

from ftd_nas.data import Split
from ftd_nas.distill import Distiller, distill, resolve_config
from ftd_nas.distill.distribution_matching import distribution_matching_loss
from ftd_nas.distill.gradient_matching import layer_distance, match_distance
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.evaluation import EvalConfig, evaluate_images
from ftd_nas.models import ModelSpec
from ftd_nas.proxy import Proxy
from tests.conftest import Crash

SMALL = ModelSpec(width=16, depth=2)


def test_layer_distance_matches_a_hand_computation():
    g_real = torch.tensor([[3.0, 4.0], [1.0, 0.0]])  # two output units
    g_syn = torch.tensor([[3.0, 4.0], [0.0, 2.0]])  # unit 0 parallel (cos 1), unit 1 orthogonal (cos 0)
    assert layer_distance(g_real, g_syn).item() == pytest.approx(0.0 + 1.0, abs=1e-5)
    assert layer_distance(torch.tensor([1.0, 2.0]), torch.tensor([-1.0, 5.0])).item() == 0  # biases count 0
    conv_real, conv_syn = torch.ones(2, 1, 2, 2), -torch.ones(2, 1, 2, 2)  # reshaped to [2, 4]: cos -1 per unit
    assert layer_distance(conv_real, conv_syn).item() == pytest.approx(4.0, abs=1e-5)


def test_match_distance_of_a_tiny_network_sums_its_layers():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))
    grads_real = [torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]), torch.zeros(2),
                  torch.tensor([[1.0, 1.0], [1.0, -1.0]]), torch.zeros(2)]
    grads_syn = [torch.tensor([[2.0, 0, 0], [0, 0, 1.0]]), torch.ones(2),
                 torch.tensor([[1.0, 1.0], [-1.0, 1.0]]), torch.ones(2)]
    # first weight: unit 0 cos 1, unit 1 cos 0 -> 1; second weight: unit 0 cos 1, unit 1 cos -1 -> 2
    assert match_distance(grads_real, grads_syn).item() == pytest.approx(3.0, abs=1e-5)
    assert len(list(net.parameters())) == len(grads_real)


def test_dm_loss_is_zero_for_identical_sets_and_grows_with_their_difference():
    from ftd_nas.models import build_model

    net = build_model(SMALL.for_data(1, (16, 16), 2), seed=0)
    x = [torch.randn(6, 1, 16, 16), torch.randn(6, 1, 16, 16)]
    same = distribution_matching_loss(net, x, [t.clone() for t in x], lambda c, t: t)
    assert same.item() == pytest.approx(0.0, abs=1e-10)
    shifted = distribution_matching_loss(net, x, [t + 1.0 for t in x], lambda c, t: t)
    assert shifted.item() > 0
    one_batch = distribution_matching_loss(net, x, [t.clone() for t in x], lambda c, t: t, one_batch=True)
    assert one_batch.item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("method, iterations, extra", [("dm", 60, {}), ("dsa", 12, {"outer_loop": 4,
                                                                                     "inner_loop": 4})])
@pytest.mark.slow
def test_each_method_beats_its_own_real_image_initialisation(digits, tmp_path, method, iterations, extra):
    cfg = resolve_config("digits", 1, method, iterations=iterations, **extra)
    d = Distiller(cfg, None, tmp_path / "p", dataset=digits, model=SMALL)
    start = d.images.detach().clone()
    for _ in range(iterations):
        d.step()
    ev = EvalConfig(runs=2, epochs=200, eval_every=50, progress=False)
    before = evaluate_images(Split(start, d.labels), digits, 0.01, d.spec, ev)["convnet"]["test_mean"]
    after = evaluate_images(Split(d.images.detach(), d.labels), digits, 0.01, d.spec, ev)["convnet"]["test_mean"]
    assert after > before + 0.05, (before, after)


@pytest.mark.parametrize("method", [pytest.param("dsa", marks=pytest.mark.slow), "dm"])
def test_resumed_run_equals_uninterrupted_run_and_the_proxy_says_what_it_is(digits, tmp_path, interrupt_after,
                                                                            method):
    cfg = resolve_config("digits", 1, method, iterations=4, checkpoint_every=2, outer_loop=2, inner_loop=2)
    reference = distill(cfg, None, tmp_path / "ref", dataset=digits, model=SMALL, progress=False)
    restore = interrupt_after(Distiller, "step", 3, Crash)  # killed during its fourth iteration
    with pytest.raises(Crash):
        distill(cfg, None, tmp_path / "res", dataset=digits, model=SMALL, progress=False)
    restore()
    resumed = distill(cfg, None, tmp_path / "res", dataset=digits, model=SMALL, progress=False)
    assert torch.equal(resumed.images, reference.images)
    loaded = Proxy.load(tmp_path / "res")
    assert loaded.record.method == method and loaded.record.experts == {} and loaded.syn_lr == pytest.approx(0.01)
    assert loaded.record.model.width == 16 and loaded.raw_images is None
    log = [json.loads(line)["it"] for line in (tmp_path / "res.run" / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2, 3, 4]


@pytest.mark.parametrize("method", ["dsa", "dm"])
def test_divergence_stops_clearly(digits, tmp_path, method):
    cfg = resolve_config("digits", 1, method, iterations=3, lr_img=1e9, outer_loop=1, inner_loop=1)
    with pytest.raises(NonFiniteError, match="Re-run the same command with --lr-img"):
        distill(cfg, None, tmp_path / "p", dataset=digits, model=SMALL, progress=False)
    assert not (tmp_path / "p").exists()


def test_fresh_network_methods_take_no_experts_and_trajectory_methods_need_them(gsam_experts, digits, tmp_path):
    with pytest.raises(ConfigError, match="uses no experts"):
        Distiller(resolve_config("digits", 1, "dm"), gsam_experts, tmp_path / "p", dataset=digits)
    with pytest.raises(ConfigError, match="give --experts"):
        Distiller(resolve_config("digits", 1, "ftd"), None, tmp_path / "p", dataset=digits)
    dsa10 = resolve_config("cifar10", 10, "dsa")
    assert (dsa10.outer_loop, dsa10.inner_loop, dsa10.lr_img, dsa10.iterations) == (10, 50, 0.1, 1000)
    assert resolve_config("cifar10", 50, "dm").lr_img == 1.0 and resolve_config("cifar10", 1, "dm").iterations == 20000
    assert "no loops for IPC 5" in resolve_config("digits", 5, "dsa").preset


@pytest.mark.parametrize("method", ["dsa", "dm"])
def test_cli_runs_each_method_end_to_end_on_digits(tmp_path, capsys, method):
    from ftd_nas.cli import main

    out = tmp_path / f"{method}.safetensors"
    assert main(["distill", "--method", method, "--dataset", "digits", "--ipc", "1", "--iterations", "2", "--width",
                 "8", "--depth", "2", "--outer-loop", "2", "--inner-loop", "1", "--out", str(out), "--no-progress",
                 "--device", "cpu"]) == 0
    assert "syn_steps" not in capsys.readouterr().out  # only the settings the method uses are shown
    assert main(["evaluate", str(out), "--dataset", "digits", "--runs", "1", "--epochs", "2", "--device", "cpu",
                 "--no-progress"]) == 0

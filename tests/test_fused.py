"""ftd_nas/fused.py: R runs trained as one computation end where R separate `train()` runs end."""

from unittest import mock

import pytest
import torch

from ftd_nas import fused
from ftd_nas.data import Split
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.fused import FusedTrainer, choose, train_runs, why_not_fusable
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.train import TrainConfig, train

SPEC = ModelSpec(width=8, depth=2, norm="instancenorm", image_size=(8, 8), num_classes=4)


def data(n=40, seed=0, soft=False) -> Split:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 8, 8, generator=gen)
    y = torch.randint(0, 4, (n,), generator=gen)
    return Split(x, torch.softmax(torch.randn(n, 4, generator=gen), 1) if soft else y)


def configs(runs=3, **kw) -> list[TrainConfig]:
    base = dict(epochs=4, lr=0.05, batch_size=16, progress=False)
    return [TrainConfig(**{**base, **kw, "seed": 7 + r}) for r in range(runs)]


def nets(runs=3, spec=SPEC):
    return [build_model(spec, seed=100 + r) for r in range(runs)]


def max_difference(a, b) -> float:
    return max(float((p.detach() - q.detach()).abs().max()) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("dsa", [None, "color_crop_cutout_flip_scale_rotate"])
def test_fused_runs_end_with_the_weights_and_metrics_of_separate_runs(dsa):
    # 40 images in batches of 16: the last batch of each epoch is smaller, as in a real proxy
    alone, together, cfgs, train_set = nets(), nets(), configs(dsa=dsa), data()
    separate = [train(m, train_set, c) for m, c in zip(alone, cfgs)]
    results = FusedTrainer(together, train_set, cfgs).fit()
    for a, b, s, f in zip(alone, together, separate, results):
        assert max_difference(a, b) < 1e-4
        assert [r["lr"] for r in f.history] == [r["lr"] for r in s.history]
        for rs, rf in zip(s.history, f.history):
            assert rf["train_loss"] == pytest.approx(rs["train_loss"], rel=1e-4, abs=1e-5)
            assert rf["train_acc"] == pytest.approx(rs["train_acc"], abs=1e-6)
    # the runs really differ from each other (seeds), so agreement is not trivial
    assert max_difference(together[0], together[1]) > 1e-2


def test_each_run_keeps_its_best_validation_weights_as_train_does():
    alone, together, val = nets(), nets(), data(24, seed=5)
    cfgs = configs(epochs=6, eval_every=2, restore_best=True, sync_every=2)
    separate = [train(m, data(), c, val=val) for m, c in zip(alone, cfgs)]
    results = FusedTrainer(together, data(), cfgs, val=val).fit()
    for a, b, s, f in zip(alone, together, separate, results):
        assert (f.best_epoch, f.val_acc) == (s.best_epoch, pytest.approx(s.val_acc))
        assert [r.get("val_acc") for r in f.history] == pytest.approx([r.get("val_acc") for r in s.history])
        assert max_difference(a, b) < 1e-4


def test_runs_on_their_own_training_sets_and_soft_labels():
    sets = [data(seed=1, soft=True), data(seed=2, soft=True), data(seed=3, soft=True)]
    alone, together, cfgs = nets(), nets(), configs(epochs=3)
    for m, d, c in zip(alone, sets, cfgs):
        train(m, d, c)
    FusedTrainer(together, sets, cfgs).fit()
    assert all(max_difference(a, b) < 1e-4 for a, b in zip(alone, together))


def test_what_cannot_be_fused_is_said():
    d = [data()] * 2
    assert "one run" in why_not_fusable(nets(1), configs(1), d[:1])
    assert "buffers" in why_not_fusable(nets(2, ModelSpec(width=8, depth=1, norm="batchnorm", image_size=(8, 8),
                                                          num_classes=4)), configs(2), d)
    assert "architecture" in why_not_fusable([build_model(SPEC), build_model(ModelSpec(width=16, depth=2,
                                              image_size=(8, 8), num_classes=4))], configs(2), d)
    assert "SGD" in why_not_fusable(nets(2), configs(2, optimizer="gsam"), d)
    assert "bf16" in why_not_fusable(nets(2), configs(2, precision="bf16"), d)
    assert "settings differ" in why_not_fusable(nets(2), [configs(1)[0], configs(1, lr=0.1)[0]], d)
    assert "size" in why_not_fusable(nets(2), configs(2), [data(40), data(32)])
    assert why_not_fusable(nets(2), configs(2), d) is None
    with pytest.raises(ConfigError, match="buffers"):
        choose("on", nets(2, ModelSpec(width=8, depth=1, norm="batchnorm", image_size=(8, 8), num_classes=4)),
               configs(2), d)
    with pytest.raises(ConfigError, match="--fuse 'sometimes'"):
        choose("sometimes", nets(2), configs(2), d)


def test_auto_fuses_only_small_steps_on_cuda():
    d = [data()] * 2
    assert not choose("auto", nets(2), configs(2), d)  # a CPU: never (vmap was 3-4x slower there)
    assert not choose("off", nets(2), configs(2), d)
    assert choose("on", nets(2), configs(2), d)
    bn = nets(2, ModelSpec(width=8, depth=1, norm="batchnorm", image_size=(8, 8), num_classes=4))
    assert not choose("on", bn, configs(2), d, strict=False)  # `on` where it can: a search's repeats
    cuda = [Split(mock.Mock(device=torch.device("cuda"), shape=(40, 3, 8, 8)), torch.zeros(40))] * 2
    with mock.patch.object(fused, "why_not_fusable", return_value=None):
        assert choose("auto", nets(2), configs(2), cuda)
        with mock.patch.object(fused, "FUSE_MAX_STEP_MACS", 1):
            assert not choose("auto", nets(2), configs(2), cuda)


def test_train_runs_trains_either_way_to_the_same_weights():
    a, b = nets(2), nets(2)
    assert train_runs(a, data(), configs(2), fuse="off")[1] is False
    assert train_runs(b, data(), configs(2), fuse="on")[1] is True
    assert all(max_difference(x, y) < 1e-4 for x, y in zip(a, b))


def test_a_diverging_run_is_named():
    bad = data()
    bad.x[0, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="fused run"):
        FusedTrainer(nets(2), bad, configs(2, epochs=1)).fit()

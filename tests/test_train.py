import pytest
import torch
from torch import nn

from ftd_nas.data import Split
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.train import TrainConfig, Trainer, evaluate, train


def _net(ds, seed=0, width=16):
    return build_model(ModelSpec(width=width, depth=2).for_data(ds.channels, ds.image_size, ds.num_classes),
                       seed=seed)


def test_training_learns_digits(digits):
    net = _net(digits)
    before = evaluate(net, digits.val)[1]
    result = train(net, digits.train, TrainConfig(epochs=8, lr=0.02, progress=False), val=digits.val)
    assert before < 0.3 and result.val_acc > 0.7
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_same_seed_same_run_and_other_seed_differs(digits):
    cfg = TrainConfig(epochs=2, progress=False)
    a, b = _net(digits), _net(digits)
    ha, hb = train(a, digits.train, cfg).history, train(b, digits.train, cfg).history
    assert ha == hb
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = _net(digits)
    train(c, digits.train, TrainConfig(epochs=2, progress=False, seed=1))
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


def test_lr_decays_tenfold_at_the_midpoint(digits):
    hist = train(_net(digits), digits.train, TrainConfig(epochs=4, lr=0.02, dsa=None, progress=False)).history
    assert [h["lr"] for h in hist] == pytest.approx([0.02, 0.02, 0.002, 0.002])
    flat = train(_net(digits), digits.train,
                 TrainConfig(epochs=2, lr=0.02, dsa=None, decay_at_midpoint=False, progress=False)).history
    assert [h["lr"] for h in flat] == pytest.approx([0.02, 0.02])


def test_nan_input_stops_with_a_clear_error(digits):
    x = digits.train.x.clone()
    x[3] = float("nan")
    with pytest.raises(NonFiniteError, match="lower the learning rate or check the input"):
        train(_net(digits), Split(x, digits.train.y), TrainConfig(epochs=1, progress=False))


def test_nan_is_caught_when_the_deferred_loss_is_read(digits):
    x = digits.train.x.clone()
    x[3] = float("nan")
    cfg = TrainConfig(epochs=6, sync_every=4, progress=False)
    with pytest.raises(NonFiniteError, match="in epoch 1 "):
        train(_net(digits), Split(x, digits.train.y), cfg)


def test_reading_the_loss_every_few_epochs_changes_nothing_but_when(digits):
    runs = {}
    for every in (1, 3):
        net = _net(digits)
        runs[every] = net, train(net, digits.train, TrainConfig(epochs=5, sync_every=every, progress=False),
                                 val=digits.val).history
    assert runs[1][1] == runs[3][1]
    assert all(torch.equal(p, q) for p, q in zip(runs[1][0].parameters(), runs[3][0].parameters()))


@pytest.mark.parametrize("optimizer", ["sgd", "gsam"])
@pytest.mark.parametrize("norm", ["instancenorm", "batchnorm", "none"])
def test_epochs_between_reads_never_wait_for_the_device(optimizer, norm):
    """On the meta device every host read of a value fails, so epochs that pass prove a GPU would never stall."""
    meta = torch.device("meta")
    net = build_model(ModelSpec(width=8, depth=2, norm=norm).for_data(3, (16, 16), 10), seed=0, device=meta)
    data = Split(torch.empty(40, 3, 16, 16, device=meta), torch.empty(40, dtype=torch.long, device=meta))
    cfg = TrainConfig(epochs=10, batch_size=4, sync_every=5, optimizer=optimizer, progress=False)
    trainer = Trainer(net, data, cfg)
    for _ in range(4):  # 40 steps: every DSA family is drawn
        trainer.run_epoch()
    with pytest.raises(NotImplementedError, match="meta"):  # the fifth epoch reads the loss: the detector works
        trainer.run_epoch()


def test_restore_best_returns_weights_with_the_reported_val_accuracy(digits):
    net = _net(digits)
    result = train(net, digits.train, TrainConfig(epochs=4, eval_every=1, restore_best=True, progress=False),
                   val=digits.val)
    vals = [h["val_acc"] for h in result.history]
    assert result.val_acc == max(vals) and result.best_epoch == vals.index(max(vals)) + 1
    assert evaluate(net, digits.val)[1] == pytest.approx(result.val_acc)


def test_evaluate_matches_a_hand_computation():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    with torch.no_grad():
        net[1].weight.zero_()
        net[1].bias.copy_(torch.tensor([0.0, 1.0, 0.0]))  # always predicts class 1
    split = Split(torch.zeros(10, 1, 2, 2), torch.tensor([1, 1, 1, 0, 0, 2, 2, 2, 2, 1]))
    loss, acc = evaluate(net, split, batch_size=3)
    expected_loss = -torch.log_softmax(torch.tensor([0.0, 1.0, 0.0]), 0)[split.y].mean()
    assert acc == pytest.approx(0.4) and loss == pytest.approx(float(expected_loss), rel=1e-6)


def test_bf16_trains_the_forward_pass_in_bfloat16_and_keeps_weights_and_loss_fp32(digits):
    seen = []
    a, b = _net(digits), _net(digits)
    next(m for m in b.modules() if isinstance(m, nn.Conv2d)).register_forward_hook(
        lambda module, inputs, output: seen.append(output.dtype))
    ra = train(a, digits.train, TrainConfig(epochs=3, progress=False), val=digits.val)
    rb = train(b, digits.train, TrainConfig(epochs=3, precision="bf16", progress=False), val=digits.val)
    assert set(seen[:-1]) == {torch.bfloat16}  # every training step; the last forward is the fp32 validation
    assert seen[-1] == torch.float32 and all(p.dtype == torch.float32 for p in b.parameters())
    # another arithmetic, so another run, but the same training: close losses and accuracies
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert rb.history[-1]["train_loss"] == pytest.approx(ra.history[-1]["train_loss"], rel=0.1)
    assert rb.val_acc == pytest.approx(ra.val_acc, abs=0.05)


@pytest.mark.parametrize("field, value", [("epochs", 0), ("lr", -1.0), ("batch_size", 0), ("dsa", "blur"),
                                          ("precision", "fp16")])
def test_invalid_config_is_rejected(digits, field, value):
    with pytest.raises(ConfigError):
        train(_net(digits), digits.train, TrainConfig(progress=False, **{field: value}))

"""Checks that only a CUDA machine can make; skipped elsewhere (CI has no GPU)."""

import pytest
import torch

from ftd_nas.data import Split
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.train import TrainConfig, Trainer

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.mark.parametrize("optimizer", ["sgd", "gsam"])
def test_epochs_between_reads_make_no_host_synchronisation(digits, optimizer):
    cuda = torch.device("cuda")
    net = build_model(ModelSpec(width=16, depth=2, norm="batchnorm").for_data(
        digits.channels, digits.image_size, digits.num_classes), seed=0, device=cuda)
    data = digits.train.to(cuda)
    trainer = Trainer(net, Split(data.x, data.y), TrainConfig(epochs=6, sync_every=3, optimizer=optimizer,
                                                              progress=False))
    trainer.run_epoch()  # warm-up: cuDNN and allocator set-up may synchronise once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        trainer.run_epoch()  # epoch 2 of 3 before the read: must not wait for the GPU
    finally:
        torch.cuda.set_sync_debug_mode("default")
    trainer.run_epoch()
    assert all("train_loss" in r for r in trainer.history)


def test_cuda_training_follows_the_cpu_run(digits):
    """Same seed, same draws: the GPU run ends close to the CPU run (float differences only)."""
    results = {}
    for name in ("cpu", "cuda"):
        device = torch.device(name)
        net = build_model(ModelSpec(width=16, depth=2).for_data(digits.channels, digits.image_size,
                                                                digits.num_classes), seed=0, device=device)
        data = digits.train.to(device)
        results[name] = Trainer(net, data, TrainConfig(epochs=2, progress=False)).fit().history[-1]["train_loss"]
    assert results["cuda"] == pytest.approx(results["cpu"], rel=1e-2)


def test_fused_runs_end_where_separate_runs_end_on_cuda(digits):
    """The fused path on a GPU, with TF32 off and deterministic kernels (cuDNN's default TF32 convolutions make any
    two orders of summation drift apart over hundreds of steps, which is not what this checks)."""
    from ftd_nas.fused import FusedTrainer
    from ftd_nas.train import train

    cuda = torch.device("cuda")
    spec = ModelSpec(width=16, depth=2, act="sigmoid", pool="maxpool").for_data(
        digits.channels, digits.image_size, digits.num_classes)
    data = Split(digits.train.x[:500], digits.train.y[:500]).to(cuda)
    configs = [TrainConfig(epochs=10, seed=s, progress=False) for s in range(4)]
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.deterministic)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    try:
        alone = [build_model(spec, seed=10 + s, device=cuda) for s in range(4)]
        together = [build_model(spec, seed=10 + s, device=cuda) for s in range(4)]
        for net, cfg in zip(alone, configs):
            train(net, data, cfg)
        FusedTrainer(together, data, configs).fit()
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
         torch.backends.cudnn.deterministic) = saved
    for a, b in zip(alone, together):
        assert max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters())) < 1e-3

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

"""Real-data checks on the shared CIFAR-10 subset (marked slow; CI runs them)."""

import pytest

from ftd_nas.baseline import train_baseline
from ftd_nas.data import DataConfig
from ftd_nas.models import ModelSpec
from ftd_nas.train import TrainConfig

pytestmark = pytest.mark.slow


def test_convnet_width32_reaches_35_percent_in_10_epochs(cifar_subset_path):
    record = train_baseline(DataConfig(f"npz:{cifar_subset_path}"), ModelSpec(width=32),
                            TrainConfig(epochs=10, progress=False), device="cpu")
    assert record["test_acc"] >= 0.35, record["test_acc"]
    assert record["val_acc"] >= 0.35

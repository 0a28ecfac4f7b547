import pytest

from ftd_nas.experts import train_experts
from ftd_nas.experts.flatness import FlatnessConfig, directory_flatness, format_flatness
from tests.conftest import tiny_expert_config


@pytest.fixture(scope="module")
def expert_dir(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("experts")
    train_experts(tiny_expert_config("sgd", epochs=2), out, dataset=digits, device="cpu")
    return out


def test_zero_perturbation_has_zero_sharpness(expert_dir, digits):
    result = directory_flatness(expert_dir, FlatnessConfig(sigma=0.0, directions=2, samples=256), dataset=digits)
    assert [r["epoch"] for r in result["epochs"]] == [0, 1, 2]
    assert all(r["sharpness"] == 0.0 for r in result["epochs"])


def test_larger_perturbations_raise_the_loss_more(expert_dir, digits):
    small = directory_flatness(expert_dir, FlatnessConfig(sigma=0.05, samples=256), dataset=digits)
    large = directory_flatness(expert_dir, FlatnessConfig(sigma=0.5, samples=256), dataset=digits)
    assert large["epochs"][-1]["sharpness"] > small["epochs"][-1]["sharpness"] > 0
    table = format_flatness([small, large])
    assert table.count("\n") == 4 and "sgd" in table

import pytest

from ftd_nas.experts import ExpertConfig, expert_train_config, train_experts
from ftd_nas.experts.flatness import FlatnessConfig, directory_flatness, format_flatness
from ftd_nas.models import ModelSpec


@pytest.fixture(scope="module")
def expert_dir(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("experts")
    cfg = ExpertConfig(model=ModelSpec(width=8, depth=2), num_experts=2,
                       train=expert_train_config("sgd", epochs=2, progress=False))
    train_experts(cfg, out, dataset=digits, device="cpu")
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

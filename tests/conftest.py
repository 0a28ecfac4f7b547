from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CIFAR_SUBSET = REPO.parent / "shared" / "datasets" / "cifar10_subset.npz"


@pytest.fixture(scope="session")
def cifar_subset_path() -> Path:
    if not CIFAR_SUBSET.is_file():
        pytest.skip(f"real-data test needs {CIFAR_SUBSET} (the shared CIFAR-10 subset)")
    return CIFAR_SUBSET


@pytest.fixture(scope="session")
def digits():
    from ftd_nas.data import load_dataset

    return load_dataset("digits")


def _tiny_experts(root, digits, optimizer):
    from ftd_nas.experts import ExpertConfig, expert_train_config, train_experts
    from ftd_nas.models import ModelSpec

    cfg = ExpertConfig(model=ModelSpec(width=8, depth=2), num_experts=2,
                       train=expert_train_config(optimizer, epochs=4, progress=False))
    train_experts(cfg, root, dataset=digits, device="cpu")
    return root


@pytest.fixture(scope="session")
def gsam_experts(tmp_path_factory, digits):
    """Two 4-epoch GSAM experts (width-8 ConvNet-2) on digits."""
    return _tiny_experts(tmp_path_factory.mktemp("gsam"), digits, "gsam")


@pytest.fixture(scope="session")
def sgd_experts(tmp_path_factory, digits):
    """Two 4-epoch SGD experts (width-8 ConvNet-2) on digits."""
    return _tiny_experts(tmp_path_factory.mktemp("sgd"), digits, "sgd")


class Crash(Exception):
    """A simulated crash of a long job."""


@pytest.fixture
def interrupt_after(monkeypatch):
    """interrupt_after(owner, name, n, exc=KeyboardInterrupt): from its (n+1)-th call on, owner.name raises exc, as
    a job killed part-way would stop; returns a function that restores the real one."""
    def arm(owner, name: str, n: int, exc: type[BaseException] = KeyboardInterrupt):
        real, calls = getattr(owner, name), []

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) > n:
                raise exc
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, interrupted)
        return lambda: monkeypatch.setattr(owner, name, real)

    return arm

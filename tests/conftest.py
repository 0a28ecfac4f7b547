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

import pytest
import torch

from ftd_nas.data import ZCAWhitening
from ftd_nas.errors import DatasetError


def _correlated(n=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(12, 12, generator=g)
    return (torch.randn(n, 12, generator=g) @ mix + 3.0).reshape(n, 3, 2, 2)


def test_whitened_training_data_has_identity_covariance():
    x = _correlated()
    zca = ZCAWhitening.fit(x, eps=1e-6)
    w = zca(x).reshape(len(x), -1).double()
    cov = torch.cov(w.T)
    assert torch.allclose(w.mean(0), torch.zeros(12, dtype=torch.float64), atol=1e-3)
    assert torch.allclose(cov, torch.eye(12, dtype=torch.float64), atol=2e-3)


def test_zca_is_symmetric_whitening_closest_to_input():
    # ZCA (unlike PCA whitening) uses a symmetric transform: T == T^T.
    zca = ZCAWhitening.fit(_correlated(), eps=0.1)
    assert torch.allclose(zca.transform, zca.transform.T, atol=1e-5)


def test_invert_undoes_whitening_and_save_load_round_trips(tmp_path):
    x = _correlated(500)
    zca = ZCAWhitening.fit(x, eps=0.1)
    assert torch.allclose(zca.invert(zca(x)), x, atol=1e-3)
    zca.save(tmp_path / "zca.safetensors")
    loaded = ZCAWhitening.load(tmp_path / "zca.safetensors")
    assert loaded.eps == pytest.approx(0.1)
    assert torch.equal(loaded(x), zca(x))


def test_eps_regularises_small_directions():
    x = _correlated(500)
    strong = ZCAWhitening.fit(x, eps=10.0)(x).var()
    weak = ZCAWhitening.fit(x, eps=1e-6)(x).var()
    assert strong < weak


def test_oversized_images_are_refused_with_advice():
    with pytest.raises(DatasetError, match="drop --zca"):
        ZCAWhitening.fit(torch.zeros(3, 3, 128, 128))

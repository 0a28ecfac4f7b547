"""Proxy files: what they hold, and what older files keep."""

import pytest
from safetensors import safe_open

from ftd_nas.coresets import select_coreset
from ftd_nas.data import load_dataset
from ftd_nas.errors import FtdNasError
from ftd_nas.origins import SelectConfig
from ftd_nas.proxy import Proxy


@pytest.fixture(scope="module")
def whitened():
    return load_dataset("digits", zca=True)


def test_a_zca_proxy_holds_no_whitening_matrices_and_the_data_recomputes_them(tmp_path, whitened, digits):
    proxy = select_coreset(SelectConfig(method="random", ipc=2, epochs=1), whitened)
    proxy.save(tmp_path / "p.safetensors")
    with safe_open(str(tmp_path / "p.safetensors"), framework="pt") as f:
        assert sorted(f.keys()) == ["images", "labels", "syn_lr"]  # no 76 MB of ZCA matrices at 32x32x3
    loaded = Proxy.load(tmp_path / "p.safetensors")
    assert loaded.zca is None and loaded.record.data.zca is True
    loaded.check_dataset(load_dataset("digits", zca=True))  # the same whitening, refitted on the real data
    with pytest.raises(FtdNasError, match="(?i)zca"):
        loaded.check_dataset(digits)


def test_an_older_file_with_zca_matrices_keeps_them_and_its_digest(tmp_path, whitened):
    proxy = select_coreset(SelectConfig(method="random", ipc=2, epochs=1), whitened)
    proxy.zca = whitened.zca.to("cpu")  # as proxies written before 2026-12 carried it
    proxy.save(tmp_path / "old.safetensors")
    loaded = Proxy.load(tmp_path / "old.safetensors")
    assert loaded.zca is not None and loaded.digest() == proxy.digest()  # search runs over it still resume
    assert loaded.digest() != select_coreset(SelectConfig(method="random", ipc=2, epochs=1), whitened).digest()


@pytest.mark.parametrize("labels, accepted", [([0.0, 1.0, 2.0, 1.0], True), ([0.0, 1.7, 2.0, 1.0], False),
                                              ([0.0, float("nan"), 2.0, 1.0], False)])
def test_float_class_labels_load_only_when_they_are_whole_numbers(tmp_path, digits, labels, accepted):
    import torch
    from safetensors.torch import save_file

    proxy = select_coreset(SelectConfig(method="random", ipc=2, epochs=1), digits)
    proxy.save(tmp_path / "p.safetensors")
    with safe_open(str(tmp_path / "p.safetensors"), framework="pt") as f:
        tensors, meta = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    n = len(tensors["labels"])
    tensors["labels"] = torch.tensor((labels * n)[:n], dtype=torch.float32)  # a file from elsewhere: float labels
    save_file(tensors, str(tmp_path / "float.safetensors"), metadata=meta)
    if accepted:
        loaded = Proxy.load(tmp_path / "float.safetensors")
        assert loaded.labels.dtype == torch.long and loaded.labels.tolist() == [int(v) for v in (labels * n)[:n]]
    else:
        with pytest.raises(FtdNasError, match="not whole numbers"):
            Proxy.load(tmp_path / "float.safetensors")

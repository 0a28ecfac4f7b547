import pickle
import sys

import numpy as np
import pytest
import torch

from ftd_nas.data import DataConfig, load_dataset
from ftd_nas.errors import ConfigError, DatasetError


def _write_npz(path, n_train=60, n_test=20, classes=3, size=8, channels=3, **overrides):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, size, size, channels), dtype=np.uint8),
        "y_train": np.arange(n_train) % classes,
        "x_test": rng.integers(0, 256, (n_test, size, size, channels), dtype=np.uint8),
        "y_test": np.arange(n_test) % classes,
        "classes": np.array([f"c{i}" for i in range(classes)]),
    }
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def test_digits_is_normalised_16x16_with_a_validation_split(digits):
    assert digits.train.x.shape[1:] == (1, 16, 16)
    assert digits.num_classes == 10
    assert len(digits.train) + len(digits.val) + len(digits.test) == 1797
    assert abs(float(digits.train.x.mean())) < 0.01
    assert abs(float(digits.train.x.std()) - 1) < 0.01
    assert min(digits.val.class_counts(10)) >= 1


def test_npz_round_trip_keeps_classes_labels_and_pixels(tmp_path):
    path = _write_npz(tmp_path / "d.npz")
    ds = load_dataset(f"npz:{path}", val_fraction=0.0)
    raw = np.load(path)
    assert ds.classes == ["c0", "c1", "c2"]
    assert ds.train.x.shape == (60, 3, 8, 8)
    restored = ds.to_display(ds.train.x).permute(0, 2, 3, 1).mul(255).round().byte().numpy()
    assert np.array_equal(restored, raw["x_train"])
    assert torch.equal(ds.train.y, torch.from_numpy(raw["y_train"]))


def test_validation_split_is_seeded_and_disjoint_from_train(tmp_path):
    path = _write_npz(tmp_path / "d.npz", n_train=90)
    a = load_dataset(f"npz:{path}", val_fraction=0.2, split_seed=1)
    b = load_dataset(f"npz:{path}", val_fraction=0.2, split_seed=1)
    c = load_dataset(f"npz:{path}", val_fraction=0.2, split_seed=2)
    assert torch.equal(a.val.x, b.val.x)
    assert not torch.equal(a.val.x, c.val.x)
    assert a.val.class_counts(3) == [6, 6, 6]
    train_rows = {tuple(r) for r in a.train.x.flatten(1).tolist()}
    assert not any(tuple(r) in train_rows for r in a.val.x.flatten(1).tolist())


def test_zca_option_whitens_all_splits_with_the_training_fit(tmp_path):
    path = _write_npz(tmp_path / "d.npz", n_train=300, size=4)
    plain = load_dataset(f"npz:{path}", val_fraction=0.1)
    ds = load_dataset(f"npz:{path}", val_fraction=0.1, zca=True)
    assert ds.fingerprint().zca is True
    assert torch.allclose(ds.test.x, ds.zca(plain.test.x), atol=1e-5)
    assert torch.allclose(ds.to_display(ds.train.x), plain.to_display(plain.train.x), atol=1e-3)


@pytest.mark.parametrize("overrides, message", [
    ({"x_train": None}, "lacks arrays"),
    ({"x_train": np.zeros((60, 8, 8, 3), dtype=np.float32)}, "uint8"),
    ({"x_train": np.zeros((60, 64), dtype=np.uint8)}, "4-d"),
    ({"y_train": np.arange(60) % 3 + 5}, "labels must lie in"),
    ({"y_test": np.arange(19) % 3}, "has 20 images but y_test has 19"),
    ({"x_test": np.zeros((20, 4, 4, 3), dtype=np.uint8)}, "differ in shape"),
    ({"y_train": np.zeros(60, dtype=np.int64)}, "no training images"),
])
def test_malformed_npz_gets_a_clear_error(tmp_path, overrides, message):
    path = _write_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(DatasetError, match=message):
        load_dataset(f"npz:{path}")


def test_missing_file_and_unknown_name_say_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match="x_train, y_train"):
        load_dataset(f"npz:{tmp_path / 'nope.npz'}")
    with pytest.raises(ConfigError, match="known: .*cifar10.*digits"):
        load_dataset("imagenet-22k")


def _write_cifar_batches(root, n=10):
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(range(n))}
        with open(base / name, "wb") as fh:
            pickle.dump(batch, fh)
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [f"k{i}".encode() for i in range(10)]}, fh)
    return base


def test_cifar10_python_batches_are_read_channel_correctly(tmp_path):
    base = _write_cifar_batches(tmp_path)
    ds = load_dataset("cifar10", tmp_path, val_fraction=0.0)
    assert ds.classes[:2] == ["k0", "k1"] and len(ds.train) == 50 and len(ds.test) == 10
    with open(base / "test_batch", "rb") as fh:
        first = pickle.load(fh, encoding="bytes")[b"data"][0].reshape(3, 32, 32)
    restored = ds.to_display(ds.test.x[:1])[0].mul(255).round().byte().numpy()
    assert np.array_equal(restored, first)


def test_missing_cifar_folder_names_the_expected_files(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # as on a machine where it cannot import
    with pytest.raises(DatasetError, match="cifar-10-batches-py.*data_batch_1"):
        load_dataset("cifar10", tmp_path)


def test_torchvision_only_dataset_explains_when_torchvision_is_unusable(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(DatasetError, match="needs torchvision.*npz:PATH"):
        load_dataset("mnist", tmp_path)


def _write_image_tree(root, classes=("cat", "dog"), per_class=5):
    from PIL import Image

    rng = np.random.default_rng(1)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(root / name / f"{i}.png")


def test_folder_dataset_with_train_and_test_subfolders(tmp_path):
    _write_image_tree(tmp_path / "train")
    _write_image_tree(tmp_path / "test", per_class=2)
    ds = load_dataset(f"folder:{tmp_path}", image_size=8, val_fraction=0.0)
    assert ds.classes == ["cat", "dog"]
    assert ds.train.x.shape == (10, 3, 8, 8) and len(ds.test) == 4


def test_single_folder_tree_is_split_into_train_and_test(tmp_path):
    _write_image_tree(tmp_path, per_class=10)
    ds = load_dataset(f"folder:{tmp_path}", image_size=8, val_fraction=0.0)
    assert len(ds.train) == 16 and len(ds.test) == 4


def test_empty_class_folder_is_reported(tmp_path):
    _write_image_tree(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty.*holds no images"):
        load_dataset(f"folder:{tmp_path}")


def test_data_config_loads_the_same_as_keywords():
    cfg = DataConfig("digits", val_fraction=0.2, split_seed=5)
    assert torch.equal(cfg.load().val.y, load_dataset("digits", val_fraction=0.2, split_seed=5).val.y)


@pytest.mark.slow
def test_cifar_subset_matches_its_readme(cifar_subset_path):
    ds = load_dataset(f"npz:{cifar_subset_path}", val_fraction=0.0)
    assert ds.train.y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert ds.test.y[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert [round(m * 255, 1) for m in ds.mean] == [125.9, 123.6, 114.3]
    assert ds.classes[0] == "airplane" and len(ds.train) == 5085

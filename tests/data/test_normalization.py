"""Normalisation constants: declared by a dataset, chosen by name, recorded in the fingerprint and reloaded."""

import dataclasses

import numpy as np
import pytest

from ftd_nas.cli import build_parser
from ftd_nas.data import DataConfig, load_dataset
from ftd_nas.data.fingerprint import DataFingerprint, DataMismatchError
from ftd_nas.data.for_file import real_data_for
from ftd_nas.data.normalization import STANDARD
from ftd_nas.errors import ConfigError, DatasetError
from ftd_nas.search.runner import SearchConfig
from tests.data.test_loader import _write_npz


def _pixels(path):
    x = np.load(path)["x_train"].reshape(-1, 3) / 255.0
    return x.mean(0), x.std(0)


def test_auto_uses_the_files_own_statistics_when_it_declares_none(tmp_path):
    path = _write_npz(tmp_path / "d.npz")
    ds = load_dataset(f"npz:{path}", val_fraction=0.0)
    mean, std = _pixels(path)
    assert np.allclose(ds.mean, mean, atol=1e-6) and np.allclose(ds.std, std, atol=1e-6)
    assert ds.fingerprint().normalization == "file"
    # the training split normalised by its own statistics: mean 0, std 1 per channel
    x = ds.train.x.transpose(0, 1).reshape(3, -1)
    assert np.allclose(x.mean(1).numpy(), 0, atol=1e-4) and np.allclose(x.std(1).numpy(), 1, atol=1e-3)


def test_a_standard_set_chosen_by_name_is_applied_and_recorded(tmp_path):
    path = _write_npz(tmp_path / "d.npz")
    own = load_dataset(f"npz:{path}", val_fraction=0.0)
    ds = load_dataset(f"npz:{path}", val_fraction=0.0, normalize="cifar10")
    c10 = STANDARD["cifar10"]
    assert ds.mean == c10.mean and ds.std == c10.std and ds.fingerprint().normalization == "cifar10"
    # the same pixels, other constants: x_own * std_own + mean_own == x_c10 * std_c10 + mean_c10
    restored_own = own.to_display(own.train.x)
    restored_c10 = ds.to_display(ds.train.x)
    assert np.allclose(restored_own.numpy(), restored_c10.numpy(), atol=1e-5)
    assert not np.allclose(own.train.x.numpy(), ds.train.x.numpy())


def test_an_npz_may_declare_its_constants_and_file_ignores_them(tmp_path):
    path = _write_npz(tmp_path / "d.npz", mean=np.array([0.5, 0.4, 0.3]), std=np.array([0.2, 0.25, 0.3]))
    ds = load_dataset(f"npz:{path}", val_fraction=0.0)
    assert ds.mean == (0.5, 0.4, 0.3) and ds.std == (0.2, 0.25, 0.3)
    assert ds.fingerprint().normalization == "declared"
    own = load_dataset(f"npz:{path}", val_fraction=0.0, normalize="file")
    assert own.fingerprint().normalization == "file" and np.allclose(own.mean, _pixels(path)[0], atol=1e-6)


@pytest.mark.parametrize("overrides, message", [
    ({"mean": np.array([0.5, 0.4, 0.3])}, "only one of"),
    ({"mean": np.array([0.5, np.nan, 0.3]), "std": np.array([0.2, 0.2, 0.2])}, "must lie in"),
    ({"mean": np.array([0.5, 0.4, 0.3]), "std": np.array([0.2, 0.0, 0.2])}, "positive"),
    ({"mean": np.array([127.0, 120, 110]), "std": np.array([60.0, 60, 60])}, "pixel units"),
    ({"mean": np.array([0.5, 0.4]), "std": np.array([0.2, 0.2])}, "one value per channel"),
])
def test_bad_declared_constants_are_refused_clearly(tmp_path, overrides, message):
    path = _write_npz(tmp_path / "d.npz", **overrides)
    with pytest.raises(DatasetError, match=message):
        load_dataset(f"npz:{path}")


def test_a_standard_set_for_other_channels_is_refused(tmp_path):
    path = _write_npz(tmp_path / "g.npz", channels=1)
    with pytest.raises(ConfigError, match="3 channel"):
        load_dataset(f"npz:{path}", normalize="cifar10")
    assert load_dataset(f"npz:{path}", normalize="mnist").mean == STANDARD["mnist"].mean


def test_unknown_choices_are_refused_by_config_and_cli():
    with pytest.raises(ConfigError, match="--normalize 'cifar11'"):
        DataConfig("digits", normalize="cifar11")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["experts", "--dataset", "digits", "--normalize", "cifar11", "--out", "x"])


def test_a_proxy_file_fixes_its_own_normalisation(tmp_path):
    with pytest.raises(ConfigError, match="drop --normalize"):
        SearchConfig(proxy=str(tmp_path / "p.safetensors"), normalize="cifar10")
    assert SearchConfig(proxy="random:2", normalize="cifar10").normalize == "cifar10"


def test_a_file_made_with_standard_constants_reloads_them_and_refuses_others(tmp_path):
    path = _write_npz(tmp_path / "d.npz")
    made = load_dataset(f"npz:{path}", normalize="cifar10").fingerprint()
    assert made.data_config(f"npz:{path}").normalize == "cifar10"
    again = real_data_for(made, f"npz:{path}")
    assert again.mean == STANDARD["cifar10"].mean
    own = load_dataset(f"npz:{path}").fingerprint()
    with pytest.raises(DataMismatchError, match="mean"):
        made.check(own)
    assert "--normalize cifar10" in made.suggestion()


def test_an_older_fingerprint_without_the_choice_still_matches(tmp_path):
    path = _write_npz(tmp_path / "d.npz")
    current = load_dataset(f"npz:{path}").fingerprint()
    older = DataFingerprint.from_dict({k: v for k, v in current.to_dict().items() if k != "normalization"})
    assert older.normalization is None and older.mismatches(current) == []
    assert older.data_config(f"npz:{path}").normalize == "auto"
    assert dataclasses.replace(older, normalization="cifar10").mismatches(current)

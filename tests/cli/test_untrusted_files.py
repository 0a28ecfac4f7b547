"""Files received from elsewhere cannot make ftd-nas run code or load data from a location they name.

The poison: proxy and expert files (format v1, whose metadata carried the location of their data) whose
data location points to a folder of CIFAR-style python batches holding a pickle that creates a marker file
when unpickled. Every command that reads such a file either uses the data named on its command line or
stops with a clear error; the marker never appears.
"""

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v1"
SLOW = pytest.mark.slow  # each command is a fresh process (5-10 s); one per test stays in the fast loop


class _MakesMarker:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):  # what a malicious batch file does: call something while being unpickled
        return (open, (self.path, "w"))


def _poisoned_cifar_root(root: Path, marker: Path) -> Path:
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        payload = {b"data": _MakesMarker(marker), b"labels": [0], b"label_names": [b"x"]}
        (base / name).write_bytes(pickle.dumps(payload))
    return root


def _rewrite_meta(path: Path, change) -> None:
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["ftd_nas"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    change(meta)
    save_file(tensors, str(path), metadata={"ftd_nas": json.dumps(meta)})


@pytest.fixture
def poison(tmp_path):
    """A poisoned v1 proxy and v1 experts folder, the evil data root, and the marker that must never appear."""
    marker = tmp_path / "PWNED"
    evil = _poisoned_cifar_root(tmp_path / "evil", marker)

    def point_to_evil(meta):
        meta["data_config"] = {"name": "cifar10", "data_root": str(evil), "val_fraction": 0.1, "split_seed": 0,
                               "zca": False, "zca_eps": 0.1, "image_size": None}

    proxy = tmp_path / "proxy.safetensors"
    shutil.copy(FIXTURES / "proxy.safetensors", proxy)
    _rewrite_meta(proxy, point_to_evil)
    experts = tmp_path / "experts"
    shutil.copytree(FIXTURES / "experts", experts)
    for f in experts.glob("expert_*.safetensors"):
        _rewrite_meta(f, point_to_evil)
    space = tmp_path / "space.yaml"
    shutil.copy(FIXTURES / "two.yaml", space)
    return {"proxy": proxy, "experts": experts, "evil": evil, "marker": marker, "space": space, "tmp": tmp_path}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ftd_nas", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def _commands(p):
    t = p["tmp"]
    return {
        "evaluate": ["evaluate", p["proxy"], "--runs", "1", "--epochs", "1", "--device", "cpu", "--no-progress"],
        "search": ["search", "--space", p["space"], "--proxy", p["proxy"], "--epochs", "1", "--out", t / "run",
                   "--device", "cpu", "--no-progress"],
        "distill": ["distill", "--experts", p["experts"], "--out", t / "new.safetensors", "--ipc", "1",
                    "--syn-steps", "2", "--max-start-epoch", "1", "--iterations", "1", "--device", "cpu",
                    "--no-progress"],
        "flatness": ["experts", "--flatness", p["experts"], "--samples", "64", "--directions", "1", "--device", "cpu"],
    }


@pytest.mark.parametrize("command", ["evaluate", *(pytest.param(c, marks=SLOW) for c in ("search", "distill",
                                                                                      "flatness"))])
def test_poisoned_file_without_dataset_stops_naming_the_option(poison, command):
    out = _cli(*_commands(poison)[command])
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "--dataset digits" in out.stderr and "never loads data from a location stored in a file" in out.stderr
    assert not poison["marker"].exists()


@pytest.mark.parametrize("command", [*(pytest.param(c, marks=SLOW) for c in ("evaluate", "search", "distill")),
                                     "flatness"])
def test_poisoned_file_uses_the_data_named_on_the_command_line(poison, command):
    out = _cli(*_commands(poison)[command], "--dataset", "digits")
    assert out.returncode == 0, out.stderr[-2000:]
    assert not poison["marker"].exists()


@pytest.mark.parametrize("command", ["evaluate", "distill"])
def test_pointing_the_command_line_at_the_poisoned_folder_is_refused_without_running_it(poison, command):
    out = _cli(*_commands(poison)[command], "--dataset", "cifar10", "--data-root", poison["evil"])
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "refusing io.open" in out.stderr and "not a CIFAR python batch" in out.stderr
    assert not poison["marker"].exists()


def test_a_current_format_file_cannot_carry_a_data_location(tmp_path):
    from ftd_nas.proxy import Proxy, ProxyError

    path = tmp_path / "p.safetensors"
    proxy = Proxy.load(FIXTURES / "proxy.safetensors")
    proxy.save(path)  # upgraded in memory, written in the current format: no location in it
    with safe_open(str(path), framework="pt") as f:
        assert "data_root" not in f.metadata()["ftd_nas"] and "data_config" not in f.metadata()["ftd_nas"]
    _rewrite_meta(path, lambda meta: meta.update(data_config={"name": "cifar10", "data_root": "/evil"}))
    with pytest.raises(ProxyError, match=r"unknown fields \['data_config'\]"):
        Proxy.load(path)


def test_proxy_with_tensors_that_contradict_its_record_is_refused(tmp_path):
    from ftd_nas.proxy import Proxy, ProxyError

    path = tmp_path / "p.safetensors"
    shutil.copy(FIXTURES / "proxy.safetensors", path)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors["labels"] = torch.full_like(tensors["labels"], 99)  # no class 99 among 10
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ProxyError, match="labels outside 0..9"):
        Proxy.load(path)
    tensors["images"] = torch.zeros(3, 3, 8, 8)
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ProxyError, match=r"images have shape \(3, 3, 8, 8\), expected \[N, 1, 16, 16\]"):
        Proxy.load(path)


def test_cifar_batch_with_numpy_arrays_reads_and_one_with_another_object_is_refused(tmp_path):
    from ftd_nas.data.readers import _unpickle
    from ftd_nas.errors import DatasetError

    good = tmp_path / "good"
    batch = {b"data": np.arange(6, dtype=np.uint8).reshape(2, 3), b"labels": [0, 1], b"filenames": [b"a", b"b"]}
    good.write_bytes(pickle.dumps(batch, protocol=2))
    assert np.array_equal(_unpickle(good)[b"data"], batch[b"data"])
    marker = tmp_path / "marker"
    bad = tmp_path / "bad"
    bad.write_bytes(pickle.dumps({b"data": _MakesMarker(marker)}))
    with pytest.raises(DatasetError, match="refusing io.open"):
        _unpickle(bad)
    assert not marker.exists()

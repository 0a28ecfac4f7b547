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


# ----------------------------------------------------------------------------------------------------------------
# A received run folder: no code from its files runs, and no path or link in it is followed.

@pytest.fixture(scope="module")
def finished(tmp_path_factory, digits):
    """A finished proxy search (two candidates) and its real-data truth, built once; tests work on copies."""
    from ftd_nas.search import run_search
    from tests.conftest import search_config

    root = tmp_path_factory.mktemp("finished")
    space = root / "two.yaml"
    shutil.copy(FIXTURES / "two.yaml", space)
    for name, proxy in (("run", "random:2"), ("truth", "real")):
        run_search(search_config(space, root / name, proxy=proxy, epochs=1), dataset=digits)
    return root


@pytest.fixture
def received(finished, tmp_path, monkeypatch):
    """tmp_path (the working directory) holding `original`, a finished run, `truth`, and `received`, a copy of the
    run as it came from elsewhere, to be doctored by each test."""
    for name, target in (("run", "original"), ("truth", "truth"), ("run", "received")):
        shutil.copytree(finished / name, tmp_path / target)
    shutil.copy(finished / "two.yaml", tmp_path / "two.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _main(capsys, *args):
    from ftd_nas.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


def _set_storage(run: Path, location: str) -> None:
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "storage": location}))


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


READERS = {"status": ["status", "received"], "report": ["report", "received", "--truth", "truth", "--out", "rep",
                                                          "--ks", "2", "--bootstrap", "10", "--allow-partial"],
           "verify": ["verify", "received", "--dataset", "digits", "--top", "1", "--sample", "0", "--epochs", "1",
                      "--dsa", "none", "--out", "v", "--device", "cpu", "--no-progress"]}


def test_a_factory_named_in_a_received_run_is_imported_by_no_command(received, monkeypatch, capsys):
    from tests.conftest import malicious_factory, name_factory

    monkeypatch.syspath_prepend(str(received))  # importable, as a module beside the folder would be
    name, marker = malicious_factory(received)
    name_factory(received / "received", name)
    outcomes = {command: _main(capsys, *args) for command, args in READERS.items()}
    assert not marker.exists() and name.split(":")[0] not in sys.modules, outcomes
    assert outcomes["status"][0] == 0 and outcomes["report"][0] == 0  # reading and judging a run need no model
    code, text = outcomes["verify"]  # training its candidates would: refused, saying how to trust it
    assert code == 2 and f"names the model factory {name!r}" in text and "pass --trust-factory" in text


@pytest.mark.parametrize("command", ["status", "report", "verify"])
@pytest.mark.parametrize("where", ["absolute", "relative to the working directory"])
def test_a_sqlite_url_in_run_json_is_not_followed(received, capsys, command, where):
    target = received / "original" / "study.db"
    _set_storage(received / "received", f"sqlite:///{target}" if where == "absolute" else
                 "sqlite:///original/study.db")
    before = _digest(target)
    code, text = _main(capsys, *READERS[command])
    assert code == 3 and "does not open a file that a run.json points to" in text and "--storage URL" in text, text
    assert _digest(target) == before


@pytest.mark.parametrize("command", ["status", "report", "verify", "search"])
def test_a_symlinked_study_db_is_refused_by_readers_and_workers(received, capsys, command):
    target = received / "original" / "study.db"
    (received / "received" / "study.db").unlink()
    (received / "received" / "study.db").symlink_to(target)
    before = _digest(target)
    args = READERS.get(command) or ["search", "--space", "two.yaml", "--proxy", "random:2", "--dataset", "digits",
                                    "--epochs", "2", "--dsa", "none", "--out", "received", "--device", "cpu",
                                    "--no-progress"]
    code, text = _main(capsys, *args)
    assert code == 3 and "is a symbolic link" in text and "original/study.db" in text, text
    assert _digest(target) == before


@pytest.mark.parametrize("command", ["status", "search", "slurm"])
def test_a_symlinked_study_journal_is_refused(received, capsys, command):
    outside = received / "outside.journal"  # absent: following the link would create it
    (received / "received" / "study.journal").symlink_to(outside)
    if command != "slurm":
        _set_storage(received / "received", "journal:study.journal")
    search = ["search", "--space", "two.yaml", "--proxy", "random:2", "--dataset", "digits", "--epochs", "2",
              "--dsa", "none", "--out", "received", "--device", "cpu", "--no-progress"]
    args = {"status": READERS["status"], "search": search, "slurm": [*search, "--slurm-script", "2"]}[command]
    code, text = _main(capsys, *args)
    assert code == 3 and "study.journal" in text and "is a symbolic link" in text, text
    assert not outside.exists()


def test_a_symlinked_slurm_folder_is_refused(received, capsys):
    outside = received / "outside"
    outside.mkdir()
    (received / "received" / "slurm").symlink_to(outside)
    code, text = _main(capsys, "search", "--space", "two.yaml", "--proxy", "random:2", "--dataset", "digits",
                       "--out", "received", "--slurm-script", "2")
    assert code == 3 and "slurm" in text and "is a symbolic link" in text, text
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("list_only", [False, True])
def test_a_symlinked_evaluations_folder_beside_a_proxy_is_refused(tmp_path, capsys, list_only):
    proxy = tmp_path / "proxy.safetensors"
    shutil.copy(FIXTURES / "proxy.safetensors", proxy)
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "proxy.safetensors.evals").symlink_to(outside)
    extra = ["--list"] if list_only else ["--runs", "1", "--epochs", "1", "--device", "cpu", "--no-progress"]
    code, text = _main(capsys, "evaluate", proxy, "--dataset", "digits", *extra)
    assert code == 3 and "proxy.safetensors.evals" in text and "is a symbolic link" in text, text
    assert list(outside.iterdir()) == []


def test_a_symlinked_evaluation_file_is_refused(tmp_path, capsys):
    proxy = tmp_path / "proxy.safetensors"
    shutil.copy(FIXTURES / "proxy.safetensors", proxy)
    (tmp_path / "proxy.safetensors.evals").mkdir()
    (tmp_path / "secret.json").write_text("{}")
    (tmp_path / "proxy.safetensors.evals" / "x.json").symlink_to(tmp_path / "secret.json")
    code, text = _main(capsys, "evaluate", proxy, "--dataset", "digits", "--list")
    assert code == 3 and "x.json" in text and "is a symbolic link" in text, text


def test_a_symlinked_report_folder_in_a_received_truth_is_refused(received, capsys):
    outside = received / "outside"
    outside.mkdir()
    (received / "truth" / "report").symlink_to(outside)  # the default --out of report is TRUTH/report
    code, text = _main(capsys, *READERS["report"][:4], "--ks", "2", "--bootstrap", "10", "--allow-partial")
    assert code == 3 and "truth/report" in text and "is a symbolic link" in text, text
    assert list(outside.iterdir()) == []


def test_a_figure_at_a_symbolic_link_replaces_the_link_and_leaves_its_target(tmp_path):
    from ftd_nas.figures.save import new_figure, save_figure

    target = tmp_path / "precious.png"
    target.write_bytes(b"mine")
    (tmp_path / "fig.png").symlink_to(target)
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    assert save_figure(fig, tmp_path / "fig") == [str(tmp_path / "fig.png"), str(tmp_path / "fig.pdf")]
    assert target.read_bytes() == b"mine" and not (tmp_path / "fig.png").is_symlink()
    assert (tmp_path / "fig.png").read_bytes().startswith(b"\x89PNG") and (tmp_path / "fig.pdf").stat().st_size


@pytest.mark.parametrize("link", ["new.safetensors.run", "new.safetensors.run/log.jsonl",
                                  "new.safetensors.run/checkpoint.pt"])
def test_a_distillation_work_folder_with_a_link_is_refused(poison, capsys, link):
    t, outside = poison["tmp"], poison["tmp"] / "outside"
    outside.mkdir()
    (t / link).parent.mkdir(parents=True, exist_ok=True)
    (t / link).symlink_to(outside if link.endswith(".run") else outside / "file")
    code, text = _main(capsys, *_commands(poison)["distill"], "--dataset", "digits")
    assert code == 3 and "is a symbolic link" in text and link.split("/")[-1] in text, text
    assert list(outside.iterdir()) == [] and not (t / "new.safetensors").exists()


def test_an_unfinished_expert_that_is_a_link_is_refused(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "experts").mkdir()
    (tmp_path / "experts" / "expert_0000.partial").symlink_to(outside)
    code, text = _main(capsys, "experts", "--num-experts", "1", "--epochs", "1", "--out", tmp_path / "experts",
                       "--dataset", "digits", "--device", "cpu", "--no-progress")
    assert code == 3 and "expert_0000.partial" in text and "is a symbolic link" in text, text
    assert list(outside.iterdir()) == []

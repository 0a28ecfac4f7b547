import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ftd_nas.errors import ConfigError
from ftd_nas.experts import (ExpertDirectory, ExpertTrainer, TrajectoryFile, expert_train_config, parse_shard,
                             train_experts)
from ftd_nas.models import ModelSpec, ParamLayout, build_model
from ftd_nas.train import Trainer
from tests.conftest import tiny_expert_config

SMALL = ModelSpec(width=8, depth=2)


def _config(optimizer="gsam", epochs=3, num_experts=2, **kw):
    return tiny_expert_config(optimizer, epochs=epochs, num_experts=num_experts, alpha=0.5, **kw)


def test_trajectory_holds_init_and_every_epoch_of_the_real_run(tmp_path, digits):
    train_experts(_config(num_experts=1), tmp_path, dataset=digits, device="cpu")
    traj = TrajectoryFile(tmp_path / "expert_0000.safetensors")
    spec = SMALL.for_data(digits.channels, digits.image_size, digits.num_classes)
    model = build_model(spec, seed=0)
    layout = ParamLayout(model)
    assert torch.equal(traj.snapshot(0), layout.flatten(model))
    trainer = Trainer(model, digits.train, expert_train_config("gsam", epochs=3, progress=False, alpha=0.5))
    for epoch in range(1, 4):
        trainer.run_epoch()
        assert torch.equal(traj.snapshot(epoch), layout.flatten(model)), epoch  # every epoch distinct, no aliasing
    assert not torch.equal(traj.snapshot(1), traj.snapshot(3))


def test_metadata_says_everything_needed_to_use_the_file(tmp_path, digits):
    train_experts(_config(num_experts=1), tmp_path, dataset=digits, device="cpu")
    record = TrajectoryFile(tmp_path / "expert_0000.safetensors").record
    assert record.model.width == 8 and record.data.name == "digits" and record.data.train_sha256 == digits.train_sha256
    train = record.train
    assert (train.optimizer, train.rho, train.alpha, train.lr, train.epochs) == ("gsam", 0.01, 0.5, 0.01, 3)
    assert record.seed == 0 and record.environment["torch"] == torch.__version__
    assert 0 <= record.test_acc <= 1 and len(record.history) == 3


def test_rerun_skips_finished_experts(tmp_path, digits):
    first = train_experts(_config(), tmp_path, dataset=digits, device="cpu")
    mtime = os.path.getmtime(first[0].path)
    second = train_experts(_config(), tmp_path, dataset=digits, device="cpu")
    assert [o.status for o in second] == ["done", "done"]
    assert os.path.getmtime(first[0].path) == mtime


class Interrupt(Exception):
    pass


def test_interrupted_expert_resumes_to_the_same_trajectory(tmp_path, digits):
    reference = tmp_path / "ref"
    train_experts(_config(num_experts=1, epochs=4), reference, dataset=digits, device="cpu")

    def stop_after_two(index, epoch):
        if epoch == 2:
            raise Interrupt

    resumed = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        train_experts(_config(num_experts=1, epochs=4), resumed, dataset=digits, device="cpu",
                      epoch_hook=stop_after_two)
    assert (resumed / "expert_0000.partial" / "epoch_0002.safetensors").exists()
    outcome = train_experts(_config(num_experts=1, epochs=4), resumed, dataset=digits, device="cpu")
    assert outcome[0].status == "resumed"
    a = TrajectoryFile(reference / "expert_0000.safetensors")
    b = TrajectoryFile(resumed / "expert_0000.safetensors")
    for epoch in range(5):
        assert torch.equal(a.snapshot(epoch), b.snapshot(epoch)), epoch
    assert not (resumed / "expert_0000.partial").exists()


def _cli(out, *extra, epochs=3, experts=2):
    return [sys.executable, "-m", "ftd_nas", "experts", "--width", "8", "--depth", "2", "--epochs", str(epochs),
            "--num-experts", str(experts), "--optimizer", "gsam", "--out", str(out), "--device", "cpu",
            "--no-progress", *extra]


@pytest.mark.slow
def test_killed_process_resumes_to_the_same_trajectory(tmp_path):
    subprocess.run(_cli(tmp_path / "ref", epochs=40, experts=1), check=True, capture_output=True)
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(out, epochs=40, experts=1), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = out / "expert_0000.partial"
    deadline = time.time() + 120
    while time.time() < deadline and not (partial / "epoch_0005.safetensors").exists():
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "expert_0000.safetensors").exists() and partial.exists()
    subprocess.run(_cli(out, epochs=40, experts=1), check=True, capture_output=True)
    a = TrajectoryFile(tmp_path / "ref" / "expert_0000.safetensors")
    b = TrajectoryFile(out / "expert_0000.safetensors")
    assert all(torch.equal(a.snapshot(e), b.snapshot(e)) for e in range(41))


@pytest.mark.slow
def test_concurrent_processes_train_each_expert_once(tmp_path):
    out = tmp_path / "shared"
    procs = [subprocess.Popen(_cli(out, "--json", str(tmp_path / f"w{i}.json"), experts=6),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(2)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    trained = [[o["index"] for o in json.loads((tmp_path / f"w{i}.json").read_text())["experts"]
                if o["status"] in ("trained", "resumed")] for i in range(2)]
    assert sorted(trained[0] + trained[1]) == list(range(6))  # each exactly once across both workers
    assert len(ExpertDirectory(out)) == 6


def test_shard_trains_only_its_slice(tmp_path, digits):
    outcomes = ExpertTrainer(_config(num_experts=5, epochs=1), tmp_path, dataset=digits, device="cpu",
                             shard=(1, 2)).run()
    assert [o.index for o in outcomes] == [1, 3]
    assert parse_shard("2/4") == (2, 4)
    with pytest.raises(ConfigError):
        parse_shard("4/4")


def test_different_settings_in_the_same_directory_are_refused(tmp_path, digits):
    train_experts(_config(num_experts=1, epochs=1), tmp_path, dataset=digits, device="cpu")
    with pytest.raises(ConfigError, match="train.optimizer: 'gsam' vs 'sgd'"):
        train_experts(_config("sgd", num_experts=1, epochs=1), tmp_path, dataset=digits, device="cpu")


def test_a_finished_experts_work_folder_is_left_to_its_live_owner(tmp_path, digits):
    # the owner writes the expert, then removes its work folder; another process that saw the expert meanwhile
    # removed the folder too, and the owner's removal crashed on the files already gone
    cfg = _config(num_experts=1, epochs=1)
    train_experts(cfg, tmp_path, dataset=digits, device="cpu")
    leftover, claim = tmp_path / "expert_0000.partial", tmp_path / "expert_0000.claim"
    leftover.mkdir()
    (leftover / "epoch_0001.safetensors").write_bytes(b"")
    claim.write_text(json.dumps({"pid": 1, "host": "elsewhere", "time": time.time()}))  # its owner is removing it
    assert [o.status for o in train_experts(cfg, tmp_path, dataset=digits, device="cpu")] == ["done"]
    assert leftover.exists()
    claim.write_text(json.dumps({"pid": 2**22 + 12345, "host": os.uname().nodename, "time": 0}))  # owner killed
    train_experts(cfg, tmp_path, dataset=digits, device="cpu")
    assert not leftover.exists()


def test_torchrun_environment_picks_the_shard(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert parse_shard(None) == (1, 3)
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert parse_shard(None) == (0, 1)


class Boom(Exception):
    pass


def test_a_failed_first_run_does_not_lock_the_folder_but_a_finished_expert_does(tmp_path, digits):
    def crash(index, epoch):
        raise Boom

    with pytest.raises(Boom):  # settings A: the first expert fails after one epoch, nothing finished
        train_experts(_config("gsam", num_experts=1, epochs=2), tmp_path, dataset=digits, device="cpu",
                      epoch_hook=crash)
    assert not (tmp_path / "experts.json").exists()
    outcome = train_experts(_config("sgd", num_experts=1, epochs=2), tmp_path, dataset=digits, device="cpu")
    assert outcome[0].status == "trained"  # settings B accepted; A's unfinished partial was discarded
    assert json.loads((tmp_path / "experts.json").read_text())["train"]["optimizer"] == "sgd"
    assert ExpertDirectory(tmp_path).record.train.optimizer == "sgd"
    with pytest.raises(ConfigError, match=r"other settings \(.*train.epochs: 2 vs 3.*train.optimizer: 'sgd' vs "
                                          r"'gsam'"):
        train_experts(_config("gsam", num_experts=2, epochs=3), tmp_path, dataset=digits, device="cpu")


@pytest.mark.slow
def test_processes_with_different_settings_never_mix_one_folder(tmp_path):
    out = tmp_path / "shared"
    procs = [subprocess.Popen(_cli(out, "--optimizer", optimizer, experts=4), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for optimizer in ("gsam", "sgd")]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results  # one run fixed the settings, the other was refused
    assert any("other settings" in err and "train.optimizer" in err for _, err in results)
    winner = ExpertDirectory(out).record.train.optimizer  # opens: every finished expert shares one set of settings
    # an expert the refused process had claimed is left to a re-run, which discards that process's partial work
    subprocess.run(_cli(out, "--optimizer", winner, experts=4), check=True, capture_output=True)
    assert len(ExpertDirectory(out)) == 4 and not list(out.glob("*.partial"))


def test_a_copied_experts_folder_works_without_the_original(tmp_path, digits):
    import shutil

    from ftd_nas.distill import distill, resolve_config

    train_experts(_config("gsam", num_experts=2, epochs=3), tmp_path / "original", dataset=digits, device="cpu")
    shutil.copytree(tmp_path / "original", tmp_path / "copy")
    shutil.rmtree(tmp_path / "original")
    (tmp_path / "copy" / "expert_0001.safetensors").unlink()  # the copy's own content is what counts
    proxy = distill(resolve_config("digits", 1, "ftd", syn_steps=2, max_start_epoch=1, iterations=1),
                    tmp_path / "copy", tmp_path / "p.safetensors", dataset=digits, progress=False)
    settings = ExpertDirectory(tmp_path / "copy").settings
    assert proxy.record.experts == {"folder": "copy", "count": 1, "settings": settings}

import json

import pytest
import torch

from ftd_nas.data.fingerprint import DataMismatchError
from ftd_nas.distill import Distiller, distill, resolve_config
from ftd_nas.errors import ConfigError, NonFiniteError
from ftd_nas.experts import TrajectoryError
from ftd_nas.proxy import Proxy, ProxyError
from tests.conftest import Crash


def _cfg(method="ftd", **kw):
    base = dict(syn_steps=3, max_start_epoch=2, iterations=6, checkpoint_every=2, image_every=3)
    base.update(kw)
    return resolve_config("digits", 2, method, **base)


def test_ftd_proxy_holds_everything_downstream_needs(gsam_experts, digits, tmp_path):
    proxy = distill(_cfg(), gsam_experts, tmp_path / "p.safetensors", dataset=digits, progress=False)
    loaded = Proxy.load(tmp_path / "p.safetensors")
    assert loaded.images.shape == (20, 1, 16, 16) and loaded.labels.tolist() == [c for c in range(10) for _ in "ab"]
    assert torch.equal(loaded.images, proxy.images) and loaded.raw_images is not None
    assert not torch.equal(loaded.images, loaded.raw_images)  # the proxy is the EMA, not the last iterate
    record = loaded.record
    assert loaded.syn_lr > 0 and record.iterations == 6 and record.method == "ftd"
    assert loaded.classes == digits.classes and record.distill.syn_steps == 3
    assert record.model.width == 8 and record.experts["count"] == 2
    assert record.data.train_sha256 == digits.train_sha256 and loaded.digest() == proxy.digest()
    loaded.check_dataset(digits)
    work = tmp_path / "p.safetensors.run"
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert [r["it"] for r in log] == list(range(1, 7)) and all(r["syn_lr"] > 0 for r in log)
    assert sorted(p.name for p in (work / "grids").iterdir()) == ["iter_000000.png", "iter_000003.png",
                                                                   "iter_000006.png"]


def test_ema_follows_its_definition(gsam_experts, digits, tmp_path):
    d = Distiller(_cfg(ema_decay=0.5), gsam_experts, tmp_path / "p", dataset=digits)
    ema = d.images.detach().clone()
    for _ in range(3):
        d.step()
        ema = 0.5 * ema + 0.5 * d.images.detach()
    assert torch.allclose(d.ema, ema)


def test_mtt_has_no_ema_and_methods_refuse_the_wrong_experts(gsam_experts, sgd_experts, digits, tmp_path):
    proxy = distill(_cfg("mtt", iterations=2), sgd_experts, tmp_path / "m", dataset=digits, progress=False)
    assert proxy.raw_images is None and proxy.record.method == "mtt"
    with pytest.raises(TrajectoryError, match="needs gsam experts.*--optimizer gsam"):
        Distiller(_cfg("ftd"), sgd_experts, tmp_path / "x", dataset=digits)
    with pytest.raises(TrajectoryError, match="needs sgd experts"):
        Distiller(_cfg("mtt"), gsam_experts, tmp_path / "x", dataset=digits)


def test_start_epochs_must_fit_in_the_experts(gsam_experts, digits, tmp_path):
    with pytest.raises(ConfigError, match="exceeds the 4 epochs"):
        Distiller(_cfg(max_start_epoch=3, expert_epochs=2), gsam_experts, tmp_path / "x", dataset=digits)


@pytest.mark.parametrize("unroll", ["full", "checkpoint"])
def test_resumed_run_equals_uninterrupted_run(gsam_experts, digits, tmp_path, interrupt_after, unroll):
    reference = distill(_cfg(unroll=unroll), gsam_experts, tmp_path / "ref", dataset=digits, progress=False)
    restore = interrupt_after(Distiller, "step", 3, Crash)  # killed during its fourth iteration
    with pytest.raises(Crash):
        distill(_cfg(unroll=unroll), gsam_experts, tmp_path / "res", dataset=digits, progress=False)
    restore()
    assert not (tmp_path / "res").exists()
    resumed = distill(_cfg(unroll=unroll), gsam_experts, tmp_path / "res", dataset=digits, progress=False)
    assert torch.equal(resumed.images, reference.images) and resumed.syn_lr == reference.syn_lr
    log = (tmp_path / "res.run" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["it"] for line in log] == list(range(1, 7))


def test_resume_refuses_other_settings(gsam_experts, digits, tmp_path):
    distill(_cfg(iterations=2), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    with pytest.raises(ConfigError, match="syn_steps: 3 vs 4"):
        distill(_cfg(iterations=4, syn_steps=4), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    longer = distill(_cfg(iterations=4), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    assert longer.record.iterations == 4  # more iterations continue the same run


@pytest.mark.parametrize("overrides, hint", [({"lr_img": 1e38}, "--lr-img"), ({"lr_lr": 1e3}, "--lr-lr")])
def test_divergence_rolls_back_and_never_writes_a_nan_proxy(gsam_experts, digits, tmp_path, overrides, hint):
    with pytest.raises(NonFiniteError, match=f"rolled back.*{hint}"):
        distill(_cfg(**overrides), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    assert not (tmp_path / "p").exists()
    state = torch.load(tmp_path / "p.run" / "checkpoint.pt", weights_only=True)
    assert torch.isfinite(state["images"]).all() and state["syn_lr"] > 0


def test_proxy_refuses_other_data_and_corrupt_files(gsam_experts, digits, tmp_path):
    import dataclasses

    proxy = distill(_cfg(iterations=1), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    other = dataclasses.replace(digits, name="npz:/x/other.npz")
    with pytest.raises(DataMismatchError, match="name: 'digits' vs 'npz:other.npz'"):
        proxy.check_dataset(other)
    relabelled = dataclasses.replace(digits, train_sha256="0" * 64)  # same shapes and statistics, other images
    with pytest.raises(DataMismatchError, match="train_sha256"):
        proxy.check_dataset(relabelled)
    (tmp_path / "bad").write_bytes(b"garbage" * 10)
    with pytest.raises(ProxyError, match="not a readable proxy"):
        Proxy.load(tmp_path / "bad")
    proxy.images[0, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteError):
        proxy.save(tmp_path / "nan")


def test_rerunning_a_finished_run_keeps_the_proxy_file_as_it_is(gsam_experts, digits, tmp_path):
    proxy = distill(_cfg(iterations=2), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    before = (tmp_path / "p").read_bytes()
    again = distill(_cfg(iterations=2), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    assert (tmp_path / "p").read_bytes() == before and torch.equal(again.images, proxy.images)


def test_rollback_restores_momentum_too(gsam_experts, digits, tmp_path):
    d = Distiller(_cfg(), gsam_experts, tmp_path / "p", dataset=digits)
    d.step()
    before = d._state()
    momentum = d.opt_img.state[d.images]["momentum_buffer"].clone()
    d.step()
    assert not torch.equal(d.opt_img.state[d.images]["momentum_buffer"], momentum)
    d._load_state(before)
    assert torch.equal(d.opt_img.state[d.images]["momentum_buffer"], momentum)
    assert d.iteration == 1


def test_a_finished_proxy_of_other_settings_is_replaced_only_with_overwrite(gsam_experts, digits, tmp_path):
    out = tmp_path / "p"
    distill(_cfg(iterations=1), gsam_experts, out, dataset=digits, progress=False)
    before = out.read_bytes()
    with pytest.raises(ConfigError, match=r"not made by this distillation \(other settings: .*syn_steps: 3 vs 2.*"
                                          "--overwrite"):
        distill(_cfg(iterations=1, syn_steps=2), gsam_experts, out, dataset=digits, progress=False,
                work_dir=tmp_path / "other.run")  # a fresh work folder does not make the old proxy ours
    assert out.read_bytes() == before
    replaced = distill(_cfg(iterations=1, syn_steps=2), gsam_experts, out, dataset=digits, progress=False,
                       work_dir=tmp_path / "other.run", overwrite=True)
    assert Proxy.load(out).record.distill.syn_steps == 2 and replaced.record.distill.syn_steps == 2


def test_a_work_folder_without_a_checkpoint_starts_afresh_and_a_busy_one_is_refused(gsam_experts, digits, tmp_path,
                                                                                   interrupt_after):
    restore = interrupt_after(Distiller, "step", 1, Crash)
    with pytest.raises(Crash):  # one iteration logged, no checkpoint yet (checkpoint_every 2)
        distill(_cfg(), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    restore()
    assert (tmp_path / "p.run" / "log.jsonl").read_text().count("\n") == 1
    assert not (tmp_path / "p.run" / "claim").exists()  # released on the way out
    distill(_cfg(syn_steps=2, iterations=2), gsam_experts, tmp_path / "p", dataset=digits, progress=False)
    log = [json.loads(line)["it"] for line in (tmp_path / "p.run" / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2]  # the failed run's line is gone, not mixed with the new settings' lines
    from ftd_nas.claims import release, try_claim

    claim = tmp_path / "q.run" / "claim"
    claim.parent.mkdir()
    assert try_claim(claim)  # another live process distilling there
    with pytest.raises(ConfigError, match="another process is distilling"):
        distill(_cfg(), gsam_experts, tmp_path / "q", dataset=digits, progress=False)
    release(claim)


def test_experts_refuse_data_other_than_their_own(gsam_experts, digits, tmp_path):
    import dataclasses

    from ftd_nas.data.fingerprint import DataMismatchError

    other = dataclasses.replace(digits, split_seed=1)
    with pytest.raises(DataMismatchError, match="split_seed: 0 vs 1"):
        Distiller(_cfg(), gsam_experts, tmp_path / "p", dataset=other)


@pytest.mark.parametrize("option, value", [("--lr-img", "1e5"), ("--lr-lr", "1e3")])
def test_divergence_exits_non_zero_and_its_advice_leads_to_a_run_that_succeeds(gsam_experts, tmp_path, capsys,
                                                                               option, value):
    import re

    from ftd_nas.cli import main

    out = tmp_path / "p.safetensors"
    base = ["distill", "--experts", str(gsam_experts), "--dataset", "digits", "--out", str(out), "--ipc", "2",
            "--syn-steps", "3", "--max-start-epoch", "2", "--iterations", "6", "--checkpoint-every", "2",
            "--no-progress", "--device", "cpu"]
    assert main(base + [option, value]) == 4  # the numerical class of failure
    advice = re.search(r"Re-run the same command with (.+?) \(now", capsys.readouterr().err)
    assert advice and advice.group(1).startswith(option) and not out.exists()
    assert main(base + [option, value, *advice.group(1).split()]) == 0  # the advice, as printed
    proxy = Proxy.load(out)
    assert proxy.record.iterations == 6 and proxy.syn_lr > 0
    from ftd_nas.data import load_dataset

    proxy.check_dataset(load_dataset("digits"))  # finite and within the data's range: evaluate and search accept it


def test_evaluate_and_search_refuse_a_proxy_far_outside_the_data(gsam_experts, digits, tmp_path):
    from ftd_nas.cli import main

    proxy = distill(_cfg(iterations=1), gsam_experts, tmp_path / "p.safetensors", dataset=digits, progress=False)
    proxy.images[0] *= 1e10  # what a diverged distillation used to write
    proxy.save(tmp_path / "bad.safetensors")
    with pytest.raises(NonFiniteError, match="far outside the real data's range"):
        Proxy.load(tmp_path / "bad.safetensors").check_dataset(digits)
    for command in (["evaluate", str(tmp_path / "bad.safetensors"), "--runs", "1", "--epochs", "1"],
                    ["search", "--space", "convnet-tiny", "--proxy", str(tmp_path / "bad.safetensors"),
                     "--out", str(tmp_path / "run"), "--epochs", "1"]):
        assert main(command + ["--dataset", "digits", "--device", "cpu", "--no-progress"]) == 4
    assert not (tmp_path / "run" / "run.json").exists()

import pytest
import torch

from ftd_nas.data import Split
from ftd_nas.evaluation import EvalConfig, evaluate_images, random_subset
from ftd_nas.errors import ConfigError
from ftd_nas.models import ModelSpec

BASE = ModelSpec(width=8, depth=2, channels=1, image_size=(16, 16))


def test_random_subset_is_balanced_and_seeded(digits):
    a, b, c = (random_subset(digits, 5, seed=s) for s in (0, 0, 1))
    assert a.class_counts(10) == [5] * 10
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    with pytest.raises(ConfigError, match="only"):
        random_subset(digits, 10_000)


def test_evaluation_reports_every_run_and_depends_on_the_labels(digits):
    cfg = EvalConfig(runs=2, epochs=30, eval_every=10, progress=False)
    subset = random_subset(digits, 10, seed=0)
    right = evaluate_images(subset, digits, 0.01, BASE, cfg)["convnet"]
    shuffled = Split(subset.x, subset.y[torch.randperm(len(subset.y), generator=torch.Generator().manual_seed(0))])
    wrong = evaluate_images(shuffled, digits, 0.01, BASE, cfg)["convnet"]
    assert len(right["test_acc"]) == 2 and right["test_mean"] == pytest.approx(sum(right["test_acc"]) / 2)
    assert right["test_mean"] > wrong["test_mean"] + 0.3


def test_fused_runs_give_the_evaluation_of_separate_runs_and_say_which_ran(digits):
    subset = random_subset(digits, 3, seed=0)
    cfg = dict(runs=3, epochs=12, eval_every=4, progress=False)
    fused = evaluate_images(subset, digits, 0.01, BASE, EvalConfig(fuse="on", **cfg))["convnet"]
    alone = evaluate_images(subset, digits, 0.01, BASE, EvalConfig(fuse="off", **cfg))["convnet"]
    assert fused["fused"] and not alone["fused"]
    assert fused["val_acc"] == pytest.approx(alone["val_acc"]) and fused["test_acc"] == pytest.approx(alone["test_acc"])
    assert not evaluate_images(subset, digits, 0.01, BASE, EvalConfig(**cfg))["convnet"]["fused"]  # auto on a CPU
    with pytest.raises(ConfigError, match="--fuse"):
        EvalConfig(fuse="always")


def test_cross_architecture_models_are_sized_for_the_data(digits):
    cfg = EvalConfig(models=["alexnet"], runs=1, epochs=2, progress=False)
    result = evaluate_images(random_subset(digits, 2), digits, 0.01, BASE, cfg)
    assert result["alexnet"]["model"]["channels"] == 1 and result["alexnet"]["model"]["image_size"] == [16, 16]
    with pytest.raises(ConfigError, match="unknown model"):
        evaluate_images(random_subset(digits, 2), digits, 0.01, BASE, EvalConfig(models=["lenet"], runs=1))


@pytest.mark.slow
def test_concurrent_evaluations_keep_the_proxy_and_all_results_and_a_search_resumes(gsam_experts, digits, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from ftd_nas.distill import distill, resolve_config
    from ftd_nas.evaluation import load_evaluations
    from ftd_nas.proxy import Proxy
    from ftd_nas.search import run_search
    from tests.conftest import search_config

    path = tmp_path / "p.safetensors"
    cfg = resolve_config("digits", 1, "ftd", syn_steps=2, max_start_epoch=2, iterations=1)
    distill(cfg, gsam_experts, path, dataset=digits, progress=False)
    space = Path(__file__).parent / "fixtures" / "v1" / "two.yaml"
    search = search_config(space, tmp_path / "run", proxy=str(path), epochs=1)
    assert run_search(search, dataset=digits)["trained"] == 2
    before = path.read_bytes()
    cmd = [sys.executable, "-m", "ftd_nas", "evaluate", str(path), "--dataset", "digits", "--runs", "1",
           "--epochs", "2", "--device", "cpu", "--no-progress"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1000:] for o in outputs]
    assert path.read_bytes() == before  # the proxy is immutable
    records = load_evaluations(Proxy.load(path))
    assert len(records) == 3 and all(r.data.name == "digits" and r.config.runs == 1 for r in records)
    again = run_search(search, dataset=digits)
    assert again["trained"] == 0 and again["complete"] == 2  # same identity: resumed, nothing retrained


def test_evaluations_of_another_proxy_at_the_same_path_are_not_its_own(gsam_experts, digits, tmp_path):
    from ftd_nas.distill import distill, resolve_config
    from ftd_nas.evaluation import evaluate_proxy, load_evaluations, save_evaluation
    from ftd_nas.proxy import Proxy

    path = tmp_path / "p.safetensors"
    first = distill(resolve_config("digits", 1, "ftd", syn_steps=2, max_start_epoch=2, iterations=1),
                    gsam_experts, path, dataset=digits, progress=False)
    save_evaluation(evaluate_proxy(first, EvalConfig(runs=1, epochs=1, progress=False), digits), path)
    assert len(load_evaluations(Proxy.load(path))) == 1
    distill(resolve_config("digits", 1, "ftd", syn_steps=2, max_start_epoch=2, iterations=1, seed=1),
            gsam_experts, path, dataset=digits, progress=False, overwrite=True, work_dir=tmp_path / "w")
    assert load_evaluations(Proxy.load(path)) == []  # the replaced proxy's results stay with its digest


def test_v1_evaluations_kept_inside_the_file_are_still_found():
    from pathlib import Path

    from ftd_nas.evaluation import load_evaluations
    from ftd_nas.proxy import Proxy

    proxy = Proxy.load(Path(__file__).parent / "fixtures" / "v1" / "proxy.safetensors")
    (record,) = load_evaluations(proxy)
    assert record.proxy == "proxy.safetensors" and record.config.runs == 1 and "proxy" in record.sets

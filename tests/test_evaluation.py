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


def test_cross_architecture_models_are_sized_for_the_data(digits):
    cfg = EvalConfig(models=["alexnet"], runs=1, epochs=2, progress=False)
    result = evaluate_images(random_subset(digits, 2), digits, 0.01, BASE, cfg)
    assert result["alexnet"]["model"]["channels"] == 1 and result["alexnet"]["model"]["image_size"] == [16, 16]
    with pytest.raises(ConfigError, match="unknown model"):
        evaluate_images(random_subset(digits, 2), digits, 0.01, BASE, EvalConfig(models=["lenet"], runs=1))

"""Published distilled sets imported as proxies: hard and soft labels, the layouts their authors release, and
files that cannot run code."""

import logging
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ftd_nas.cli import main
from ftd_nas.errors import InputError
from ftd_nas.evaluation import random_subset
from ftd_nas.importer import import_distilled
from ftd_nas.models import ModelSpec, build_model
from ftd_nas.origins import ImportConfig
from ftd_nas.proxy import Proxy
from ftd_nas.train import TrainConfig, train

SPACE = "axes:\n  depth: [1]\n  width: [4, 8]\n  norm: [none]\n  act: [relu]\n  pool: [avgpool]\n"


class _MakesMarker:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def published(tmp_path, digits):
    """A set laid out as MTT/DATM release theirs: images_best.pt, labels_best.pt (hard), soft logits, lr_best.pt."""
    subset = random_subset(digits, 3, seed=1)
    torch.save(subset.x.clone(), tmp_path / "images_best.pt")
    torch.save(subset.y.clone(), tmp_path / "labels_best.pt")
    logits = 4.0 * F.one_hot(subset.y, 10).float() + torch.randn(len(subset.y), 10, generator=torch.Generator()
                                                                 .manual_seed(0))
    torch.save(logits, tmp_path / "soft_labels_best.pt")
    torch.save(torch.tensor(0.02), tmp_path / "lr_best.pt")
    return tmp_path, subset, logits


def test_hard_labels_import_and_a_search_runs_on_them(published, tmp_path):
    folder, subset, _ = published
    out = tmp_path / "mtt.safetensors"
    assert main(["import", "--images", str(folder / "images_best.pt"), "--labels", str(folder / "labels_best.pt"),
                 "--lr", str(folder / "lr_best.pt"), "--method-name", "mtt", "--dataset", "digits", "--out",
                 str(out)]) == 0
    proxy = Proxy.load(out)
    assert torch.equal(proxy.images, subset.x) and torch.equal(proxy.labels, subset.y)
    assert proxy.syn_lr == pytest.approx(0.02)
    assert proxy.record.method == "mtt" and proxy.record.imported.files == ["images_best.pt", "labels_best.pt",
                                                                          "lr_best.pt"]
    assert proxy.ipc == 3 and not proxy.soft_labels
    space = tmp_path / "s.yaml"
    space.write_text(SPACE)
    assert main(["search", "--space", str(space), "--proxy", str(out), "--dataset", "digits", "--epochs", "3",
                 "--out", str(tmp_path / "run"), "--device", "cpu", "--no-progress"]) == 0


def test_soft_logits_become_probabilities_and_train_with_soft_cross_entropy(published, tmp_path, digits):
    folder, subset, logits = published
    proxy = import_distilled([str(folder / "images_best.pt")], [str(folder / "soft_labels_best.pt")], digits,
                             ImportConfig(method="datm"))
    assert proxy.soft_labels and torch.allclose(proxy.labels, torch.softmax(logits, 1))
    proxy.save(tmp_path / "datm.safetensors")
    loaded = Proxy.load(tmp_path / "datm.safetensors")
    assert loaded.soft_labels and torch.allclose(loaded.labels, proxy.labels) and loaded.ipc == 3
    space = tmp_path / "s.yaml"
    space.write_text(SPACE)
    assert main(["search", "--space", str(space), "--proxy", str(tmp_path / "datm.safetensors"), "--dataset",
                 "digits", "--epochs", "3", "--out", str(tmp_path / "run"), "--device", "cpu", "--no-progress"]) == 0


def test_one_hot_soft_labels_train_exactly_like_hard_labels(digits):
    subset = random_subset(digits, 2)
    spec = ModelSpec(width=4, depth=1).for_data(1, (16, 16), 10)
    cfg = TrainConfig(epochs=3, dsa=None, progress=False)
    hard, soft = build_model(spec, seed=0), build_model(spec, seed=0)
    a = train(hard, subset, cfg)
    b = train(soft, type(subset)(subset.x, F.one_hot(subset.y, 10).float()), cfg)
    assert a.train_loss == pytest.approx(b.train_loss) and a.train_acc == b.train_acc
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(hard.parameters(), soft.parameters()))


def test_a_malicious_pt_is_refused_without_running_code(tmp_path, digits):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "images_best.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"images": _MakesMarker(marker)}, fh)
    torch.save(torch.zeros(3), tmp_path / "labels_best.pt")
    with pytest.raises(InputError, match="refusing .*images_best.pt"):
        import_distilled([str(evil)], [str(tmp_path / "labels_best.pt")], digits, ImportConfig())
    assert not marker.exists()
    assert main(["import", "--images", str(evil), "--labels", str(tmp_path / "labels_best.pt"), "--dataset",
                 "digits", "--out", str(tmp_path / "p.safetensors")]) == 3
    assert not marker.exists() and not (tmp_path / "p.safetensors").exists()


def test_other_released_layouts(tmp_path, digits):
    subset = random_subset(digits, 2, seed=3)
    nhwc = subset.x.permute(0, 2, 3, 1).numpy()  # KIP: NHWC images, one-hot labels
    np.savez(tmp_path / "kip.npz", images=nhwc, labels=F.one_hot(subset.y, 10).numpy().astype(np.float32))
    kip = import_distilled([str(tmp_path / "kip.npz")], [], digits, ImportConfig(method="kip"))
    assert torch.equal(kip.images, subset.x) and torch.equal(kip.labels, subset.y) and not kip.soft_labels
    other = random_subset(digits, 2, seed=4)  # DC/DSA/DM: one results file, a pair per experiment
    torch.save({"data": [[subset.x, subset.y], [other.x, other.y]], "accs_all_exps": {}}, tmp_path / "res.pt")
    dsa = import_distilled([str(tmp_path / "res.pt")], [], digits, ImportConfig(method="dsa", experiment=1))
    assert torch.equal(dsa.images, other.x)
    with pytest.raises(InputError, match="--experiment 2 does not exist"):
        import_distilled([str(tmp_path / "res.pt")], [], digits, ImportConfig(experiment=2))
    torch.save(subset.x[:, :, :8], tmp_path / "small.pt")
    torch.save(subset.y, tmp_path / "labels.pt")
    with pytest.raises(InputError, match=r"shape \(20, 1, 8, 16\).*another dataset"):
        import_distilled([str(tmp_path / "small.pt")], [str(tmp_path / "labels.pt")], digits, ImportConfig())


def test_images_not_preprocessed_as_declared_are_reported(tmp_path, digits, caplog):
    subset = random_subset(digits, 2)
    torch.save(subset.x * 255, tmp_path / "images.pt")  # raw pixel scale: not normalised like the real data
    torch.save(subset.y, tmp_path / "labels.pt")
    with caplog.at_level(logging.WARNING, logger="ftd_nas"):
        import_distilled([str(tmp_path / "images.pt")], [str(tmp_path / "labels.pt")], digits, ImportConfig())
    assert "may not be preprocessed like the real data" in caplog.text

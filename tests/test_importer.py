"""Published distilled sets imported as proxies: hard and soft labels, the layouts their authors release, and
files that cannot run code."""

import logging
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ftd_nas.cli import main
from ftd_nas.errors import ConfigError, InputError
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
    for images, labels in (([str(tmp_path / "kip.npz")], [str(tmp_path / "labels.pt")]),
                           ([str(tmp_path / "kip.npz"), str(tmp_path / "more.npz")], [])):
        with pytest.raises(ConfigError, match="holds its own images and labels.*(labels.pt|more.npz)"):
            import_distilled(images, labels, digits, ImportConfig(method="kip"))
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
    torch.save(subset.x + 2, tmp_path / "images.pt")  # normalised by other statistics: within range, but shifted
    torch.save(subset.y, tmp_path / "labels.pt")
    with caplog.at_level(logging.WARNING, logger="ftd_nas"):
        import_distilled([str(tmp_path / "images.pt")], [str(tmp_path / "labels.pt")], digits, ImportConfig())
    assert "may not be preprocessed like the real data" in caplog.text


# ---------------------------------------------------------------- sets import refuses, writing nothing
# Each builds its files in a folder and returns the options that import them. Every one was once written as a proxy
# that evaluate and search refuse, or crashed import: the proxy's own checks now run before anything is written.

def _pt(folder, images, labels, *extra):
    torch.save(images, folder / "images.pt")
    torch.save(labels, folder / "labels.pt")
    return ["--images", str(folder / "images.pt"), "--labels", str(folder / "labels.pt"), *extra]


def _labels_out_of_range(folder, subset):
    return _pt(folder, subset.x, torch.where(subset.y == 9, 12, subset.y))  # 12 is no class of digits' 10


def _negative_labels(folder, subset):
    return _pt(folder, subset.x, subset.y - 1)  # counted from 1 by mistake: class 0 becomes -1


def _labels_of_other_images(folder, subset):
    return _pt(folder, subset.x, subset.y[:-1])


def _nan_soft_label_row(folder, subset):
    logits = 4.0 * F.one_hot(subset.y, 10).float()
    logits[3] = float("nan")
    return _pt(folder, subset.x, logits)


def _object_array_npz(folder, subset):
    images = np.empty(len(subset.y), dtype=object)  # unpickling it could run code
    images[:] = list(subset.x.numpy())
    np.savez(folder / "set.npz", images=images, labels=subset.y.numpy())
    return ["--images", str(folder / "set.npz")]


def _images_of_different_sizes(folder, subset):
    torch.save(subset.x[:10], folder / "images_0.pt")
    torch.save(subset.x[10:, :, :8, :8], folder / "images_1.pt")
    torch.save(subset.y[:10], folder / "labels_0.pt")
    torch.save(subset.y[10:], folder / "labels_1.pt")
    return [a for i in (0, 1) for a in ("--images", str(folder / f"images_{i}.pt"), "--labels",
                                         str(folder / f"labels_{i}.pt"))]


def _lr_nan(folder, subset):
    return _pt(folder, subset.x, subset.y, "--lr", "nan")


def _lr_file_inf(folder, subset):
    torch.save(torch.tensor(float("inf")), folder / "lr_best.pt")
    return _pt(folder, subset.x, subset.y, "--lr", str(folder / "lr_best.pt"))


def _empty_set(folder, subset):
    return _pt(folder, subset.x[:0], subset.y[:0])


def _text_labels(folder, subset):
    np.savez(folder / "set.npz", images=subset.x.numpy(), labels=np.asarray([f"c{int(c)}" for c in subset.y]))
    return ["--images", str(folder / "set.npz")]


def _raw_pixel_images(folder, subset):
    return _pt(folder, subset.x * 255, subset.y)  # not normalised: evaluate refuses values this far out


# name: (files, exit code, text the message must contain)
BAD_SETS = {
    "labels-out-of-range": (_labels_out_of_range, 3, "labels outside 0..9"),
    "negative-labels": (_negative_labels, 3, "labels outside 0..9"),
    "labels-of-other-images": (_labels_of_other_images, 3, "20 images but labels of shape (19,)"),
    "nan-soft-label-row": (_nan_soft_label_row, 3, "label row 3 holds NaN or inf"),
    "object-array-npz": (_object_array_npz, 3, "holds Python objects"),
    "images-of-different-sizes": (_images_of_different_sizes, 3, "images of different shapes"),
    "lr-nan": (_lr_nan, 2, "--lr"),
    "lr-file-inf": (_lr_file_inf, 3, "lr_best.pt"),
    "empty-set": (_empty_set, 3, "no images"),
    "text-labels": (_text_labels, 3, "are of type <U2, not numbers"),
    "raw-pixel-images": (_raw_pixel_images, 3, "far outside the real data's range"),
}


@pytest.mark.parametrize("name", sorted(BAD_SETS))
def test_a_set_no_proxy_could_use_is_refused_and_nothing_is_written(name, tmp_path, digits, capsys):
    files, code, text = BAD_SETS[name]
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    args = files(tmp_path / "in", random_subset(digits, 2, seed=5))
    try:
        exit_code = main(["import", *args, "--dataset", "digits", "--out", str(tmp_path / "out" / "p.safetensors")])
    except SystemExit as exc:  # argparse's usage errors
        exit_code = exc.code
    assert exit_code == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err, err
    assert list((tmp_path / "out").iterdir()) == []  # no proxy, and no partial file beside it
